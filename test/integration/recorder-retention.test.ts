/**
 * Retention on real recordings: a tiny quota with a pin keeps usage under the
 * quota while the pinned footage survives and plays; when holds alone exceed
 * the quota the recorder says "storage critical" and keeps recording.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { countFrames, filesOnDisk, readJournal, tmpDir, waitFor } from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';

let server: GstServer;
const dirs: string[] = [];
beforeAll(async () => {
  server = await startGstRtspServer();
});
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('recorder retention and holds', () => {
  it('stays under a tiny quota while pinned footage survives', async () => {
    const dir = tmpDir('rec-quota-');
    dirs.push(dir);
    const QUOTA = 400_000; // about ten 2-second segments of the test stream
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { maxBytes: QUOTA, minFreeBytes: 0 },
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, filesOnDisk(dir, 'c1').bytes)), 200);
    try {
      await waitFor('3 segments', () => rec.stats().cameras[0]!.segments >= 3, 120_000);
      const early = rec.segments('c1', 0, Date.now()).slice(1, 3);
      const hold = await rec.pin(
        'c1',
        early[0]!.start + 100,
        early[1]!.end - 100,
        'case 2025-0042',
        Date.now() + 3_600_000,
      );
      expect(rec.listHolds().map((h) => h.id)).toEqual([hold.id]);
      // Record until retention has evicted a quota's worth of segments.
      await waitFor('retention at work', () => retentionDeletes(dir) >= 10, 240_000, 1000);
      const j = await readJournal(dir, 'c1');
      // Pinned footage is still there and plays.
      for (const s of early) {
        expect(j.segments.get(s.file)?.sha256).toBe(s.sha256);
        expect(await countFrames(path.join(dir, 'c1', s.file))).toBeGreaterThan(0);
      }
      expect(rec.health().storageCritical).toBe(false);
      // Unpinning lets the held segments go at the next pass.
      expect(await rec.unpin(hold.id)).toBe(true);
      await waitFor(
        'held segments evicted after unpin',
        () => !rec.segments('c1', 0, Date.now()).some((s) => s.file === early[0]!.file),
      );
    } finally {
      clearInterval(sampler);
      await rec.stop();
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(QUOTA);
  });

  it('reports storage critical when holds alone fill the quota, and keeps recording', async () => {
    const dir = tmpDir('rec-critical-');
    dirs.push(dir);
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { maxBytes: 150_000, minFreeBytes: 0 },
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    try {
      const now = Date.now();
      await rec.pin('c1', now - 60_000, now + 3_600_000, 'everything is evidence', now + 3_600_000);
      const h = await waitFor(
        'storage critical',
        () => (rec.health().storageCritical ? rec.health() : undefined),
        120_000,
      );
      expect(h.state).toBe('degraded');
      expect(h.detail).toMatch(/storage critical/);
      const n = rec.stats().cameras[0]!.segments;
      await waitFor('still recording', () => rec.stats().cameras[0]!.segments >= n + 2, 60_000);
      // Nothing pinned was evicted: every segment since the start is still there.
      const segs = rec.segments('c1', 0, Date.now());
      expect(segs.length).toBe(rec.stats().cameras[0]!.segments);
      expect((await readJournal(dir, 'c1')).segments.size).toBe(segs.length);
    } finally {
      await rec.stop();
    }
  });
});

/** Number of segments retention has deleted so far (journal "del" lines). */
function retentionDeletes(dir: string): number {
  return (
    readFileSync(path.join(dir, 'c1', 'journal.jsonl'), 'utf8').match(
      /"t":"del","file":"[^"]+","reason":"retention"/g,
    ) ?? []
  ).length;
}
