/**
 * Crash safety: kill -9 of the agent and of ffmpeg mid-segment, then restart:
 * the journal is consistent, nothing finished is lost (the segment in
 * progress is salvaged when it holds a keyframe), every indexed segment
 * plays. And a damaged or lying journal is repaired from the files at start.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { cameraPaths } from '../../agent/recorder/paths.js';
import { createLogger } from '../../lib/log.js';
import { countFrames, filesOnDisk, readJournal, runCli, tmpDir, waitFor } from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';

let server: GstServer;
const dirs: string[] = [];
beforeAll(async () => {
  server = await startGstRtspServer({ audio: true });
});
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every journal segment exists, plays and starts on a keyframe; files and journal agree. */
async function expectConsistent(dir: string, camera: string) {
  const j = await readJournal(dir, camera);
  expect(j.state).toBe('ok');
  const segs = [...j.segments.values()];
  expect(filesOnDisk(dir, camera).hour).toEqual(segs.map((s) => s.file).sort());
  for (const s of segs) {
    expect(s.keyframe).toBe(true);
    expect(await countFrames(path.join(dir, camera, s.file))).toBeGreaterThan(0);
  }
  return j;
}

/** Wait until the segment being written holds at least `bytes` (so it has a keyframe). */
async function midSegment(dir: string, camera: string, bytes = 24_000) {
  const inc = cameraPaths(dir, camera).incoming;
  await waitFor('a segment in progress', () =>
    readdirSync(inc).some((n) => statSync(path.join(inc, n)).size >= bytes),
  );
}

describe('recorder crash safety', () => {
  it('survives kill -9 of the agent: orphaned ffmpeg reaped, finished segments kept, partial salvaged', async () => {
    const dir = tmpDir('rec-crash-agent-');
    dirs.push(dir);
    const args = [
      'agent',
      'record',
      '--camera',
      `c1=${server.url()}`,
      '--dir',
      dir,
      '--segment-seconds',
      '2',
      '--min-free-bytes',
      '0',
      '--flush-packets', // the segment in progress is on disk at the kill, so its salvage is exercised
    ];
    const first = runCli(args);
    await waitFor('3 segments', async () => (await readJournal(dir, 'c1')).segments.size >= 3, 120_000);
    await midSegment(dir, 'c1');
    const before = await readJournal(dir, 'c1');
    const orphan = Number(readFileSync(cameraPaths(dir, 'c1').pidfile, 'utf8'));
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = runCli(args);
    await waitFor(
      '3 more segments',
      async () => (await readJournal(dir, 'c1')).segments.size >= before.segments.size + 4,
      120_000,
    );
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);

    const after = await expectConsistent(dir, 'c1');
    for (const [file, seg] of before.segments) expect(after.segments.get(file)?.sha256).toBe(seg.sha256);
    expect(second.output()).toMatch(/salvaged/);
    // The orphan ffmpeg is gone (reaped by the second agent, or dead of SIGPIPE).
    expect(
      existsSync(`/proc/${orphan}/cmdline`) && readFileSync(`/proc/${orphan}/cmdline`, 'utf8').includes(dir),
    ).toBe(false);
    expect(filesOnDisk(dir, 'c1').incoming).toEqual([]);
    for (const g of after.gaps.filter(
      (g) => g.from >= Math.max(...[...before.segments.values()].map((s) => s.end)) - 1,
    )) {
      expect(['agent-crashed', 'agent-stopped']).toContain(g.cause);
    }
  });

  it('survives kill -9 of ffmpeg: restarts it, salvages the partial segment, journal consistent', async () => {
    const dir = tmpDir('rec-crash-ffmpeg-');
    dirs.push(dir);
    const lines: string[] = [];
    const rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { minFreeBytes: 0 },
      backoff: { baseMs: 200 },
      flushPackets: true, // so the segment in progress is on disk when ffmpeg is killed
      log: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      cameras: [{ name: 'c1', url: server.url() }],
    });
    await rec.start(AbortSignal.timeout(30_000));
    try {
      await waitFor('3 segments', () => rec.stats().cameras[0]!.segments >= 3, 120_000);
      await midSegment(dir, 'c1');
      const n = rec.stats().cameras[0]!.segments;
      process.kill(Number(readFileSync(cameraPaths(dir, 'c1').pidfile, 'utf8')), 'SIGKILL');
      await waitFor(
        'recording again',
        () => rec.stats().cameras[0]!.restarts >= 1 && rec.stats().cameras[0]!.segments >= n + 4,
        120_000,
      );
    } finally {
      await rec.stop();
    }
    const j = await expectConsistent(dir, 'c1');
    expect(lines.some((l) => l.includes('salvaged'))).toBe(true);
    for (const g of j.gaps) expect(['ffmpeg-exited', 'agent-stopped']).toContain(g.cause);
  });

  it('rebuilds a damaged journal from the files, and accounts for missing, stray and torn entries', async () => {
    const dir = tmpDir('rec-crash-journal-');
    dirs.push(dir);
    const mk = () =>
      new Recorder({
        dir,
        segmentSeconds: 2,
        retention: { minFreeBytes: 0 },
        cameras: [{ name: 'c1', url: server.url() }],
      });
    let rec = mk();
    await rec.start(AbortSignal.timeout(30_000));
    await waitFor('4 segments', () => rec.stats().cameras[0]!.segments >= 4, 120_000);
    await rec.stop();
    const p = cameraPaths(dir, 'c1');
    const j0 = await readJournal(dir, 'c1');
    const segs = [...j0.segments.values()].sort((a, b) => a.start - b.start);

    // 1. A lying journal: one file deleted behind its back, one stray junk file, a torn last line.
    unlinkSync(path.join(p.root, segs[0]!.file));
    const strayDir = path.join(p.root, path.dirname(segs[1]!.file));
    mkdirSync(strayDir, { recursive: true });
    writeFileSync(path.join(strayDir, '20000101T000000.000Z.ts'), Buffer.alloc(4000, 0x47));
    appendFileSync(p.journal, '{"v":1,"t":"seg","file":"torn');
    rec = mk();
    await rec.start(AbortSignal.timeout(30_000));
    await rec.stop();
    const j1 = await expectConsistent(dir, 'c1');
    expect(j1.segments.has(segs[0]!.file)).toBe(false);
    expect(j1.gaps.some((g) => g.cause === 'file-missing' && g.detail === segs[0]!.file)).toBe(true);
    expect(readdirSync(p.quarantine).some((n) => n.includes('20000101T000000'))).toBe(true);
    for (const s of segs.slice(1)) expect(j1.segments.get(s.file)?.sha256).toBe(s.sha256);

    // 2. Damage in the middle of the journal: kept aside, rebuilt from the files.
    const text = readFileSync(p.journal, 'utf8').split('\n');
    text.splice(2, 0, '#### disk garbage ####');
    writeFileSync(p.journal, text.join('\n'));
    rec = mk();
    await rec.start(AbortSignal.timeout(30_000));
    await rec.stop();
    const j2 = await expectConsistent(dir, 'c1');
    expect(readdirSync(p.root).some((n) => n.startsWith('journal.damaged-'))).toBe(true);
    for (const s of segs.slice(1)) expect(j2.segments.get(s.file)?.sha256).toBe(s.sha256);
  });
});
