import { describe, expect, it } from 'vitest';
import {
  CamerasPayload,
  HealthPayload,
  MotionPayload,
  ReplyPayload,
  RequestPayload,
  StatusPayload,
  type CamerasPayload as CamerasPayloadT,
  type HealthPayload as HealthPayloadT,
} from '../../protocol/index.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const RID = '0b6f3c1e-8a2d-4c53-9a51-2f0f3f6b9d10';
const IID = '6c1b0f57-3f7e-4f0a-b1d5-8a4d2c7e9f01';

function health(): HealthPayloadT {
  return {
    v: 1,
    ts: T0,
    agentVersion: '0.1.0',
    system: {
      cpuLoadPct: 23.5,
      loadAvg1: 0.8,
      memory: { usedBytes: 1.2e9, totalBytes: 4e9 },
      volume: { usedBytes: 400e9, totalBytes: 1e12 },
      temperatureC: 51,
      uptimeS: 86_400,
    },
    clock: { synced: true, source: 'ntp', offsetMs: 3 },
    cameras: [
      {
        cameraId: 'cam1',
        recording: 'recording',
        newestSegmentAgeMs: 1800,
        fps: 15,
        bitrateBps: 2_000_000,
        buffer: { oldestAt: T0 - 7 * 86_400_000, depthMs: 7 * 86_400_000, bytes: 120e9 },
        gapsLastHour: { count: 0, totalMs: 0 },
        motionSource: 'pixel',
      },
    ],
  };
}

function cameras(): CamerasPayloadT {
  return {
    v: 1,
    ts: T0,
    cameras: [
      {
        id: 'cam1',
        name: 'Lobby entrance',
        location: { lat: 38.8977, lon: -77.0365, heading: 180, fovDeg: 90 },
        streams: [
          { role: 'main', width: 1280, height: 720, codec: 'h264', fps: 15 },
          { role: 'sub', width: 640, height: 360 },
        ],
      },
    ],
  };
}

