import type { Clock } from '../../lib/clock.js';

/**
 * A token bucket on monotonic time: `burst` requests at once, then `perSecond`
 * sustained. Used on inbound `requests` so a misbehaving (or compromised)
 * bridge cannot make the agent spend its CPU on signature checks while it
 * should be recording.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.monotonic();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock.monotonic();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
