/**
 * Upload pacing: a token bucket on the bytes of the request bodies (one bucket for the whole
 * agent, shared by parallel uploads, so the cap is the agent's total), and a semaphore that
 * bounds how many packages upload at once.
 *
 * Why a token bucket on the body stream and not on the socket: the body is what the agent
 * controls. Pulling the next piece of the file only after its tokens are granted keeps the
 * sending rate at the cap with at most one burst in the kernel's buffers, and lets the
 * recorder's disk writes and the link's MQTT traffic through. Takers are served in arrival
 * order, so parallel uploads share the cap fairly.
 */
import type { Clock } from '../../lib/clock.js';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class ByteBucket {
  /** Tokens (bytes) available; negative while takers are waiting out a debt. */
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();
  /** Largest piece handed out at once; callers split bigger chunks. */
  readonly burst: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Pick<Clock, 'monotonic'>,
    burst?: number,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError('bytesPerSecond must be positive');
    // A tenth of a second of data, at least 16 KiB: smooth enough, few timer wake-ups.
    this.burst = Math.max(1, Math.floor(burst ?? Math.max(16 * 1024, bytesPerSecond / 10)));
    this.tokens = this.burst;
    this.last = clock.monotonic();
  }

  /**
   * Takes n tokens now (n <= burst) and returns how long the caller must wait before sending
   * them (0 when they were available). Pure bookkeeping: testable with a manual clock.
   */
  reserve(n: number): number {
    const now = this.clock.monotonic();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
  }

  /** Waits until n bytes may be sent; takers are served in arrival order. */
  take(n: number, signal?: AbortSignal): Promise<void> {
    const run = async () => {
      signal?.throwIfAborted();
      const wait = this.reserve(n);
      if (wait > 0) await sleep(wait, signal);
    };
    const p = this.tail.then(run);
    // An aborted taker must not hold up the others.
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/** Yields the chunks of `source`, each piece only once the bucket allows it. */
export async function* paced(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  bucket: ByteBucket | undefined,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (!bucket) {
      yield chunk;
      continue;
    }
    for (let i = 0; i < chunk.length; i += bucket.burst) {
      const piece = chunk.subarray(i, i + bucket.burst);
      await bucket.take(piece.length, signal);
      yield piece;
    }
  }
}

/** At most `limit` holders at once; waiters are admitted in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('limit must be at least 1');
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason as Error);
      };
      if (signal?.aborted) return reject(signal.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}
