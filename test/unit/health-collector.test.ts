import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { HealthPayload } from '../../protocol/schemas/health.js';
import {
  HealthCollector,
  MarkerClockSync,
  SystemSampler,
  createHealthCollector,
  toCameraHealth,
} from '../../agent/health/index.js';
import type { CameraStatus } from '../../agent/health/index.js';
import { findSensor } from '../../agent/health/system.js';

const NOW = 1_800_000_000_000;
const cam = (over: Partial<CameraStatus> = {}): CameraStatus => ({
  cameraId: 'cam-1',
  recording: 'recording',
  newestSegmentEndAt: NOW - 4_000,
  fps: 15,
  bitrateBps: 2_000_000,
  oldestFootageAt: NOW - 3_600_000,
  bufferBytes: 1e9,
  gapsLastHour: { count: 1, totalMs: 2_500 },
  motionSource: 'pixel',
  ...over,
});

describe('health', () => {
  test('camera status becomes ages relative to one now; nonsense is cleaned, secrets redacted', () => {
    expect(toCameraHealth(cam(), NOW)).toMatchObject({
      newestSegmentAgeMs: 4_000,
      buffer: { oldestAt: NOW - 3_600_000, depthMs: 3_600_000, bytes: 1e9 },
    });
    const odd = toCameraHealth(
      cam({
        newestSegmentEndAt: NOW + 5_000,
        fps: Number.NaN,
        oldestFootageAt: null,
        recording: 'error',
        error: 'auth failed for rtsp://admin:hunter2@10.0.0.9/s\n',
      }),
      NOW,
    );
    expect(odd).toMatchObject({ newestSegmentAgeMs: 0, fps: null, buffer: { oldestAt: null, depthMs: 0 } });
    expect(odd.error).not.toContain('hunter2');
  });

  test('a report from fakes validates against the protocol schema and its cost is measured', async () => {
    const clock = new ManualClock(NOW, 0);
    const collector = new HealthCollector({
      clock,
      agentVersion: '1.2.3',
      system: {
        sample: () =>
          Promise.resolve({
            cpuLoadPct: 12.5,
            memory: { usedBytes: 1, totalBytes: 2 },
            volume: { usedBytes: 3, totalBytes: 4 },
            uptimeS: 5,
          }),
      },
      clockSync: { clockHealth: () => Promise.resolve({ synced: true, source: 'ntp' }) },
      cameras: {
        cameras: () => [cam(), cam({ cameraId: 'cam-2', recording: 'stalled' }), cam({ cameraId: 'bad/id' })],
      },
    });
    expect(collector.lastCost()).toBeUndefined();
    const report = await collector.collect();
    expect(HealthPayload.safeParse(report).success).toBe(true);
    expect(report.cameras.map((c) => c.recording)).toEqual(['recording', 'stalled']);
    expect(collector.lastCost()).toMatchObject({ cpuMs: expect.any(Number) as number, skippedCameras: 1 });
  });

  test('the real system sampler produces a valid report on this machine', async () => {
    const collector = createHealthCollector({
      clock: new ManualClock(NOW, 0),
      agentVersion: '0.0.0',
      recordingsPath: os.tmpdir(),
    });
    const a = await collector.collect();
    const b = await collector.collect();
    for (const r of [a, b]) expect(HealthPayload.safeParse(r).success).toBe(true);
    expect(b.system.memory.totalBytes).toBeGreaterThan(0);
    expect(b.system.volume.totalBytes).toBeGreaterThan(0);
  });

  test('temperature comes from the first readable sensor, and is absent without one', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sysfs-'));
    try {
      const thermal = path.join(root, 'thermal');
      const hwmon = path.join(root, 'hwmon');
      expect(await findSensor({ thermal, hwmon })).toBeUndefined();
      await mkdir(path.join(hwmon, 'hwmon0'), { recursive: true });
      await writeFile(path.join(hwmon, 'hwmon0', 'temp1_input'), '51234\n');
      expect(await findSensor({ thermal, hwmon })).toBe(path.join(hwmon, 'hwmon0', 'temp1_input'));
      const s = await new SystemSampler({ recordingsPath: root, sysfs: { thermal, hwmon } }).sample();
      expect(s.temperatureC).toBe(51.2);
      const none = await new SystemSampler({
        recordingsPath: root,
        sysfs: { thermal: path.join(root, 'x'), hwmon: path.join(root, 'y') },
      }).sample();
      expect(none.temperatureC).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('clock sync reads marker files, cached for its ttl', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sync-'));
    try {
      const clock = new ManualClock(NOW, 0);
      const marker = path.join(root, 'synchronized');
      const sync = new MarkerClockSync({ clock, ttlMs: 1_000, markers: [{ file: marker, source: 'ntp' }] });
      expect(await sync.clockHealth()).toEqual({ synced: false, source: 'none' });
      await writeFile(marker, '');
      expect((await sync.clockHealth()).synced).toBe(false); // cached
      clock.advance(1_001);
      expect(await sync.clockHealth()).toEqual({ synced: true, source: 'ntp' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
