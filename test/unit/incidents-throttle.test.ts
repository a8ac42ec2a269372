import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { ByteBucket, Semaphore, paced } from '../../agent/incidents/throttle.js';

describe('upload pacing', () => {
  it('grants a burst at once, then makes takers wait out the rate', () => {
    const clock = new ManualClock(0, 0);
    const bucket = new ByteBucket(100_000, clock, 10_000);
    expect(bucket.reserve(10_000)).toBe(0);
    // The next 10 kB must wait 0.1 s at 100 kB/s; a further 10 kB another 0.1 s.
    expect(bucket.reserve(10_000)).toBeCloseTo(100, 5);
    expect(bucket.reserve(10_000)).toBeCloseTo(200, 5);
    clock.advance(200);
    // After the waits the debt is paid: the bucket is empty, not in credit.
    expect(bucket.reserve(5_000)).toBeCloseTo(50, 5);
    clock.advance(1_000);
    // Idle time refills at most one burst.
    expect(bucket.reserve(10_000)).toBe(0);
    expect(bucket.reserve(1_000)).toBeCloseTo(10, 5);
  });

  it('splits chunks larger than the burst', async () => {
    const bucket = new ByteBucket(1e12, new ManualClock(0, 0), 4);
    const src = () => [Buffer.from('0123456789')];
    const out: string[] = [];
    for await (const piece of paced(src(), bucket)) out.push(piece.toString());
    expect(out).toEqual(['0123', '4567', '89']);
  });

  it('passes chunks through untouched without a cap', async () => {
    const src = () => [Buffer.from('abc'), Buffer.from('def')];
    const out: string[] = [];
    for await (const piece of paced(src(), undefined)) out.push(piece.toString());
    expect(out).toEqual(['abc', 'def']);
  });

  it('admits at most `limit` holders, in arrival order', async () => {
    const sem = new Semaphore(2);
    const order: string[] = [];
    const gates = new Map<string, () => void>();
    const job = (name: string) =>
      sem.run(async () => {
        order.push(`start ${name}`);
        await new Promise<void>((r) => gates.set(name, r));
        order.push(`end ${name}`);
      });
    const all = ['a', 'b', 'c', 'd'].map(job);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a', 'start b']);
    gates.get('b')!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a', 'start b', 'end b', 'start c']);
    gates.get('a')!();
    await new Promise((r) => setImmediate(r));
    gates.get('c')!();
    await new Promise((r) => setImmediate(r));
    gates.get('d')!();
    await Promise.all(all);
    expect(order.filter((x) => x.startsWith('start'))).toEqual(['start a', 'start b', 'start c', 'start d']);
  });

  it('lets an aborted waiter leave the queue', async () => {
    const sem = new Semaphore(1);
    let release: () => void = () => undefined;
    const holder = sem.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const waiter = sem.run(() => Promise.resolve('ran'), ac.signal);
    ac.abort(new Error('gone'));
    await expect(waiter).rejects.toThrow('gone');
    release();
    await holder;
    expect(await sem.run(() => Promise.resolve('next'))).toBe('next');
  });
});
