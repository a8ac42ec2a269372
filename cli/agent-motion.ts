/**
 * `camconnect agent motion --camera RTSP_URL [--fps 5] [--json]`: pixel motion on one stream,
 * printing each episode as it starts and ends. With --json, one JSON object per line (the fields
 * of the wire contract's `motion` payload plus the padded window), for piping into other tools.
 *
 * --camera may also be a file (a recording, or the simulator's raw .h264): it is then analysed as
 * fast as ffmpeg decodes it, with times counted from --start (default now), and the command ends
 * with the file. The URL may carry credentials; they are never printed.
 */
import type { Command } from 'commander';
import { createLogger } from '../lib/log.js';
import { redactUrl } from '../lib/redact.js';
import { makeCameraId } from '../agent/cameras/inventory.js';
import { hostLabel } from '../agent/cameras/onboarding.js';
import { PixelMotionSource } from '../agent/motion/pixel-source.js';
import type { MotionEpisode, MotionSink, OpenEpisode } from '../agent/motion/types.js';
import { rect, type Polygon } from '../agent/motion/zones.js';
import { UsageError, shutdownSignal } from './util.js';

interface MotionOpts {
  camera: string;
  fps: number;
  json?: boolean;
  id?: string;
  zone: Polygon[];
  mask: Polygon[];
  start?: number;
  realtime?: boolean;
  inputFps: number;
  duration?: number;
  verbose?: boolean;
  lowLatency?: boolean;
}

function number(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new UsageError(`${name} must be a number in ${min}..${max}, got "${v}"`);
    return n;
  };
}

function rectOption(name: string) {
  return (v: string, prev: Polygon[]): Polygon[] => {
    const p = v.split(',').map(Number);
    if (p.length !== 4 || p.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
      throw new UsageError(`${name} expects X,Y,W,H as fractions of the frame (0..1), got "${v}"`);
    }
    const [x, y, w, h] = p as [number, number, number, number];
    return [...prev, rect(x, y, Math.min(w, 1 - x), Math.min(h, 1 - y))];
  };
}

function printer(json: boolean): MotionSink {
  const iso = (ms: number) => new Date(ms).toISOString();
  const out = (line: string) => process.stdout.write(line + '\n');
  const box = (e: OpenEpisode) =>
    e.bbox ? ` box ${[e.bbox.x, e.bbox.y, e.bbox.w, e.bbox.h].map((v) => v.toFixed(2)).join(',')}` : '';
  return {
    episodeStarted: (e: OpenEpisode) =>
      out(
        json
          ? JSON.stringify({ phase: 'start', ...e })
          : `${iso(e.startedAt)} motion start  ${e.cameraId} score ${e.peakScore.toFixed(3)}${box(e)}`,
      ),
    episodeEnded: (e: MotionEpisode) =>
      out(
        json
          ? JSON.stringify({ phase: 'end', ...e })
          : `${iso(e.endedAt)} motion end    ${e.cameraId} ${((e.endedAt - e.startedAt) / 1000).toFixed(1)} s, peak ${e.peakScore.toFixed(3)}${box(e)} (${e.endReason})`,
      ),
  };
}

export async function runMotion(o: MotionOpts): Promise<void> {
  const live = /^rtsps?:\/\//i.test(o.camera);
  const raw = /\.(h264|264|h265|265|hevc)$/i.test(o.camera);
  const log = createLogger({ level: o.verbose ? 'debug' : 'warn' });
  const id =
    o.id ?? makeCameraId(live ? hostLabel(o.camera) : (o.camera.split('/').pop() ?? 'camera'), new Set());
  const source = new PixelMotionSource({
    cameraId: id,
    input: o.camera,
    fps: o.fps,
    live,
    baseTimeMs: o.start ?? Date.now(),
    nativeRate: o.realtime ?? false,
    lowLatency: o.lowLatency ?? false,
    // A raw elementary stream has no container to say its rate.
    ...(raw
      ? {
          inputArgs: [
            '-f',
            /\.(h265|265|hevc)$/i.test(o.camera) ? 'hevc' : 'h264',
            '-framerate',
            String(o.inputFps),
          ],
        }
      : {}),
    detector: { zones: { zones: o.zone, masks: o.mask } },
    sink: printer(o.json ?? false),
    log,
    ...(o.verbose
      ? {
          onVerdict: (t, score, motion, skipped) =>
            log.debug('frame', { t: new Date(t).toISOString(), score, motion, skipped }),
        }
      : {}),
  });
  const { signal, done } = shutdownSignal();
  log.info('watching for motion', { camera: redactUrl(o.camera), fps: o.fps });
  await source.start(signal);
  const waits: Promise<unknown>[] = [source.done, done];
  if (o.duration !== undefined) waits.push(new Promise((r) => setTimeout(r, o.duration! * 1000).unref()));
  await Promise.race(waits);
  await source.stop();
  const h = source.health();
  if (h.state === 'failed') throw new UsageError(`motion: ${h.detail ?? 'the stream failed'}`, 1);
}

export function registerMotionCommand(agent: Command): void {
  agent
    .command('motion')
    .description('pixel motion on one camera stream: print motion episodes as they happen')
    .requiredOption('--camera <RTSP_URL|FILE>', 'the (sub-)stream to watch, or a video file')
    .option('--fps <N>', 'analysis frame rate', number('--fps', 1, 15), 5)
    .option('--json', 'one JSON object per line (phase start/end)')
    .option('--id <CAMERA_ID>', 'camera id to report (default: from the address)')
    .option('--zone <X,Y,W,H>', 'watch only this rectangle (fractions; repeatable)', rectOption('--zone'), [])
    .option('--mask <X,Y,W,H>', 'ignore this rectangle (fractions; repeatable)', rectOption('--mask'), [])
    .option('--start <ISO_TIME>', 'file input: wall-clock time of its first frame (default now)', (v) => {
      const t = Date.parse(v);
      if (!Number.isFinite(t)) throw new UsageError(`--start must be an ISO 8601 time, got "${v}"`);
      return t;
    })
    .option('--realtime', 'file input: read at its native rate, as a camera would send it')
    .option('--input-fps <N>', 'frame rate of a raw .h264/.h265 file', number('--input-fps', 1, 240), 15)
    .option('--duration <SECONDS>', 'stop after this long', number('--duration', 0, 1e9))
    .option('--low-latency', 'thin frames in node, not ffmpeg: earlier onsets, a little more CPU')
    .option('--verbose', 'log every frame verdict to stderr')
    .action(async (o: MotionOpts) => {
      if (!o.camera.trim()) throw new UsageError('--camera needs an RTSP URL or a file');
      await runMotion(o);
    });
}
