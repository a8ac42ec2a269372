import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { agentChecks, checkClock } from './doctor-agent.js';
import { ffmpegInfo, type FfmpegInfo } from '../lib/ffmpeg.js';
import { VERSION } from '../lib/version.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
}

async function checkFfmpeg(): Promise<{ checks: Check[]; info?: FfmpegInfo }> {
  let info: FfmpegInfo;
  try {
    info = await ffmpegInfo();
  } catch (err) {
    return {
      checks: [
        {
          name: 'ffmpeg',
          ok: false,
          detail: err instanceof Error ? err.message : String(err),
          fix: 'apt-get install ffmpeg (or set FFMPEG_PATH and FFPROBE_PATH)',
        },
      ],
    };
  }
  const { ffmpeg, ffprobe, capabilities: c } = info;
  const missing = Object.entries(c.has)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  // Recording needs only stream copy (rtsp demuxer, segment/mp4 muxers); the simulator
  // and motion need libx264 and the h264 decoder. A missing piece degrades, it does not stop.
  const required = ['rtspDemuxer', 'segmentMuxer', 'mp4Muxer', 'h264Decoder'];
  const missingRequired = missing.filter((m) => required.includes(m));
  return {
    info,
    checks: [
      {
        name: 'ffmpeg',
        ok: missingRequired.length === 0,
        detail: `${c.version} at ${ffmpeg.path} (from ${ffmpeg.source}); ffprobe at ${ffprobe.path} (from ${ffprobe.source})`,
        ...(missingRequired.length
          ? { fix: `this ffmpeg lacks ${missingRequired.join(', ')}: install Debian's ffmpeg` }
          : {}),
      },
      {
        name: 'ffmpeg capabilities',
        ok: missing.length === 0,
        detail: Object.entries(c.has)
          .map(([k, v]) => `${k}=${v ? 'yes' : 'no'}`)
          .join(' '),
        ...(missing.length ? { fix: `missing ${missing.join(', ')}: the simulator needs libx264` } : {}),
      },
    ],
  };
}

async function checkDisk(dir: string): Promise<Check> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  const total = s.blocks * s.bsize;
  const gib = (n: number) => (n / 2 ** 30).toFixed(1);
  const ok = free > 1 * 2 ** 30;
  return {
    name: 'disk',
    ok,
    detail: `${gib(free)} GiB free of ${gib(total)} GiB at ${dir}`,
    ...(ok
      ? {}
      : { fix: 'free space or point --dir at a larger volume: the recorder needs room for its ring buffer' }),
  };
}

function checkNode(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return {
    name: 'node',
    ok,
    detail: `Node ${process.versions.node}`,
    ...(ok ? {} : { fix: 'install Node.js 20.19 or newer' }),
  };
}

export async function runDoctor(opts: { dir: string; dataDir?: string }): Promise<Check[]> {
  const ff = await checkFfmpeg();
  const base = [checkNode(), ...ff.checks, await checkDisk(opts.dir), await checkClock()];
  // Agent checks (enrollment, broker, bridge, cameras) when this box has an agent data folder.
  const dataDir = opts.dataDir ?? process.env['CAMCONNECT_STATE_DIR'];
  if (dataDir === undefined || !existsSync(dataDir)) return base;
  return [...base, ...(await agentChecks(dataDir))];
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check ffmpeg, disk, clock, cameras, broker and bridge; print each problem with its fix')
    .option('--dir <dir>', 'the recording volume to check', '.')
    .option('--data-dir <dir>', 'agent data folder: also check enrollment, broker, bridge and every camera')
    .option('--json', 'print one JSON document')
    .action(async (opts: { dir: string; dataDir?: string; json?: boolean }) => {
      const checks = await runDoctor(opts);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ version: VERSION, checks }, null, 2) + '\n');
      } else {
        process.stdout.write(`camconnect ${VERSION}\n`);
        for (const c of checks) {
          process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`     fix: ${c.fix}\n`);
        }
      }
      process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
    });
}