/** Sets a nested property on a plain JSON value (tests build invalid payloads this way). */
function setPath(target: object, path: readonly (string | number)[], value: unknown): void {
  let node = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

describe('status', () => {
  it('accepts online and a will-style offline', () => {
    expect(
      StatusPayload.safeParse({ v: 1, ts: T0, state: 'online', agentVersion: '0.1.0', startedAt: T0 })
        .success,
    ).toBe(true);
    const will = { v: 1, ts: T0, state: 'offline', agentVersion: '0.1.0', startedAt: T0, reason: 'lost' };
    expect(StatusPayload.safeParse(will).success).toBe(true);
  });
  it('rejects a wrong version, a missing version and a reason while online', () => {
    const base = { ts: T0, state: 'online', agentVersion: '0.1.0', startedAt: T0 };
    expect(StatusPayload.safeParse({ ...base, v: 2 }).success).toBe(false);
    expect(StatusPayload.safeParse(base).success).toBe(false);
    expect(StatusPayload.safeParse({ ...base, v: 1, reason: 'lost' }).success).toBe(false);
  });
  it('rejects times that are not integer epoch ms', () => {
    const base = { v: 1, state: 'online', agentVersion: '0.1.0', startedAt: T0 };
    expect(StatusPayload.safeParse({ ...base, ts: '2025-06-01T12:00:00Z' }).success).toBe(false);
    expect(StatusPayload.safeParse({ ...base, ts: 1.5 }).success).toBe(false);
    expect(StatusPayload.safeParse({ ...base, ts: -1 }).success).toBe(false);
  });
});

describe('health', () => {
  it('accepts a full report and one without optional sensors', () => {
    expect(HealthPayload.safeParse(health()).success).toBe(true);
    const h = health();
    delete h.system.temperatureC;
    delete h.system.loadAvg1;
    expect(HealthPayload.safeParse(h).success).toBe(true);
  });
  it('accepts an agent whose clock is still in 1970 (no RTC) so the RTCC can see it', () => {
    expect(
      HealthPayload.safeParse({ ...health(), ts: 12_345, clock: { synced: false, source: 'none' } }).success,
    ).toBe(true);
  });
  it('accepts a camera that has no footage yet', () => {
    const h = health();
    h.cameras[0] = {
      ...h.cameras[0]!,
      recording: 'starting',
      newestSegmentAgeMs: null,
      fps: null,
      bitrateBps: null,
      buffer: { oldestAt: null, depthMs: 0, bytes: 0 },
    };
    expect(HealthPayload.safeParse(h).success).toBe(true);
  });
  it('rejects impossible values and unknown fields', () => {
    const over = health();
    over.system.memory = { usedBytes: 5e9, totalBytes: 4e9 };
    expect(HealthPayload.safeParse(over).success).toBe(false);
    expect(HealthPayload.safeParse({ ...health(), extra: 1 }).success).toBe(false);
    const nan = health();
    nan.system.cpuLoadPct = Number.NaN;
    expect(HealthPayload.safeParse(nan).success).toBe(false);
  });
  it('rejects an error text that carries a camera URL with its password', () => {
    const h = health();
    h.cameras[0]!.error = 'cannot open rtsp://admin:hunter2@10.0.0.5/stream1';
    expect(HealthPayload.safeParse(h).success).toBe(false);
  });
});

describe('cameras inventory', () => {
  it('accepts names, locations and stream roles', () => {
    expect(CamerasPayload.safeParse(cameras()).success).toBe(true);
  });
  it('accepts a camera not yet placed (location null)', () => {
    const c = cameras();
    c.cameras[0]!.location = null;
    expect(CamerasPayload.safeParse(c).success).toBe(true);
  });
  it.each([
    ['password on the camera', ['cameras', 0, 'password'], 'hunter2'],
    ['username on the camera', ['cameras', 0, 'username'], 'admin'],
    ['url on a stream', ['cameras', 0, 'streams', 0, 'url'], 'rtsp://10.0.0.5/stream1'],
    ['uri on a stream', ['cameras', 0, 'streams', 0, 'uri'], 'rtsp://admin:pw@10.0.0.5/s'],
    ['token at the top level', ['token'], 'abc'],
    ['a secret inside the location', ['cameras', 0, 'location', 'secret'], 'x'],
    ['a URL with credentials as the name', ['cameras', 0, 'name'], 'rtsp://admin:pw@10.0.0.5/s'],
  ] as const)('rejects %s', (_label, path, value) => {
    const c = cameras();
    setPath(c, path, value);
    expect(CamerasPayload.safeParse(c).success).toBe(false);
  });
  it('rejects out-of-range coordinates, duplicate ids and duplicate roles', () => {
    const lat = cameras();
    lat.cameras[0]!.location = { lat: 91, lon: 0 };
    expect(CamerasPayload.safeParse(lat).success).toBe(false);
    const dup = cameras();
    dup.cameras.push({ ...dup.cameras[0]! });
    expect(CamerasPayload.safeParse(dup).success).toBe(false);
    const roles = cameras();
    roles.cameras[0]!.streams[1]!.role = 'main';
    expect(CamerasPayload.safeParse(roles).success).toBe(false);
  });
  it('rejects camera ids that could escape a topic level or a path', () => {
    for (const id of ['a/b', 'a+b', '#', '', '../x', 'x'.repeat(65)]) {
      const c = cameras();
      c.cameras[0]!.id = id;
      expect(CamerasPayload.safeParse(c).success, id).toBe(false);
    }
  });
});

describe('motion', () => {
  const start = {
    v: 1,
    ts: T0,
    episodeId: 'ep-1',
    cameraId: 'cam1',
    phase: 'start',
    startedAt: T0,
    peakScore: 0.4,
    source: 'pixel',
    bbox: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 },
  };
  it('accepts start and end of an episode', () => {
    expect(MotionPayload.safeParse(start).success).toBe(true);
    const end = {
      ...start,
      phase: 'end',
      ts: T0 + 9000,
      endedAt: T0 + 9000,
      peakScore: 0.8,
      endReason: 'quiet',
    };
    expect(MotionPayload.safeParse(end).success).toBe(true);
  });
  it('rejects end before start, endedAt on a start, missing endedAt on an end', () => {
    expect(MotionPayload.safeParse({ ...start, phase: 'end', endedAt: T0 - 1 }).success).toBe(false);
    expect(MotionPayload.safeParse({ ...start, endedAt: T0 + 1 }).success).toBe(false);
    expect(MotionPayload.safeParse({ ...start, phase: 'end' }).success).toBe(false);
  });
  it('rejects unknown sources and boxes outside the frame', () => {
    expect(MotionPayload.safeParse({ ...start, source: 'radar' }).success).toBe(false);
    expect(MotionPayload.safeParse({ ...start, bbox: { x: 0.8, y: 0, w: 0.5, h: 0.1 } }).success).toBe(false);
  });
});

