/**
 * Small adapters the composition root uses to connect parts that do not
 * import each other: the recorder's stats as health's CameraStatus.
 */
import type { Clock } from '../lib/clock.js';
import type { RecordingState } from '../protocol/schemas/health.js';
import type { CameraRecord } from './cameras/inventory.js';
import type { CameraHealthSource, CameraStatus } from './health/index.js';
import type { CameraState, Recorder } from './recorder/index.js';

const HOUR_MS = 3_600_000;

/** The recorder's supervisor states, in the wire's vocabulary. */
export function recordingState(s: CameraState): RecordingState {
  switch (s) {
    case 'recording':
      return 'recording';
    case 'starting':
      return 'starting';
    case 'retrying':
      return 'stalled';
    case 'degraded':
      return 'error';
    case 'stopped':
      return 'stopped';
  }
}

export function recorderHealthSource(
  recorder: Recorder,
  cameras: CameraRecord[],
  clock: Clock,
): CameraHealthSource {
  const byId = new Map(cameras.map((c) => [c.id, c]));
  return {
    cameras(): CameraStatus[] {
      const now = clock.now();
      return recorder.stats().cameras.map((s) => {
        const cam = byId.get(s.camera);
        // Gaps within the buffer only: before the oldest footage held there was no recorder to
        // miss anything (a fresh agent is not "an hour of gap"); an agent restart later is a gap.
        const from = Math.max(now - HOUR_MS, s.oldest ?? now);
        const gaps = from < now ? recorder.coverage(s.camera, from, now).gaps : [];
        const main = cam?.streams.main;
        return {
          cameraId: s.camera,
          recording: recordingState(s.state),
          newestSegmentEndAt: s.newest ?? null,
          fps: main?.fps ?? null,
          // Bytes held over the time they span: the recorded stream's average rate.
          bitrateBps:
            s.oldest !== undefined && s.newest !== undefined && s.newest > s.oldest
              ? Math.round((s.bytes * 8 * 1000) / (s.newest - s.oldest))
              : null,
          oldestFootageAt: s.oldest ?? null,
          bufferBytes: s.bytes,
          gapsLastHour: { count: gaps.length, totalMs: gaps.reduce((n, g) => n + (g.to - g.from), 0) },
          motionSource: cam?.motion.source ?? 'none',
          ...(cam?.clock ? { clockOffsetMs: cam.clock.offsetMs } : {}),
          ...(s.detail ? { error: s.detail } : {}),
        };
      });
    },
  };
}
