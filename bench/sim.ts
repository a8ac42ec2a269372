/**
 * `npm run bench -- sim [--cameras 8] [--seconds 30] [--transport tcp,udp]`
 *
 * What it costs to serve N simulated cameras: the RTSP server runs in its own
 * process (this file, re-run with --serve), N `ffmpeg -c copy -f null` readers
 * pull the main streams, and the server's CPU time is read from
 * /proc/PID/stat before and after a fixed window. The same readers' own CPU
 * over the same window is the same-run baseline: ffmpeg doing nothing but
 * depacketizing is about the cheapest possible consumer, so "server CPU /
 * readers CPU" says how light serving is, on a quiet machine or a busy one.
 *
 * Target (issue): 8 cameras to 8 readers under 5% of one core in total.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ffmpegPath } from '../lib/ffmpeg.js';
import { ensureScene } from '../simulator/encode.js';
import type { RtspCamera } from '../simulator/rtsp/server.js';
import { RtspServer } from '../simulator/rtsp/server.js';
import { SceneTimeline, STREAM_PROFILES, sceneForCamera } from '../simulator/scenes.js';

export const description =
  'CPU of the RTSP simulator serving N cameras to N ffmpeg -c copy readers (TCP, UDP), against the readers’ own CPU';

const TARGET_PCT = 5;

interface Stats {
  playing: number;
  bytesSent: number;
  framesSent: number;
  framesDropped: number;
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

async function cameras(n: number): Promise<RtspCamera[]> {
  const epoch = Date.now();
  const out: RtspCamera[] = [];
  for (let k = 1; k <= n; k++) {
    const { scene, phaseSec } = sceneForCamera(k);
    const enc = await ensureScene(scene);
    out.push({
      id: `cam${k}`,
      timeline: new SceneTimeline(scene, epoch, phaseSec),
      main: enc.main,
      sub: enc.sub,
    });
  }
  return out;
}

/** Child mode: serve, print `READY <port>`, answer `stats` lines on stdin, exit when stdin closes. */
async function serve(args: string[]): Promise<void> {
  const server = new RtspServer({ port: 0, cameras: await cameras(Number(flag(args, 'cameras', '8'))) });
  await server.start(AbortSignal.timeout(300_000));
  process.stdout.write(`READY ${server.port()}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'stats') process.stdout.write(JSON.stringify(server.health()) + '\n');
  });
  await new Promise<void>((resolve) => rl.once('close', resolve));
  await server.stop();
}

/** CPU seconds (user + system) a process has used so far (proc(5): fields 14 and 15). */
function cpuSeconds(pid: number, ticksPerSec: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSec;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch (err) {
    process.stderr.write(`getconf CLK_TCK failed (${(err as Error).message}); assuming 100\n`);
    return 100;
  }
}

/** The server child, with a line-oriented request/response on its stdio. */
class ServerProcess {
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
  }

  static async spawn(nCameras: number): Promise<{ proc: ServerProcess; port: number }> {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [self, '--serve', '--cameras', String(nCameras)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const proc = new ServerProcess(child);
    const ready = await proc.nextLine(300_000);
    const m = /^READY (\d+)$/.exec(ready);
    if (!m) throw new Error(`sim server did not start: ${ready}`);
    return { proc, port: Number(m[1]) };
  }

  nextLine(timeoutMs = 30_000): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('sim server stopped answering')), timeoutMs);
      this.waiters.push((line) => {
        clearTimeout(t);
        resolve(line);
      });
    });
  }

  async stats(): Promise<Stats> {
    this.child.stdin!.write('stats\n');
    return JSON.parse(await this.nextLine()) as Stats;
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

const exited = (p: ChildProcess): boolean => p.exitCode !== null || p.signalCode !== null;

interface Measurement {
  transport: string;
  seconds: number;
  serverPct: number;
  readersPct: number;
  bytes: number;
  mbits: number;
  dropped: number;
}

async function measure(server: ServerProcess, port: number, n: number, transport: string, seconds: number) {
  const ticks = clockTicks();
  const readerArgs = (i: number): string[] => [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-rtsp_transport', transport],
    ...['-i', `rtsp://127.0.0.1:${port}/cam${i + 1}/main`, '-c', 'copy', '-f', 'null', '-'],
  ];
  const readers = Array.from({ length: n }, (_, i) =>
    spawn(ffmpegPath(), readerArgs(i), { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  const errors: string[] = [];
  for (const r of readers) r.stderr.setEncoding('utf8').on('data', (d: string) => errors.push(d.trim()));
  try {
    // Warm-up: every reader connected and playing, then a moment so start-up costs stay outside the window.
    for (let i = 0; (await server.stats()).playing < n; i++) {
      if (i > 120 || readers.some(exited)) throw new Error(`readers failed: ${errors.join('; ')}`);
      await sleep(250);
    }
    await sleep(2000);
    const pid = server.child.pid!;
    const before = { server: cpuSeconds(pid, ticks), readers: readers.map((r) => cpuSeconds(r.pid!, ticks)) };
    const s0 = await server.stats();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const s1 = await server.stats();
    const serverCpu = cpuSeconds(pid, ticks) - before.server;
    const readersCpu = readers.reduce((sum, r, i) => sum + cpuSeconds(r.pid!, ticks) - before.readers[i]!, 0);
    if (readers.some(exited)) throw new Error(`a reader exited early: ${errors.join('; ')}`);
    return {
      transport,
      seconds: wall,
      serverPct: (serverCpu / wall) * 100,
      readersPct: (readersCpu / wall) * 100,
      bytes: s1.bytesSent - s0.bytesSent,
      mbits: ((s1.bytesSent - s0.bytesSent) * 8) / wall / 1e6,
      dropped: s1.framesDropped - s0.framesDropped,
    } satisfies Measurement;
  } finally {
    await Promise.all(
      readers.map(async (r) => {
        if (exited(r)) return;
        const done = new Promise((resolve) => r.once('exit', resolve));
        r.kill('SIGTERM');
        await done;
      }),
    );
  }
}

export async function run(args: string[]): Promise<void> {
  const n = Number(flag(args, 'cameras', '8'));
  const seconds = Number(flag(args, 'seconds', '30'));
  const transports = flag(args, 'transport', 'tcp,udp').split(',');
  const main = STREAM_PROFILES.main;
  process.stdout.write('encoding scenes (cached after the first run)...\n');
  await cameras(n); // warm the cache here, so the server child starts from it
  const { proc, port } = await ServerProcess.spawn(n);
  const results: Measurement[] = [];
  try {
    const ticks = clockTicks();
    const idle0 = cpuSeconds(proc.child.pid!, ticks);
    await sleep(3000);
    const idlePct = ((cpuSeconds(proc.child.pid!, ticks) - idle0) / 3) * 100;
    process.stdout.write(`server idle (no clients): ${idlePct.toFixed(2)}% of one core\n`);
    for (const t of transports) {
      process.stdout.write(`measuring ${n} readers over ${t} for ${seconds} s...\n`);
      results.push(await measure(proc, port, n, t, seconds));
    }
  } finally {
    await proc.close();
  }
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(i === 0 ? 10 : 16)).join('') + '\n';
  process.stdout.write(
    `\n${n} cameras, main stream ${main.width}x${main.height} ${main.fps} fps ${main.kbps} kbit/s, ${n} ffmpeg -c copy readers\n`,
  );
  process.stdout.write(
    line([
      'transport',
      'server %core',
      'readers %core',
      'server/readers',
      'served MB',
      'served Mbit/s',
      'frames dropped',
    ]),
  );
  for (const r of results) {
    process.stdout.write(
      line([
        r.transport,
        r.serverPct.toFixed(2),
        r.readersPct.toFixed(2),
        (r.serverPct / r.readersPct).toFixed(3),
        (r.bytes / 1e6).toFixed(1),
        r.mbits.toFixed(2),
        String(r.dropped),
      ]),
    );
  }
  for (const r of results) {
    const verdict = r.serverPct < TARGET_PCT ? 'meets' : 'MISSES';
    process.stdout.write(
      `${r.transport}: server ${r.serverPct.toFixed(2)}% of one core ${verdict} the < ${TARGET_PCT}% target\n`,
    );
  }
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv.includes('--serve')
) {
  await serve(process.argv.slice(2));
}
