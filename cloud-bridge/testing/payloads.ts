/**
 * Protocol-valid agent payloads for tests and the load generator. Every builder returns the
 * exact type protocol/ expects for its topic, so a change to the wire contract breaks these at
 * compile time rather than at run time.
 */
import type { TopicPayload } from '../../protocol/topics.js';

export function statusPayload(
  now: number,
  state: 'online' | 'offline',
  reason?: 'shutdown' | 'lost',
): TopicPayload<'status'> {
  return {
    v: 1,
    ts: now,
    state,
    agentVersion: 'sim-1.0.0',
    startedAt: now - 60_000,
    ...(state === 'offline' && reason ? { reason } : {}),
  };
}

export interface SimCamera {
  id: string;
  lat: number;
  lon: number;
}

export function camerasPayload(now: number, cameras: readonly SimCamera[]): TopicPayload<'cameras'> {
  return {
    v: 1,
    ts: now,
    cameras: cameras.map((c) => ({
      id: c.id,
      name: `Camera ${c.id}`,
      location: { lat: c.lat, lon: c.lon },
      streams: [
        { role: 'main', width: 1920, height: 1080, codec: 'h264', fps: 15 },
        { role: 'sub', width: 640, height: 360, codec: 'h264', fps: 5 },
      ],
    })),
  };
}

export function healthPayload(
  now: number,
  cameraIds: readonly string[],
  opts: { recording?: 'recording' | 'stalled'; depthMs?: number; synced?: boolean } = {},
): TopicPayload<'health'> {
  const depthMs = opts.depthMs ?? 48 * 3600_000;
  return {
    v: 1,
    ts: now,
    agentVersion: 'sim-1.0.0',
    system: {
      cpuLoadPct: 23.5,
      loadAvg1: 0.7,
      memory: { usedBytes: 1.2e9, totalBytes: 4e9 },
      volume: { usedBytes: 7e11, totalBytes: 1e12 },
      uptimeS: 86_400,
    },
    clock: { synced: opts.synced ?? true, source: 'ntp' },
    cameras: cameraIds.map((cameraId) => ({
      cameraId,
      recording: opts.recording ?? 'recording',
      newestSegmentAgeMs: 2000,
      fps: 15,
      bitrateBps: 2e6,
      buffer: { oldestAt: now - depthMs, depthMs, bytes: 4e10 },
      gapsLastHour: { count: 0, totalMs: 0 },
      motionSource: 'pixel',
    })),
  };
}

export function motionPayload(
  now: number,
  cameraId: string,
  episodeId: string,
  phase: 'start' | 'end',
  startedAt = now,
): TopicPayload<'motion'> {
  const base = {
    v: 1 as const,
    ts: now,
    episodeId,
    cameraId,
    startedAt,
    peakScore: 0.6,
    source: 'pixel' as const,
  };
  return phase === 'start'
    ? { ...base, phase }
    : { ...base, phase, endedAt: Math.max(now, startedAt), endReason: 'quiet' };
}
