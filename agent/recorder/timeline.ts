/**
 * Pure queries over one camera's sorted segments: which segments overlap a
 * window, and what is covered or missing there (with the recorded cause).
 */
import type { Coverage, Gap, GapCause, Interval, Segment } from './types.js';

/** Holes shorter than this between two segments are not gaps (RTP/segment rounding). */
export const GAP_TOLERANCE_MS = 1000;

/** Index of the first segment whose start is >= t (segments sorted by start). */
function lowerBound(segs: readonly Segment[], t: number): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid]!.start < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Segments overlapping [from, to), oldest first. */
export function overlapping(segs: readonly Segment[], from: number, to: number): Segment[] {
  let i = lowerBound(segs, from);
  // Step back over segments that start before `from` but reach into the window.
  while (i > 0 && segs[i - 1]!.end > from) i--;
  const out: Segment[] = [];
  for (; i < segs.length && segs[i]!.start < to; i++) {
    const s = segs[i]!;
    if (s.end > from) out.push(s);
  }
  return out;
}

export interface OpenGap {
  from: number;
  cause: GapCause;
  detail?: string;
}

export interface CoverageContext {
  /** Gaps recorded in the journal (with causes). */
  gaps: readonly Gap[];
  /** The gap open right now (camera down), if any; it extends to `now`. */
  open?: OpenGap;
  now: number;
  toleranceMs?: number;
}

function causeFor(
  hole: Interval,
  ctx: CoverageContext,
  oldest: number | undefined,
): Pick<Gap, 'cause' | 'detail'> {
  let best: Gap | undefined;
  let bestOverlap = 0;
  const candidates: Gap[] = [...ctx.gaps];
  if (ctx.open)
    candidates.push({ from: ctx.open.from, to: ctx.now, cause: ctx.open.cause, detail: ctx.open.detail });
  for (const g of candidates) {
    const ov = Math.min(g.to, hole.to) - Math.max(g.from, hole.from);
    if (ov > bestOverlap) {
      best = g;
      bestOverlap = ov;
    }
  }
  if (best) return best.detail ? { cause: best.cause, detail: best.detail } : { cause: best.cause };
  if (oldest === undefined || hole.to <= oldest)
    return { cause: 'unknown', detail: 'before the oldest footage (evicted or never recorded)' };
  return { cause: 'unknown', detail: 'no record of why' };
}

/** Covered intervals and gaps of [from, to) for one camera. */
export function coverage(
  camera: string,
  segs: readonly Segment[],
  from: number,
  to: number,
  ctx: CoverageContext,
): Coverage {
  const tol = ctx.toleranceMs ?? GAP_TOLERANCE_MS;
  const covered: Interval[] = [];
  for (const s of overlapping(segs, from, to)) {
    const a = Math.max(s.start, from);
    const b = Math.min(s.end, to);
    const last = covered[covered.length - 1];
    if (last && a - last.to <= tol) last.to = Math.max(last.to, b);
    else covered.push({ from: a, to: b });
  }
  const oldest = segs[0]?.start;
  const gaps: Gap[] = [];
  let cursor = from;
  // The future is not a gap: a window reaching past `now` is judged up to now.
  const horizon = Math.min(to, Math.max(from, ctx.now));
  for (const c of [...covered, { from: horizon, to: horizon }]) {
    const holeEnd = Math.min(c.from, horizon);
    if (holeEnd - cursor > tol) {
      const hole = { from: cursor, to: holeEnd };
      gaps.push({ ...hole, ...causeFor(hole, ctx, oldest) });
    }
    cursor = Math.max(cursor, c.to);
  }
  const coveredMs = covered.reduce((n, c) => n + (c.to - c.from), 0);
  return { camera, from, to, covered, gaps, ratio: to > from ? coveredMs / (to - from) : 0 };
}
