/**
 * Turns per-frame verdicts into motion episodes: debouncing at the start, a quiet period at the
 * end, padding on both sides, a cap on length.
 *
 * - Start: an episode opens when `confirmFrames` active frames fall within `confirmWindowMs`.
 *   One flickering frame (a bird, a compression burst) opens nothing. The episode's start is
 *   the first of those frames, not the moment of confirmation, so debouncing costs no onset
 *   accuracy, only a little reporting latency (one frame at 5 fps).
 * - End: the episode closes after `quietMs` without an active frame. Motion that pauses for less
 *   (a person stopping at a door) stays one episode. `endedAt` is just after the last active
 *   frame; the quiet period delays the report, not the recorded end.
 * - Padding: `paddedFrom = startedAt - preMs` and `paddedTo = endedAt + postMs`, the window to
 *   keep and tag in the recording.
 * - Cap: an episode longer than `maxEpisodeMs` (a tree in the wind all afternoon) closes with
 *   reason `timeout`, and a new one opens at the next active frame, so the RTCC keeps seeing
 *   fresh episodes instead of one that never ends.
 *
 * Time comes from the frames (stream timestamps), never from a clock: replaying a file faster
 * than real time gives the same episodes as watching it live.
 */
import { randomUUID } from 'node:crypto';
import type { BBox, EndReason, MotionEpisode, MotionSink, MotionSourceKind, OpenEpisode } from './types.js';
import { unionBox } from './types.js';

export interface EpisodeOptions {
  confirmFrames: number;
  confirmWindowMs: number;
  quietMs: number;
  preMs: number;
  postMs: number;
  maxEpisodeMs: number;
}

export const DEFAULT_EPISODE_OPTIONS: EpisodeOptions = {
  confirmFrames: 2,
  confirmWindowMs: 1000,
  quietMs: 2000,
  preMs: 5000,
  postMs: 5000,
  maxEpisodeMs: 5 * 60_000,
};

export function newEpisodeId(): string {
  return randomUUID();
}

/** Builds the closed form of an episode (shared with the ONVIF event source). */
export function closeEpisode(
  open: OpenEpisode,
  endedAt: number,
  reason: EndReason,
  postMs: number,
): MotionEpisode {
  const end = Math.max(endedAt, open.startedAt);
  return { ...open, endedAt: end, endReason: reason, paddedTo: end + postMs };
}

export class EpisodeTracker {
  private readonly opts: EpisodeOptions;
  /** Recent active frames not yet part of an episode: candidates for a start. */
  private pending: { t: number; score: number; bbox?: BBox }[] = [];
  private current: OpenEpisode | undefined;
  private lastActive = 0;
  private lastFrame: number | undefined;
  private frameGap = 0;

  constructor(
    private readonly cameraId: string,
    private readonly source: MotionSourceKind,
    private readonly sink: MotionSink,
    opts: Partial<EpisodeOptions> = {},
    private readonly newId: () => string = newEpisodeId,
  ) {
    this.opts = { ...DEFAULT_EPISODE_OPTIONS, ...opts };
  }

  get open(): OpenEpisode | undefined {
    return this.current;
  }

  /** One frame at stream time `t` (epoch ms). Frames must come in time order. */
  observe(t: number, active: boolean, score: number, bbox?: BBox): void {
    if (this.lastFrame !== undefined && t > this.lastFrame) this.frameGap = t - this.lastFrame;
    this.lastFrame = t;
    this.tick(t);
    if (!active) return;

    if (this.current) {
      this.lastActive = t;
      this.current.peakScore = Math.max(this.current.peakScore, score);
      this.current.bbox = unionBox(this.current.bbox, bbox);
      return;
    }
    this.pending.push({ t, score, bbox });
    this.pending = this.pending.filter((p) => t - p.t <= this.opts.confirmWindowMs);
    if (this.pending.length < this.opts.confirmFrames) return;

    const first = this.pending[0]!;
    let peak = 0;
    let box: BBox | undefined;
    for (const p of this.pending) {
      peak = Math.max(peak, p.score);
      box = unionBox(box, p.bbox);
    }
    this.pending = [];
    this.lastActive = t;
    this.current = {
      episodeId: this.newId(),
      cameraId: this.cameraId,
      source: this.source,
      startedAt: first.t,
      peakScore: Math.min(1, peak),
      ...(box ? { bbox: box } : {}),
      paddedFrom: first.t - this.opts.preMs,
    };
    this.sink.episodeStarted({ ...this.current });
  }

  /** Time passes (also without frames, e.g. a stalled stream): closes quiet or overlong episodes. */
  tick(t: number): void {
    const cur = this.current;
    if (!cur) return;
    if (t - this.lastActive >= this.opts.quietMs) {
      this.finish(this.lastActive + this.frameGap, 'quiet');
    } else if (t - cur.startedAt >= this.opts.maxEpisodeMs) {
      this.finish(t, 'timeout');
    }
  }

  /** The source stops (shutdown, stream lost): an open episode ends at the last activity. */
  close(reason: EndReason = 'shutdown'): void {
    this.pending = [];
    if (this.current) this.finish(this.lastActive + this.frameGap, reason);
  }

  private finish(endedAt: number, reason: EndReason): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    this.sink.episodeEnded(closeEpisode(cur, endedAt, reason, this.opts.postMs));
  }
}
