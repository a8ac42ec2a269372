/** Injected everywhere time matters, so decisions are testable without sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock). */
  now(): number;
  /** Monotonic milliseconds, for measuring intervals; immune to clock jumps. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A hand-driven clock for unit tests of pure decisions. */
export class ManualClock implements Clock {
  constructor(
    private wall = 0,
    private mono = 0,
  ) {}
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
  /** A wall-clock jump (NTP step, camera clock reset) that monotonic time does not see. */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}
