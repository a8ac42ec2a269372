/**
 * Recorder test utilities used with the GStreamer RTSP server: ffprobe checks,
 * running the real CLI as a child process (for kill -9), polling, and reading
 * what the recorder left on disk.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { foldJournal, loadJournal, type FoldedJournal } from '../../agent/recorder/journal.js';
import { cameraPaths } from '../../agent/recorder/paths.js';
import { ffprobePath } from '../../lib/ffmpeg.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function tmpDir(prefix = 'rec-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface Probe {
  format: { start_time?: string; duration?: string };
  streams: { codec_type: string; codec_name: string }[];
}

/** ffprobe as the judge of "playable": it must parse the file and find a video stream. */
export async function probe(file: string): Promise<Probe> {
  const { stdout } = await execFileP(ffprobePath(), [
    '-v',
    'error',
    '-show_entries',
    'format=start_time,duration:stream=codec_type,codec_name',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout) as Probe;
}

/** Decodes the video and counts frames (ffprobe -count_frames): > 0 means the file really plays. */
export async function countFrames(file: string): Promise<number> {
  const { stdout } = await execFileP(ffprobePath(), [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim().split(/\s+/)[0]);
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 90_000,
  everyMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function readJournal(
  dir: string,
  camera: string,
): Promise<FoldedJournal & { lines: number; state: string }> {
  const loaded = await loadJournal(cameraPaths(dir, camera).journal);
  return { ...foldJournal(camera, loaded.lines), lines: loaded.lines.length, state: loaded.state };
}

/** Segment files present in hour folders and in incoming/ (relative to the camera folder). */
export function filesOnDisk(
  dir: string,
  camera: string,
): { hour: string[]; incoming: string[]; bytes: number } {
  const root = cameraPaths(dir, camera).root;
  const hour: string[] = [];
  const incoming: string[] = [];
  let bytes = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // evicted while we looked
      throw err;
    }
    for (const n of names) {
      const p = path.join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (st.isDirectory()) {
        if (n !== 'quarantine') walk(p);
      } else if (n.endsWith('.ts')) {
        bytes += st.size;
        const rel = path.relative(root, p);
        (rel.startsWith('incoming/') ? incoming : hour).push(rel);
      }
    }
  };
  walk(root);
  return { hour: hour.sort(), incoming, bytes };
}

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `camconnect ARGS` from the TypeScript sources (tsx), as a separate process we can kill -9. */
export function runCli(args: string[]): CliProcess {
  const code = `import { main } from ${JSON.stringify(path.join(ROOT, 'cli/main.ts'))}; process.exitCode = await main(process.argv);`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', code, 'camconnect', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CAMCONNECT_LOG_LEVEL: 'debug' },
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (c, s) => resolve({ code: c, signal: s })),
  );
  return { child, output: () => out, exited };
}
