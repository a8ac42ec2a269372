/**
 * The linux-x64 single executable (dist-bin/camconnect-linux-x64), run as a technician would:
 * from a folder outside the repo, with the system's ffmpeg. `--version` matches package.json,
 * `doctor` runs on the embedded Node, and `agent record` records a real RTSP camera (Debian's
 * GStreamer RTSP server) into a journal whose segments ffprobe plays, then `agent clip` cuts them.
 *
 * The binary comes from `npm run build:binary` (scripts/build-binary.mjs): the test runs it for
 * x64 only, and it is a no-op when dist-bin is already built from the same bundle (a lock shares
 * one build between test files).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { probe, readJournal, tmpDir, waitFor } from '../helpers/gst-recorder.js';
import { startGstRtspServer, type GstServer } from '../helpers/gst-rtsp.js';

const execFileP = promisify(execFile);
const BIN = path.join(REPO, 'dist-bin', 'camconnect-linux-x64');
const PKG = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

interface BuildInfo {
  version: string;
  node: string;
  targets: Record<string, { bytes: number; sha256: string }>;
}

interface DoctorDoc {
  version: string;
  checks: { name: string; ok: boolean; detail: string; fix?: string }[];
}

/** Runs the binary; resolves with its exit code and output whatever the code. */
async function runBin(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(BIN, args, {
      cwd,
      timeout: 120_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64')(
  'single executable: linux-x64',
  () => {
    let info: BuildInfo;
    let work: string;

    beforeAll(async () => {
      await execFileP(process.execPath, [path.join(REPO, 'scripts/build-binary.mjs'), '--arch', 'x64'], {
        cwd: REPO,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      info = JSON.parse(readFileSync(path.join(REPO, 'dist-bin', 'build-info.json'), 'utf8')) as BuildInfo;
      work = tmpDir('bin-x64-');
    }, 600_000);

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('is an x86-64 ELF with the SEA blob injected and its fuse set', () => {
      const bin = readFileSync(BIN);
      expect(bin.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(bin.readUInt16LE(18)).toBe(0x3e); // e_machine: x86-64
      expect(bin.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true);
      expect(info.targets['x64']?.bytes).toBe(bin.length);
    });

    it('--version prints the package version', async () => {
      const r = await runBin(['--version'], work);
      expect(r).toMatchObject({ code: 0, stdout: `${PKG.version}\n` });
      expect(info.version).toBe(PKG.version);
    });

    it('doctor runs on the embedded Node and finds the system ffmpeg', async () => {
      const r = await runBin(['doctor', '--json', '--dir', work], work);
      const doc = JSON.parse(r.stdout) as DoctorDoc;
      expect(doc.version).toBe(PKG.version);
      const byName = Object.fromEntries(doc.checks.map((c) => [c.name, c]));
      expect(byName['node']).toMatchObject({ ok: true, detail: `Node ${info.node}` });
      expect(byName['ffmpeg']?.ok).toBe(true);
      expect(byName['ffmpeg']?.detail).toMatch(/\(from (path|env)\)/);
      expect(byName['disk']).toBeDefined();
      // doctor's contract: exit 0 exactly when every check passed.
      expect(r.code).toBe(doc.checks.every((c) => c.ok) ? 0 : 1);
    });

    describe('agent record and agent clip', () => {
      let server: GstServer;
      let dir: string;

      beforeAll(async () => {
        server = await startGstRtspServer({ width: 320, height: 240, fps: 10, gop: 1 });
        dir = path.join(work, 'recordings');
      });

      afterAll(async () => {
        await server?.stop();
      });

      it('records playable segments until Ctrl-C, then cuts a clip from them', async () => {
        const child = spawn(
          BIN,
          [
            'agent',
            'record',
            '--camera',
            `front=${server.url('/cam')}`,
            '--dir',
            dir,
            '--segment-seconds',
            '1',
            '--min-free-bytes',
            '0',
          ],
          {
            cwd: work,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, NODE_OPTIONS: '' },
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
        try {
          await waitFor(
            '3 finished segments',
            async () => {
              if (child.exitCode !== null)
                throw new Error(`agent record exited early (${child.exitCode}): ${out}`);
              try {
                return (await readJournal(dir, 'front')).segments.size >= 3;
              } catch (err) {
                if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
                throw err;
              }
            },
            90_000,
            500,
          );
        } finally {
          child.kill('SIGINT');
        }
        const [code] = await exited;
        expect(code, out).toBe(0);

        const j = await readJournal(dir, 'front');
        expect(j.state).toBe('ok');
        const segs = [...j.segments.values()].sort((a, b) => a.start - b.start);
        expect(segs.length).toBeGreaterThanOrEqual(3);
        for (const s of segs) {
          expect(s.keyframe).toBe(true);
          const p = await probe(path.join(dir, 'front', s.file));
          expect(p.streams.map((x) => x.codec_name)).toContain('h264');
        }

        const from = new Date(segs[0]!.start + 200).toISOString();
        const to = new Date(segs[segs.length - 1]!.end - 200).toISOString();
        const clip = path.join(work, 'clip.mp4');
        const r = await runBin(
          ['agent', 'clip', '--dir', dir, '--camera', 'front', '--from', from, '--to', to, '--out', clip],
          work,
        );
        expect(r.code, r.stderr).toBe(0);
        const p = await probe(clip);
        expect(p.streams.map((x) => x.codec_name)).toContain('h264');
        expect(Number(p.format.duration)).toBeGreaterThan(0);
      });
    });
  },
);