describe('requests and replies', () => {
  it('accepts ping, cancel and an evidence receipt', () => {
    expect(RequestPayload.safeParse({ v: 1, ts: T0, requestId: RID, type: 'ping' }).success).toBe(true);
    const cancel = { v: 1, ts: T0, requestId: RID, type: 'cancel-incident', incidentId: IID };
    expect(RequestPayload.safeParse(cancel).success).toBe(true);
    const receipt = {
      v: 1,
      ts: T0,
      requestId: RID,
      type: 'evidence-receipt',
      incidentId: IID,
      cameraId: 'cam1',
      status: 'verified',
      packageSha256: 'a'.repeat(64),
    };
    expect(RequestPayload.safeParse(receipt).success).toBe(true);
  });
  it('rejects unknown types and request ids that are not UUIDs', () => {
    expect(RequestPayload.safeParse({ v: 1, ts: T0, requestId: RID, type: 'approve' }).success).toBe(false);
    expect(RequestPayload.safeParse({ v: 1, ts: T0, requestId: 'r1', type: 'ping' }).success).toBe(false);
  });
  it('accepts an incident status with every per-camera state', () => {
    const covered = { from: T0 - 600_000, to: T0 };
    const reply = {
      v: 1,
      ts: T0,
      requestId: RID,
      seq: 3,
      type: 'incident-status',
      incidentId: IID,
      outcome: 'in-progress',
      cameras: [
        { cameraId: 'c1', state: 'accepted', covered, gaps: [] },
        { cameraId: 'c2', state: 'declined' },
        { cameraId: 'c3', state: 'no-footage' },
        { cameraId: 'c4', state: 'awaiting-approval' },
        {
          cameraId: 'c5',
          state: 'uploading',
          covered,
          gaps: [{ from: T0 - 300_000, to: T0 - 290_000 }],
          percent: 42,
        },
        { cameraId: 'c6', state: 'received', covered, gaps: [] },
        { cameraId: 'c7', state: 'verified', covered, gaps: [] },
        { cameraId: 'c8', state: 'failed', detail: 'disk read error' },
      ],
    };
    expect(ReplyPayload.safeParse(reply).success).toBe(true);
  });
  it('lets "declined" reveal nothing but "declined"', () => {
    const reply = {
      v: 1,
      ts: T0,
      requestId: RID,
      seq: 0,
      type: 'incident-status',
      incidentId: IID,
      outcome: 'done',
      cameras: [{ cameraId: 'c2', state: 'declined', covered: { from: T0 - 1000, to: T0 }, gaps: [] }],
    };
    expect(ReplyPayload.safeParse(reply).success).toBe(false);
  });
  it('rejects a percent over 100, an inverted interval and cameras listed with no-cameras-in-area', () => {
    const base = { v: 1, ts: T0, requestId: RID, seq: 0, type: 'incident-status', incidentId: IID };
    const up = { cameraId: 'c', state: 'uploading', covered: { from: 0, to: 1 }, gaps: [], percent: 101 };
    expect(ReplyPayload.safeParse({ ...base, outcome: 'in-progress', cameras: [up] }).success).toBe(false);
    const inv = { cameraId: 'c', state: 'accepted', covered: { from: 2, to: 1 }, gaps: [] };
    expect(ReplyPayload.safeParse({ ...base, outcome: 'in-progress', cameras: [inv] }).success).toBe(false);
    const listed = [{ cameraId: 'c', state: 'no-footage' }];
    expect(ReplyPayload.safeParse({ ...base, outcome: 'no-cameras-in-area', cameras: listed }).success).toBe(
      false,
    );
    expect(ReplyPayload.safeParse({ ...base, outcome: 'no-cameras-in-area', cameras: [] }).success).toBe(
      true,
    );
  });
  it('accepts an error reply without a request id (unreadable request)', () => {
    const err = {
      v: 1,
      ts: T0,
      requestId: null,
      seq: 0,
      type: 'error',
      code: 'invalid',
      message: 'payload is not JSON',
    };
    expect(ReplyPayload.safeParse(err).success).toBe(true);
    expect(ReplyPayload.safeParse({ ...err, code: 'nope' }).success).toBe(false);
  });
});
