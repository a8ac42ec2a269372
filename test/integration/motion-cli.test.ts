/**
 * `camconnect agent motion`: JSON lines as episodes start and end, from a file (as fast as it
 * decodes) and from a live RTSP camera with credentials in its URL, which never get printed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { ensureScene } from '../../simulator/encode.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { sceneByName } from '../../simulator/scenes.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PASS = 'cli-s3cret';
let dir: string;
let entry: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-motion-cli-'));
  // The command line as users run it, from source (dist/ may be older than this checkout).
  entry = path.join(dir, 'camconnect.mts');
  await writeFile(
    entry,
    `import { main } from '${repo}/cli/main.js';\nprocess.exitCode = await main(process.argv);\n`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'agent', 'motion', ...args], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('camconnect agent motion', () => {
  it('prints start and end lines for a file, with times from --start', async () => {
    const enc = await ensureScene(sceneByName('street'));
    const start = '2025-03-01T12:00:00.000Z';
    const r = await run(['--camera', enc.sub.h264Path, '--json', '--id', 'street-file', '--start', start]);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((l) => l['phase'])).toEqual(['start', 'end', 'start', 'end']);
    const t0 = Date.parse(start);
    const ends = out.filter((l) => l['phase'] === 'end');
    expect(
      ends.map((l) => [(l['startedAt'] as number) - t0, l['endReason'], l['cameraId'], l['source']]),
    ).toEqual([
      [4000, 'quiet', 'street-file', 'pixel'],
      [17_000, 'quiet', 'street-file', 'pixel'],
    ]);
  });

  it('a mask over the walkers hides them', async () => {
    const enc = await ensureScene(sceneByName('street'));
    const r = await run(['--camera', enc.sub.h264Path, '--json', '--mask', '0,0.4,1,0.6']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([]);
  });

  it('rejects bad options with a usage error', async () => {
    const r = await run(['--camera', 'x.h264', '--fps', '100']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fps must be a number in 1\.\.15/);
  });

  describe('live', () => {
    let fleet: SimulatorFleet;
    beforeAll(async () => {
      fleet = new SimulatorFleet({
        cameras: 1,
        scenes: ['street'],
        rtspPort: 0,
        onvif: false,
        username: 'cli',
        password: PASS,
        epochMs: Date.now() + 2000, // the first walker appears ~6 s from now
        log: silentLogger,
      });
      await fleet.start(AbortSignal.timeout(120_000));
    });
    afterAll(() => fleet?.stop());

    it('prints episodes from an RTSP camera and never its password', async () => {
      const url = fleet.cameras()[0]!.rtsp.sub.replace('rtsp://', `rtsp://cli:${PASS}@`);
      const r = await run(['--camera', url, '--json', '--duration', '14'], 90_000);
      expect(r.code, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out[0]).toMatchObject({ phase: 'start', source: 'pixel' });
      expect(out.some((l) => l['phase'] === 'end')).toBe(true);
      expect(r.stdout + r.stderr).not.toContain(PASS);
    });

    it('a wrong password is reported (redacted) and retried, not a crash', async () => {
      const url = fleet.cameras()[0]!.rtsp.sub.replace('rtsp://', 'rtsp://cli:Wr0ngPass@');
      const r = await run(['--camera', url, '--duration', '4'], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sub-stream lost; restarting/);
      expect(r.stderr).not.toContain('Wr0ngPass');
    });
  });
});
