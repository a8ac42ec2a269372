import { describe, expect, test } from 'vitest';
import { Backoff } from '../../agent/link/backoff.js';
import { TokenBucket } from '../../agent/link/rate-limit.js';
import { ManualClock } from '../../lib/clock.js';

describe('backoff', () => {
  test('grows exponentially to the cap, with full jitter, and resets after a session', () => {
    const opts = { initialMs: 1000, maxMs: 8000, factor: 2, floorMs: 100 };
    const top = new Backoff(opts, () => 1);
    expect([1, 2, 3, 4, 5].map(() => top.next())).toEqual([1000, 2000, 4000, 8000, 8000]);
    top.reset();
    expect(top.next()).toBe(1000);
    const bottom = new Backoff(opts, () => 0);
    expect(bottom.next()).toBe(100); // the floor: never a busy loop
    const mid = new Backoff(opts, () => 0.5);
    expect([mid.next(), mid.next()]).toEqual([500, 1000]);
  });
});

describe('token bucket', () => {
  test('allows a burst, then the sustained rate', () => {
    const clock = new ManualClock();
    const b = new TokenBucket(2, 3, clock);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    clock.advance(500);
    expect([b.take(), b.take()]).toEqual([true, false]);
    clock.advance(60_000);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});
