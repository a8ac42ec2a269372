/**
 * Restart policy for a camera's ffmpeg (pure; randomness passed in).
 *
 * Exponential backoff with "equal jitter" (half fixed, half random) so that
 * 16 cameras behind one failed switch do not reconnect in lockstep, reset as
 * soon as a run delivers a segment. After `crashLoopAfter` failed runs in a
 * row without a segment the camera is "degraded": we keep retrying at the
 * maximum delay (a camera may come back) but stop spinning and say so.
 */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  crashLoopAfter?: number;
}

export class Backoff {
  private failures = 0;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly crashLoopAfter: number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 1000;
    this.maxMs = opts.maxMs ?? 30_000;
    this.crashLoopAfter = opts.crashLoopAfter ?? 5;
  }

  /** A run ended without progress; returns the delay before the next attempt. */
  failed(random: number = Math.random()): number {
    this.failures++;
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(exp / 2 + (exp / 2) * Math.min(1, Math.max(0, random)));
  }

  /** Segments flow again: forget past failures. */
  progressed(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get degraded(): boolean {
    return this.failures >= this.crashLoopAfter;
  }
}

/** Stall threshold: no new segment within twice the segment length plus grace. */
export function stallAfterMs(segmentSeconds: number, graceMs: number): number {
  return 2 * segmentSeconds * 1000 + graceMs;
}
