/**
 * The recorder against Debian's GStreamer RTSP server (not our code), over
 * TCP and UDP, with audio and Basic auth: segments play, the journal matches
 * the files, a clip covers its window, and bad credentials or a dead port give
 * clear, redacted errors.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { createLogger } from '../../lib/log.js';
import {
  countFrames,
  filesOnDisk,
  probe,
  readJournal,
  runCli,
  tmpDir,
  waitFor,
} from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';

const PASSWORD = 'Sup3r-S3cret';
const creds = { user: 'admin', password: PASSWORD };
const SEG = 2;

describe('recorder with the GStreamer RTSP server', () => {
  let server: GstServer;
  let dir: string;
  let rec: Recorder;
  const logLines: string[] = [];

  beforeAll(async () => {
    server = await startGstRtspServer({ audio: true, user: creds.user, password: creds.password });
    dir = tmpDir('rec-gst-');
    rec = new Recorder({
      dir,
      segmentSeconds: SEG,
      retention: { minFreeBytes: 0 },
      log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
      cameras: [
        { name: 'tcp', url: server.url('/cam', creds), transport: 'tcp' },
        { name: 'udp', url: server.url('/cam', creds), transport: 'udp' },
        { name: 'wrongpass', url: server.url('/cam', { user: 'admin', password: 'Wr0ng-Pa55' }) },
        // A closed port on loopback: the camera is "unreachable".
        { name: 'down', url: `rtsp://admin:${PASSWORD}@127.0.0.1:1/cam` },
      ],
    });
    await rec.start(AbortSignal.timeout(60_000));
    await waitFor(
      '5 segments per transport',
      () =>
        ['tcp', 'udp'].every((c) => (rec.stats().cameras.find((s) => s.camera === c)?.segments ?? 0) >= 5),
      120_000,
    );
  });

  afterAll(async () => {
    await rec?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['tcp', 'udp'])(
    'records playable segments with audio over %s, and the journal matches the files',
    async (camera) => {
      const j = await readJournal(dir, camera);
      expect(j.state).toBe('ok');
      const segs = [...j.segments.values()].sort((a, b) => a.start - b.start);
      expect(segs.length).toBeGreaterThanOrEqual(5);
      const disk = filesOnDisk(dir, camera);
      // Journal complete: every indexed file exists, every finished file is indexed.
      expect(disk.hour).toEqual(segs.map((s) => s.file).sort());
      for (const s of segs) {
        expect(s.keyframe).toBe(true);
        expect(s.audio).toBe(true);
        expect(s.end).toBeGreaterThan(s.start);
        const p = await probe(path.join(dir, camera, s.file));
        expect(p.streams.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
        expect(Number(p.format.duration)).toBeGreaterThan(0);
      }
      // Segments of one run are contiguous in wall-clock time.
      for (let i = 1; i < segs.length; i++)
        expect(Math.abs(segs[i]!.start - segs[i - 1]!.end)).toBeLessThan(1000);
    },
  );

  it('cuts a clip from the keyframe at or before "from" to at or after "to" (API and CLI, while recording)', async () => {
    const segs = rec.segments('tcp', 0, Date.now());
    const from = segs[1]!.start + 1300; // mid-GOP (GOP = 1 s)
    const to = segs[3]!.start + 700;
    const out = path.join(dir, 'clip.mp4');
    const r = await rec.clip('tcp', from, to, out);
    expect(r.complete).toBe(true);
    expect(r.start).toBeLessThanOrEqual(from);
    expect(from - r.start).toBeLessThanOrEqual(1000 + 100); // within one GOP
    const p = await probe(out);
    expect(Number(p.format.start_time)).toBeCloseTo(0, 1);
    expect(Number(p.format.duration)).toBeGreaterThanOrEqual((to - r.start) / 1000 - 0.1);
    expect(p.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(await countFrames(out)).toBeGreaterThanOrEqual(Math.floor(((to - from) / 1000) * 15));

    const cliOut = path.join(dir, 'cli-clip.mp4');
    const cli = runCli([
      'agent',
      'clip',
      '--dir',
      dir,
      '--camera',
      'tcp',
      '--from',
      new Date(from).toISOString(),
      '--to',
      new Date(to).toISOString(),
      '--out',
      cliOut,
    ]);
    expect((await cli.exited).code).toBe(0);
    const printed = JSON.parse(cli.output().slice(cli.output().indexOf('{'))) as {
      start: string;
      complete: boolean;
    };
    expect(Date.parse(printed.start)).toBeLessThanOrEqual(from);
    expect(Number((await probe(cliOut)).format.duration)).toBeGreaterThanOrEqual((to - from) / 1000);
  });

  it('reports a wrong password and an unreachable camera clearly, with no password in any log line', async () => {
    const cams = await waitFor('both failures classified', () => {
      const s = rec.stats().cameras;
      const w = s.find((c) => c.camera === 'wrongpass');
      const d = s.find((c) => c.camera === 'down');
      return w?.detail && d?.detail ? { w, d } : undefined;
    });
    expect(cams.w.detail).toMatch(/authentication failed \(401\)/);
    expect(cams.d.detail).toMatch(/camera unreachable/);
    const h = rec.health();
    expect(h.state).toBe('degraded');
    expect(h.detail).toMatch(/wrongpass: authentication failed/);
    const gaps = rec.coverage('wrongpass', Date.now() - 60_000, Date.now()).gaps;
    expect(gaps.at(-1)?.cause).toBe('auth-failed');
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.some((l) => l.includes('admin:***@'))).toBe(true);
    for (const l of logLines) {
      expect(l).not.toContain(PASSWORD);
      expect(l).not.toContain('Wr0ng-Pa55');
    }
  });
});
