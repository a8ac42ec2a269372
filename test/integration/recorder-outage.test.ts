/**
 * A camera goes away for 20 s and comes back (its RTSP server is stopped and
 * restarted on the same port): recording resumes by itself, over TCP and UDP,
 * and the gap is in the journal with its cause.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { createLogger } from '../../lib/log.js';
import { countFrames, readJournal, tmpDir, waitFor } from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';
import path from 'node:path';

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('recorder when a camera goes away', () => {
  it('records the outage as a gap with its cause and resumes over TCP and UDP', async () => {
    let server: GstServer = await startGstRtspServer();
    cleanup.push(() => server.stop());
    const port = server.port;
    const dir = tmpDir('rec-outage-');
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      graceMs: 5000,
      ioTimeoutMs: 5000,
      retention: { minFreeBytes: 0 },
      backoff: { baseMs: 500, maxMs: 4000 },
      log: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      cameras: [
        { name: 'tcp', url: server.url(), transport: 'tcp' },
        { name: 'udp', url: server.url(), transport: 'udp' },
      ],
    });
    await rec.start(AbortSignal.timeout(30_000));
    cleanup.push(() => rec.stop());
    const cams = () => rec.stats().cameras;
    await waitFor('3 segments each', () => cams().every((c) => c.segments >= 3), 120_000);

    await server.stop();
    const downAt = Date.now();
    await waitFor(
      'both cameras notice',
      () => cams().every((c) => c.state === 'retrying' || c.state === 'degraded'),
      60_000,
    );
    const elapsed = Date.now() - downAt;
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - elapsed)));
    server = await startGstRtspServer({ port });
    const upAt = Date.now();
    const counts = new Map(cams().map((c) => [c.camera, c.segments]));
    await waitFor(
      'recording again',
      () => cams().every((c) => c.state === 'recording' && c.segments >= counts.get(c.camera)! + 2),
      120_000,
    );
    await rec.stop();

    for (const camera of ['tcp', 'udp']) {
      const j = await readJournal(dir, camera);
      const gap = j.gaps.find((g) => g.from < upAt && g.to > downAt);
      expect(gap, `gap of ${camera}`).toBeDefined();
      // The server's death is seen as a dropped stream or a silence, then every
      // retry is refused: the specific cause replaces the generic one.
      expect(['camera-unreachable', 'stalled']).toContain(gap!.cause);
      expect(gap!.to - gap!.from).toBeGreaterThanOrEqual(15_000);
      const segs = [...j.segments.values()];
      expect(segs.some((s) => s.start >= gap!.to - 1)).toBe(true);
      for (const s of segs) expect(await countFrames(path.join(dir, camera, s.file))).toBeGreaterThan(0);
    }
  });

  it('restarts a stalled ffmpeg (camera frozen, connection open) and records the gap as "stalled"', async () => {
    const server = await startGstRtspServer();
    cleanup.push(() => server.stop());
    const dir = tmpDir('rec-stall-');
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      graceMs: 3000, // stall after 2 x 2 s + 3 s without a segment
      ioTimeoutMs: 120_000, // longer than the stall: the watchdog, not ffmpeg's socket timeout, must act
      retention: { minFreeBytes: 0 },
      backoff: { baseMs: 500, maxMs: 2000 },
      quitTimeoutMs: 1000,
      termTimeoutMs: 1000,
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    cleanup.push(() => rec.stop());
    await waitFor('2 segments', () => rec.stats().cameras[0]!.segments >= 2, 120_000);
    // Freeze the server: its TCP connection stays up but no packet flows.
    server.process.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      await waitFor('stall detected', () => rec.stats().cameras[0]!.detail?.startsWith('stalled'), 60_000);
    } finally {
      server.process.kill('SIGCONT');
    }
    const n = rec.stats().cameras[0]!.segments;
    await waitFor(
      'recording again',
      () => rec.stats().cameras[0]!.state === 'recording' && rec.stats().cameras[0]!.segments >= n + 2,
      120_000,
    );
    await rec.stop();
    const gap = (await readJournal(dir, 'c1')).gaps.find((g) => g.to > frozenAt);
    expect(gap?.cause).toBe('stalled');
  });
});
