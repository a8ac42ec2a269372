/**
 * Reconnect delays: exponential growth capped at a maximum, with "full jitter"
 * (a uniform draw in [0, cap]). Thousands of agents lose the same broker at the
 * same moment when it restarts; without jitter they would all reconnect in the
 * same instant and knock it over again (the thundering herd). A floor keeps a
 * flapping link from spinning.
 */
export interface BackoffOptions {
  /** First delay cap, in ms. */
  initialMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Smallest delay ever returned, in ms. */
  floorMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, factor: 2, floorMs: 100 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts as one failed attempt. */
  next(): number {
    const cap = Math.min(this.opts.maxMs, this.opts.initialMs * Math.pow(this.opts.factor, this.attempt));
    this.attempt = Math.min(this.attempt + 1, 64);
    return Math.max(this.opts.floorMs, Math.round(this.random() * cap));
  }

  /** A session came up: start small again next time. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
