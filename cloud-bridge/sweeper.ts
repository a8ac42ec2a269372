/**
 * Periodic housekeeping: mark devices whose health went stale offline, thin health history.
 * Both are idempotent statements, so every bridge instance runs them without coordination.
 */
import type { Clock } from '../lib/clock.js';
import type { Health, Service } from '../lib/lifecycle.js';
import type { Logger } from '../lib/log.js';
import type { Db } from './db/db.js';
import type { BridgeMetrics } from './metrics.js';
import { markStale, thinHealthHistory } from './registry/ingest-store.js';

export class Sweeper implements Service {
  readonly name = 'sweeper';
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly staleMs: number,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
    private readonly everyMs = 10_000,
  ) {}

  /** One pass; exposed for tests (with a ManualClock) and called by the timer. */
  async sweep(): Promise<number> {
    const n = await markStale(this.db, this.clock.now(), this.staleMs);
    if (n > 0) this.log.info('devices went offline (health stale)', { count: n });
    const rows = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM devices WHERE status = 'online'`,
    );
    this.metrics.devicesOnline.set(rows[0]?.n ?? 0);
    return n;
  }

  start(): Promise<void> {
    const guard = (what: string, fn: () => Promise<unknown>) => () => {
      this.running = this.running
        .then(fn)
        .catch((err: unknown) => this.log.warn(`${what} failed`, { error: (err as Error).message }));
    };
    this.timers.push(
      setInterval(
        guard('stale sweep', () => this.sweep()),
        this.everyMs,
      ),
    );
    this.timers.push(
      setInterval(
        guard('health thinning', () => thinHealthHistory(this.db, this.clock.now())),
        3600_000,
      ),
    );
    for (const t of this.timers) t.unref();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }

  health(): Health {
    return { state: this.timers.length > 0 ? 'ok' : 'stopped' };
  }
}
