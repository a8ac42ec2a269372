/**
 * `npm run bench -- motion [--cameras 8] [--seconds 20] [--fps 5] [--scene street]`
 *
 * CPU of on-box pixel motion per camera, against bare ffmpeg decoding the same sub-stream at the
 * same rate: full decode of every frame, thinned to the analysis rate and scaled to 160x90 grey
 * in ffmpeg, output discarded (the least any pixel-motion pipeline must do). Also printed: the
 * same baseline with our decode flags (what our wrapper alone adds), the low-latency variant,
 * and plain decoding with no filter, for context.
 *
 * Each camera is the simulator's 640x360 15 fps H.264 sub-stream read at its native rate (-re),
 * so the load per second is the load of a live camera; N cameras run at once, each with its own
 * ffmpeg, as on the appliance. Measured over the same window length for each phase: CPU seconds
 * of every ffmpeg (from /proc/PID/stat) plus this Node process (process.cpuUsage: the detector,
 * the tracker and the pipes), after a warm-up that skips ffmpeg's start. Phases run twice,
 * interleaved, and are averaged. CPU time, not wall time, so a busy shared machine moves the
 * figures less; the ratios are the figures to trust.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { frameReaderArgs } from '../agent/motion/frames.js';
import { PixelMotionSource } from '../agent/motion/pixel-source.js';
import { ffmpegInfo } from '../lib/ffmpeg.js';
import { ensureScene } from '../simulator/encode.js';
import { sceneByName } from '../simulator/scenes.js';

export const description =
  'pixel motion (ffmpeg + detector) vs bare ffmpeg decoding the same sub-stream at the same rate: CPU per camera, ratio, cameras per core';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const WARMUP_MS = 3000;

/** utime + stime of a process, in seconds; undefined when it has gone. */
function cpuOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const nodeCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Phase {
  pids(): (number | undefined)[];
  stop(): Promise<void>;
}

