/**
 * Wall-clock times for segments, from stream timestamps anchored to the
 * system clock.
 *
 * ffmpeg reports each finished segment's end in stream time (seconds from the
 * first packet, from the camera's RTP media clock). Per ffmpeg run we keep the
 * monotonic instant that corresponds to stream time 0 ("zero"), learnt from
 * when segment lines arrive: zero = mono_at_arrival - end. Arrival is always
 * a little late (muxing, pipe), never early, so the smallest candidate seen is
 * the best estimate (a lower envelope). Then:
 *   - the camera's wall clock (its OSD, its RTCP sender reports) is never used,
 *     so a camera clock jump cannot move our timestamps;
 *   - a camera whose media clock runs slow would let the envelope drift, so
 *     when every one of the last few candidates is more than `maxLagMs` late
 *     the anchor moves forward (a single late one is a busy machine, not drift);
 *   - arrival is read when ffmpeg's line arrives, before the queue and the
 *     hashing, so a slow disk does not look like a late stream;
 *   - a jump in stream time (camera restarted its RTP clock, ffmpeg carried
 *     the discontinuity) shows up as a candidate far off in either direction:
 *     we re-anchor on it instead of trusting the broken timeline;
 *   - monotonic -> wall uses the system clock's current offset, so an NTP step
 *     moves later segments with the system clock (the system clock is the
 *     authority), while a stalled or bursty pipe cannot.
 */
import type { Clock } from '../../lib/clock.js';

export interface AnchorOptions {
  /** A later-arriving candidate beyond this lag re-anchors (slow camera clock, burst). */
  maxLagMs?: number;
  /** A candidate this far off in either direction is a timeline jump. */
  jumpMs?: number;
}

export interface SegmentTimes {
  start: number;
  end: number;
  /** True when this segment made the anchor jump (its start is then end - duration). */
  reanchored: boolean;
}

export interface Arrival {
  mono: number;
  /** wall - monotonic at that moment. */
  wallOffset: number;
}

/** Arrivals considered before a persistent lag moves the anchor forward. */
const LAG_WINDOW = 5;

export class StreamAnchor {
  private zero: number | undefined;
  private recent: number[] = [];
  private readonly maxLag: number;
  private readonly jump: number;

  constructor(
    private readonly clock: Clock,
    opts: AnchorOptions = {},
  ) {
    this.maxLag = opts.maxLagMs ?? 3000;
    this.jump = opts.jumpMs ?? 30_000;
  }

  /** The clock read when a segment line arrived: pass it to observe() after slow work (hashing). */
  arrival(): Arrival {
    const mono = this.clock.monotonic();
    return { mono, wallOffset: this.clock.now() - mono };
  }

  /**
   * A segment ending at stream time `endSec` was reported at `at` (default:
   * now); `durationMs` is its measured media duration. Returns its wall-clock
   * start and end.
   */
  observe(endSec: number, durationMs: number, at: Arrival = this.arrival()): SegmentTimes {
    const candidate = at.mono - endSec * 1000;
    this.recent.push(candidate);
    if (this.recent.length > LAG_WINDOW) this.recent.shift();
    let reanchored = false;
    if (this.zero === undefined || Math.abs(candidate - this.zero) > this.jump) {
      reanchored = this.zero !== undefined;
      this.zero = candidate;
      this.recent = [candidate];
    } else if (candidate < this.zero) {
      this.zero = candidate;
    } else if (this.recent.length === LAG_WINDOW) {
      // Only a lag that persists over the window (a slow camera clock) moves the anchor
      // forward; one late line (a busy machine) must not open a hole between segments.
      const floor = Math.min(...this.recent);
      if (floor - this.zero > this.maxLag) this.zero = floor - this.maxLag;
    }
    const end = Math.round(at.wallOffset + this.zero + endSec * 1000);
    return { start: Math.round(end - Math.max(0, durationMs)), end, reanchored };
  }

  /** Wall time of stream second `sec` under the current anchor (undefined before the first segment). */
  wallAt(sec: number): number | undefined {
    if (this.zero === undefined) return undefined;
    return Math.round(this.clock.now() - this.clock.monotonic() + this.zero + sec * 1000);
  }
}
