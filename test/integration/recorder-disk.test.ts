/**
 * Storage failures on a real (small) filesystem we mount: a full disk and a
 * read-only disk give a clear error (health detail and gap cause), and the
 * recorder recovers by itself when space returns / the volume is writable.
 * Needs root for mount(8); skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { countFrames, readJournal, tmpDir, waitFor } from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';

const isRoot = process.getuid?.() === 0;
let server: GstServer;
const cleanup: (() => void)[] = [];

function mountTmpfs(sizeMb: number): string {
  const dir = tmpDir('rec-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  cleanup.push(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Write zeros until the filesystem refuses (ENOSPC). */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(256 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  if (isRoot) server = await startGstRtspServer();
});
afterAll(async () => {
  await server?.stop();
  for (const c of cleanup.reverse()) c();
});

describe.skipIf(!isRoot)('recorder on a full or read-only disk', () => {
  it('reports a full disk clearly and resumes when space returns', async () => {
    const dir = mountTmpfs(20);
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { minFreeBytes: 0 },
      backoff: { baseMs: 500, maxMs: 3000 },
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    try {
      await waitFor('2 segments', () => rec.stats().cameras[0]!.segments >= 2, 120_000);
      const filler = path.join(dir, 'filler');
      fill(filler);
      const cam = await waitFor(
        'disk full reported',
        () => {
          const c = rec.stats().cameras[0]!;
          return c.detail?.includes('storage full') ? c : undefined;
        },
        120_000,
      );
      expect(cam.state === 'retrying' || cam.state === 'degraded').toBe(true);
      expect(rec.health().detail).toMatch(/c1: storage full: no space left/);
      const n = rec.stats().cameras[0]!.segments;
      unlinkSync(filler);
      await waitFor(
        'recording again',
        () => rec.stats().cameras[0]!.state === 'recording' && rec.stats().cameras[0]!.segments >= n + 2,
        120_000,
      );
    } finally {
      await rec.stop();
    }
    const j = await readJournal(dir, 'c1');
    expect(j.gaps.some((g) => g.cause === 'disk-full')).toBe(true);
    for (const s of j.segments.values())
      expect(await countFrames(path.join(dir, 'c1', s.file))).toBeGreaterThan(0);
  });

  it('reports a read-only disk clearly and starts recording once it is writable', async () => {
    const dir = mountTmpfs(20);
    mkdirSync(path.join(dir, 'c1'));
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { minFreeBytes: 0 },
      backoff: { baseMs: 500, maxMs: 3000 },
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    try {
      await waitFor(
        'read-only reported',
        () => rec.stats().cameras[0]!.detail?.includes('read-only'),
        60_000,
      );
      expect(rec.health().state).toBe('degraded');
      expect(rec.health().detail).toMatch(/c1: storage is read-only/);
      execFileSync('mount', ['-o', 'remount,rw', dir]);
      await waitFor(
        'recording',
        () => rec.stats().cameras[0]!.state === 'recording' && rec.stats().cameras[0]!.segments >= 2,
        120_000,
      );
    } finally {
      await rec.stop();
    }
    const j = await readJournal(dir, 'c1');
    expect(j.segments.size).toBeGreaterThanOrEqual(2);
  });
});