/** Total CPU seconds of the phase's processes and of Node over `seconds`, after the warm-up. */
async function measure(start: () => Promise<Phase>, seconds: number): Promise<number> {
  const phase = await start();
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const pids = phase.pids();
    const before = pids.map(cpuOf);
    const n0 = nodeCpu();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = pids.map(cpuOf);
    const node = nodeCpu() - n0;
    if (after.some((a) => a === undefined))
      throw new Error('an ffmpeg ended during the measurement (input too short?)');
    const ff = after.reduce((sum: number, a, i) => sum + (a! - before[i]!), 0);
    if (process.env['BENCH_DEBUG'])
      process.stdout.write(`  ffmpeg ${ff.toFixed(2)} s, node ${node.toFixed(2)} s\n`);
    return ff + node;
  } finally {
    await phase.stop();
  }
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('close', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cameras: { type: 'string', default: '8' },
      seconds: { type: 'string', default: '20' },
      fps: { type: 'string', default: '5' },
      scene: { type: 'string', default: 'street' },
    },
  });
  const cameras = Number(values.cameras);
  const seconds = Number(values.seconds);
  const fps = Number(values.fps);
  const enc = await ensureScene(sceneByName(values.scene));
  const info = await ffmpegInfo();
  // Enough loops of the 30 s scene to outlast warm-up and window, read at 15 fps by -re.
  const loops = Math.ceil((seconds + WARMUP_MS / 1000 + 10) / enc.scene.durationSec);
  const input = `concat:${Array(loops).fill(enc.sub.h264Path).join('|')}`;
  const inputArgs = ['-f', 'h264', '-framerate', String(enc.sub.profile.fps)];
  const reader = { input, fps, width: 160, height: 90, inputArgs, nativeRate: true };

  const bare = (args: string[]) => (): Promise<Phase> => {
    const children = Array.from({ length: cameras }, () =>
      spawn(info.ffmpeg.path, args, { stdio: ['ignore', 'ignore', 'inherit'] }),
    );
    return Promise.resolve({ pids: () => children.map((c) => c.pid), stop: () => stopAll(children) });
  };
  const decodeOnly = [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-re', '-threads', '1'],
    ...inputArgs,
    ...['-i', input, '-an', '-f', 'null', '-'],
  ];
  const ours = (lowLatency: boolean) => async (): Promise<Phase> => {
    let episodes = 0;
    const sources = Array.from(
      { length: cameras },
      (_, i) =>
        new PixelMotionSource({
          cameraId: `bench${i + 1}`,
          ...reader,
          lowLatency,
          live: true,
          sink: { episodeStarted: () => episodes++, episodeEnded: () => undefined },
        }),
    );
    for (const s of sources) await s.start(AbortSignal.timeout(10_000));
    return {
      pids: () => sources.map((s) => s.health()['pid'] as number | undefined),
      stop: async () => {
        for (const s of sources) await s.stop();
        process.stdout.write(
          `  (pixel motion${lowLatency ? ', low latency,' : ''} saw ${episodes} episode starts)\n`,
        );
      },
    };
  };

  process.stdout.write(
    `${cameras} cameras x ${enc.sub.profile.width}x${enc.sub.profile.height} H.264 ${enc.sub.profile.fps} fps ` +
      `(scene ${enc.scene.name}), analysis ${fps} fps at 160x90, ${seconds} s per phase, ffmpeg ${info.capabilities.version}\n`,
  );
  const major = info.capabilities.major;
  // Bare ffmpeg as anyone would run it: full decode, thinned to the same rate, output discarded.
  const bareArgs = frameReaderArgs({ ...reader, fullDecode: true }, major, 'null');
  // The same decode flags as ours (no deblocking): what our wrapper adds on top of ffmpeg.
  const sameFlagsArgs = frameReaderArgs(reader, major, 'null');
  const phases: [string, () => Promise<Phase>][] = [
    ['bare', bare(bareArgs)],
    ['pixel', ours(false)],
    ['sameFlags', bare(sameFlagsArgs)],
    ['lowLatency', ours(true)],
    ['decode', bare(decodeOnly)],
  ];
  // Two rounds, interleaved, averaged: a neighbour's load spike then hits every phase alike.
  const cpu: Record<string, number> = {};
  for (let round = 0; round < 2; round++) {
    for (const [name, start] of phases) cpu[name] = (cpu[name] ?? 0) + (await measure(start, seconds)) / 2;
  }

  const pct = (cpuSec: number) => (cpuSec / seconds / cameras) * 100;
  const row = (name: string, cpuSec: number) =>
    `${name.padEnd(58)} ${pct(cpuSec).toFixed(2).padStart(6)} % of a core per camera\n`;
  const c = cpu as Record<'bare' | 'pixel' | 'sameFlags' | 'lowLatency' | 'decode', number>;
  process.stdout.write(row('bare ffmpeg: decode every frame, nothing else', c.decode));
  process.stdout.write(row('bare ffmpeg: decode + thin to the same rate (the baseline)', c.bare));
  process.stdout.write(row('same, with our decode flags (-skip_loop_filter all)', c.sameFlags));
  process.stdout.write(row('pixel motion: ffmpeg + node detector (default)', c.pixel));
  process.stdout.write(row('pixel motion, low latency (thinned in node)', c.lowLatency));
  process.stdout.write(
    `ratio pixel motion / bare same-rate decode: ${(c.pixel / c.bare).toFixed(2)} (target <= 1.2)\n` +
      `  low latency / bare: ${(c.lowLatency / c.bare).toFixed(2)}; ` +
      `our wrapper alone (pixel / same flags): ${(c.pixel / c.sameFlags).toFixed(2)}\n`,
  );
  process.stdout.write(
    `cameras of pixel motion per core on this machine: ${Math.floor(100 / pct(c.pixel))} ` +
      `(${process.arch}, ${os.cpus()[0]?.model ?? 'unknown CPU'})\n`,
  );
}
