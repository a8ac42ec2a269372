/**
 * The server's one frame clock. Ticks fall on a fixed grid, origin + k *
 * period, computed afresh from the clock at every tick: a late timer makes
 * one late tick, never a drift, and a clock step just moves to the grid
 * point after the new time. (setInterval would accumulate its own lateness.)
 *
 * The ticker runs only while the callback says there is work (some session
 * is playing), so an idle server costs no wake-ups.
 */
import type { Clock } from '../../lib/clock.js';

export class FrameTicker {
  private timer: NodeJS.Timeout | undefined;
  private origin = 0;
  private period = 1000 / 15;

  /** `onTick(now)` returns whether to keep ticking. */
  constructor(
    private readonly clock: Clock,
    private readonly onTick: (nowMs: number) => boolean,
  ) {}

  /** Aligns ticks to a frame grid: origin (wall ms) and period (ms). */
  setGrid(originMs: number, periodMs: number): void {
    this.origin = originMs;
    this.period = periodMs;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts ticking if not already (idempotent). */
  ensureRunning(): void {
    if (!this.timer) this.schedule();
  }

  private schedule(): void {
    const now = this.clock.now();
    const k = Math.floor((now - this.origin) / this.period) + 1;
    const at = this.origin + k * this.period;
    this.timer = setTimeout(this.fire, Math.max(0, at - now));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (this.onTick(this.clock.now())) this.schedule();
  };

  /** Cancels the pending tick; ensureRunning() starts again. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
