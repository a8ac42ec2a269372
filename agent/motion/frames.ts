/**
 * Small grey frames from a camera's sub-stream (or a file), decoded by ffmpeg, each with its
 * stream timestamp, at the analysis rate.
 *
 * ffmpeg does the expensive part in C: decode (without the deblocking filter, see fullDecode),
 * `select` (keep a frame when at least 0.95 of the analysis interval has passed since the last
 * kept one: every 3rd frame of 15 fps, every 5th of 25 fps, whatever the camera's rate),
 * `scale` with area averaging (which also averages sensor noise away), `format=gray` (the luma
 * plane only), and `showinfo`, which logs each frame's pts on stderr. Raw frames go to a pipe,
 * flushed per frame; frames and timestamps are paired here.
 *
 * Latency, measured on the simulator's live RTSP streams: ffmpeg 5.1 hands a frame to its output
 * only when the next frame has come out of the filter graph, so thinning in ffmpeg costs one
 * analysis interval (200 ms at 5 fps) on top of one source frame. Not the `fps` filter: it also
 * waits for the frame after each slot (~470 ms in all). `lowLatency` passes every decoded frame
 * and thins here instead (one source frame, 67 ms at 15 fps) for ~15% more CPU (bench/motion.ts).
 * Either way onsets stay well inside the 1 s the RTCC needs; the default is the cheaper one.
 *
 * Per-frame timestamps make the output independent of the camera's frame rate (variable-rate
 * cameras included): exact stream times for files, and for live streams WallClockMapper anchors
 * them to the wall clock.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ffmpegInfo } from '../../lib/ffmpeg.js';
import { redactText } from '../../lib/redact.js';

export interface FrameReaderOptions {
  /** rtsp://, a file path, or anything ffmpeg opens. May carry credentials: never logged raw. */
  input: string;
  fps: number;
  width: number;
  height: number;
  /** Options placed before -i (e.g. ['-f', 'h264', '-framerate', '15'] for a raw elementary stream). */
  inputArgs?: string[];
  /** Read the input at its native rate (-re), as a camera would deliver it. */
  nativeRate?: boolean;
  /** Restrict ffmpeg to one decoding and one filtering thread: many cameras share few cores. */
  singleThread?: boolean;
  /**
   * Pass every decoded frame and thin here (one source frame of latency) instead of thinning in
   * ffmpeg (one analysis interval of latency, less CPU). Default false; see the file comment.
   */
  lowLatency?: boolean;
  /**
   * Decode with H.264/HEVC's in-loop deblocking filter. Off by default (-skip_loop_filter all):
   * it smooths block edges that the 4x area downscale averages away anyway, and skipping it
   * saves ~20% of the decode, the bulk of the cost. The drift it lets into predicted frames
   * ends at the next keyframe; accuracy on the simulator's scenes is unchanged.
   */
  fullDecode?: boolean;
}

/**
 * The argument list, exported so the benchmark runs exactly the same decode as the detector.
 * `null` is the benchmark's baseline: the same decode thinned to the same rate inside ffmpeg
 * (select), output discarded: the least any pixel-motion pipeline has to pay.
 */
export function frameReaderArgs(
  o: FrameReaderOptions,
  ffmpegMajor: number,
  output: 'pipe' | 'null' = 'pipe',
): string[] {
  const isRtsp = /^rtsps?:\/\//i.test(o.input);
  const threads = o.singleThread === false ? [] : ['-threads', '1', '-filter_threads', '1'];
  const scale = [`scale=${o.width}:${o.height}:flags=area`, 'format=gray'];
  // The backslash escapes the comma from the filtergraph parser (no shell is involved).
  const select = `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${(0.95 / o.fps).toFixed(4)})`;
  const thin = output === 'null' || !o.lowLatency ? [select] : [];
  const chain = [...thin, ...scale, ...(output === 'pipe' ? ['showinfo=checksum=0'] : [])];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', output === 'pipe' ? 'info' : 'error'],
    // TCP interleaving: no lost packets (smeared frames look like motion); socket timeout 10 s.
    ...(isRtsp ? ['-rtsp_transport', 'tcp', '-timeout', '10000000'] : []),
    ...(o.nativeRate ? ['-re'] : []),
    ...threads,
    ...(o.fullDecode ? [] : ['-skip_loop_filter', 'all']),
    ...(o.inputArgs ?? []),
    ...['-i', o.input, '-an', '-sn', '-dn', '-vf', chain.join(',')],
    // Every frame as decoded: no duplication or dropping by ffmpeg's output frame-rate logic.
    ...(ffmpegMajor >= 5 ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    ...(output === 'pipe' ? ['-f', 'rawvideo', '-flush_packets', '1', 'pipe:1'] : ['-f', 'null', '-']),
  ];
}

export interface FrameReaderEvents {
  /**
   * A frame kept at the analysis rate. `index` counts kept frames from 0 in this ffmpeg run;
   * `ptsMs` is the frame's stream time (ms, the stream's own clock; the first need not be 0).
   * `frame` is only valid during the call (the buffer is reused): copy what you keep.
   */
  frame(index: number, ptsMs: number, frame: Uint8Array): void;
  /** ffmpeg ended: `error` is undefined for a clean end of input. */
  end(error: Error | undefined): void;
}

