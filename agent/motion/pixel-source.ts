/**
 * On-box pixel motion for one camera: FrameReader (ffmpeg) -> PixelMotionDetector -> EpisodeTracker.
 *
 * Live (`live: true`, the default): frames get wall-clock times from WallClockMapper; a dropped
 * or stalled stream restarts ffmpeg with exponential backoff, and a timer keeps closing quiet
 * episodes while no frames arrive. Replay (`live: false`, a file): frames get stream times from
 * `baseTimeMs` and the run ends with the input; `done` resolves then. Replay is what makes the
 * accuracy test deterministic: same file, same frames, same episodes, at any machine speed.
 */
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import { redactText } from '../../lib/redact.js';
import { EpisodeTracker, type EpisodeOptions } from './episodes.js';
import { FrameReader, WallClockMapper } from './frames.js';
import { DEFAULT_PIXEL_OPTIONS, PixelMotionDetector, type PixelDetectorOptions } from './pixel-detector.js';
import { guardedSink, type MotionSink } from './types.js';

export interface PixelMotionOptions {
  cameraId: string;
  /** The sub-stream URL (or a file). May carry credentials; never logged unredacted. */
  input: string;
  /** Analysis rate. 5 fps: a walking person moves a few pixels per frame at 160x90. */
  fps?: number;
  width?: number;
  height?: number;
  live?: boolean;
  /** Replay only: epoch ms of the input's first frame. */
  baseTimeMs?: number;
  inputArgs?: string[];
  nativeRate?: boolean;
  /** Thin frames in Node, not ffmpeg: ~130 ms less latency, more CPU (see frames.ts). */
  lowLatency?: boolean;
  detector?: Partial<Omit<PixelDetectorOptions, 'width' | 'height'>>;
  episodes?: Partial<EpisodeOptions>;
  /** Live: restart ffmpeg when no frame came for this long. */
  stallMs?: number;
  sink: MotionSink;
  clock?: Clock;
  log?: Logger;
  /** Called with each frame's verdict (tests, tuning, the CLI's --verbose). */
  onVerdict?: (t: number, score: number, motion: boolean, skipped?: string) => void;
}

const BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];

export class PixelMotionSource implements Service {
  readonly name: string;
  private readonly fps: number;
  private readonly width: number;
  private readonly height: number;
  private readonly live: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly detector: PixelMotionDetector;
  private readonly tracker: EpisodeTracker;
  private readonly mapper: WallClockMapper;
  private reader: FrameReader | undefined;
  private stopped = true;
  private failures = 0;
  private lastFrameAt = 0;
  private frames = 0;
  private timer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private state: Health = { state: 'stopped' };
  private resolveDone: (() => void) | undefined;
  /** Replay: resolves when the input has been read to its end (or stop() was called). */
  readonly done: Promise<void>;

  constructor(private readonly opts: PixelMotionOptions) {
    this.name = `motion-pixel:${opts.cameraId}`;
    this.fps = opts.fps ?? 5;
    this.width = opts.width ?? 160;
    this.height = opts.height ?? 90;
    this.live = opts.live ?? true;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger).child({ camera: opts.cameraId, part: 'pixel-motion' });
    this.detector = new PixelMotionDetector({
      width: this.width,
      height: this.height,
      ...DEFAULT_PIXEL_OPTIONS,
      ...opts.detector,
    });
    const sink = guardedSink(opts.sink, (err) =>
      this.log.error('motion sink failed', { error: String(err) }),
    );
    this.tracker = new EpisodeTracker(opts.cameraId, 'pixel', sink, opts.episodes);
    this.mapper = new WallClockMapper();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.stopped = false;
    this.state = { state: 'starting' };
    this.spawn();
    if (this.live) {
      // Closes quiet episodes and catches a stalled stream even when no frame arrives.
      this.timer = setInterval(() => this.onTimer(), 500);
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.restartTimer);
    await this.reader?.stop();
    this.tracker.close('shutdown');
    this.state = { state: 'stopped' };
    this.resolveDone?.();
  }

  health(): Health {
    const pid = this.reader?.pid;
    return { ...this.state, frames: this.frames, ...(pid ? { pid } : {}) };
  }

  private spawn(): void {
    this.detector.reset();
    this.mapper.reset();
    this.lastFrameAt = this.clock.monotonic();
    const base = this.opts.baseTimeMs ?? 0;
    let firstPts = 0;
    this.reader = new FrameReader(
      {
        input: this.opts.input,
        fps: this.fps,
        width: this.width,
        height: this.height,
        inputArgs: this.opts.inputArgs,
        nativeRate: this.opts.nativeRate,
        lowLatency: this.opts.lowLatency,
      },
      {
        frame: (index, ptsMs, frame) => {
          this.frames++;
          this.lastFrameAt = this.clock.monotonic();
          if (this.state.state !== 'ok') this.state = { state: 'ok' };
          this.failures = 0;
          if (index === 0) firstPts = ptsMs;
          const t = this.live ? this.mapper.map(ptsMs, this.clock.now()) : base + ptsMs - firstPts;
          const v = this.detector.push(frame);
          this.opts.onVerdict?.(t, v.score, v.motion, v.skipped);
          this.tracker.observe(t, v.motion, v.score, v.bbox);
        },
        end: (err) => this.onEnd(err),
      },
    );
    this.reader
      .start()
      .catch((err: unknown) => this.onEnd(err instanceof Error ? err : new Error(String(err))));
  }

  private onEnd(err: Error | undefined): void {
    this.reader = undefined;
    if (this.stopped) return;
    if (!this.live) {
      if (err) this.log.warn('motion replay failed', { error: err.message });
      this.state = err ? { state: 'failed', detail: redactText(err.message) } : { state: 'stopped' };
      this.tracker.close('shutdown');
      this.stopped = true;
      this.resolveDone?.();
      return;
    }
    // A live stream never ends on its own: a clean exit is a lost stream too.
    this.tracker.close('shutdown');
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    this.failures++;
    const detail = redactText(err?.message ?? 'stream ended');
    this.state = { state: 'degraded', detail: `sub-stream lost, retrying in ${delay} ms: ${detail}` };
    this.log.warn('sub-stream lost; restarting', { error: detail, retryMs: delay });
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.spawn();
    }, delay);
  }

  private onTimer(): void {
    if (this.stopped) return;
    this.tracker.tick(this.clock.now());
    const silentMs = this.clock.monotonic() - this.lastFrameAt;
    if (this.reader?.running && silentMs > (this.opts.stallMs ?? 15_000)) {
      this.log.warn('sub-stream stalled; restarting', { silentMs: Math.round(silentMs) });
      // stop() makes the run end cleanly; onEnd then schedules the restart.
      void this.reader.stop();
    }
  }
}