const PTS = /\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/;
/** Frames held while their pts line has not arrived; past this, showinfo is not working. */
const MAX_UNTIMED = 30;

/** One ffmpeg run. Call stop() to end it early; `end` fires exactly once either way. */
export class FrameReader {
  private child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  private stopping = false;

  constructor(
    private readonly opts: FrameReaderOptions,
    private readonly on: FrameReaderEvents,
  ) {}

  async start(): Promise<void> {
    const info = await ffmpegInfo();
    const size = this.opts.width * this.opts.height;
    const args = frameReaderArgs(this.opts, info.capabilities.major);
    const child = spawn(info.ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let index = 0;
    let tail: string[] = [];
    let partial = '';
    let ended = false;
    const finish = (err: Error | undefined) => {
      if (ended) return;
      ended = true;
      this.child = undefined;
      this.on.end(err);
    };
    // stdout (frames) and stderr (their pts) are separate pipes: pair them in order. The keep
    // or drop decision is made when the pts arrives (usually first, as ffmpeg logs before it
    // writes), so a dropped frame is never copied, and a kept one is handed over in place.
    const step = 1000 / this.opts.fps;
    let lastKept: number | undefined;
    const stamps: { pts: number; keep: boolean }[] = [];
    const untimed: Uint8Array[] = [];
    const stamp = (pts: number) => {
      // A pts going backwards (stream restart, clock jump) starts a new grid.
      const keep = lastKept === undefined || pts < lastKept || pts - lastKept >= 0.95 * step;
      if (keep) lastKept = pts;
      const frame = untimed.shift();
      if (!frame) stamps.push({ pts, keep });
      else if (keep) this.on.frame(index++, pts, frame);
    };
    const fill = new Uint8Array(size);
    let filled = 0;
    const complete = () => {
      const s = stamps.shift();
      if (s) {
        if (s.keep) this.on.frame(index++, s.pts, fill);
        return;
      }
      untimed.push(fill.slice());
      if (untimed.length > MAX_UNTIMED) {
        void this.stop();
        finish(new Error('ffmpeg gave frames without timestamps (showinfo output not understood)'));
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      for (let off = 0; off < chunk.length;) {
        const n = Math.min(size - filled, chunk.length - off);
        fill.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === size) {
          filled = 0;
          complete();
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = PTS.exec(line);
        if (m) stamp(Math.round(Number(m[1]) * 1000));
        else if (line.trim() && !line.includes('Parsed_showinfo')) tail = [...tail, line.trim()].slice(-3);
      }
    });
    child.on('error', (err) => finish(err));
    // A broken pipe surfaces as the child's exit; an unhandled stream error would end the agent.
    child.stdout.on('error', (err) => tail.push(`stdout: ${err.message}`));
    child.stderr.on('error', (err) => tail.push(`stderr: ${err.message}`));
    child.on('close', (code, signal) => {
      if (this.stopping || code === 0) return finish(undefined);
      // ffmpeg quotes the input URL in its errors: redact before anyone sees it.
      const detail = redactText(tail.join(' | ')) || 'no output';
      finish(new Error(`ffmpeg exited with ${code ?? signal}: ${detail}`));
    });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The ffmpeg process id while it runs (health, benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends ffmpeg (SIGTERM, then SIGKILL after 3 s) and resolves when it has exited. */
  stop(): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('close', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/**
 * Maps live stream time (a frame's pts) to the wall clock. A frame can only arrive after it was
 * captured, so `arrival - pts` is the capture clock's offset plus a latency that is never
 * negative; its minimum over the frames seen so far is the best estimate of the offset. The
 * first frames arrive late (ffmpeg probes the stream before emitting anything) and then in a
 * burst; the minimum makes their times right as soon as the burst catches up. A jump of the
 * stream clock (camera reboot, RTCP resynchronisation) shows as every frame arriving "early" or
 * much later than the estimate: after `resetAfterMs` of that, the estimate starts over.
 */
export class WallClockMapper {
  private offset = Infinity;
  private lateSince: number | undefined;

  constructor(private readonly resetAfterMs = 5000) {}

  /** Call with each frame's pts and its arrival time; returns the frame's wall-clock time. */
  map(ptsMs: number, arrivalMs: number): number {
    const o = arrivalMs - ptsMs;
    if (o < this.offset) {
      this.offset = o;
      this.lateSince = undefined;
    } else if (o - this.offset > this.resetAfterMs) {
      // Consistently far later than the estimate: the stream clock went back. Re-anchor.
      this.lateSince ??= arrivalMs;
      if (arrivalMs - this.lateSince > this.resetAfterMs) {
        this.offset = o;
        this.lateSince = undefined;
      }
    } else {
      this.lateSince = undefined;
    }
    return Math.round(this.offset + ptsMs);
  }

  reset(): void {
    this.offset = Infinity;
    this.lateSince = undefined;
  }
}
