/**
 * The contract every long-running part honours. Constructors do nothing:
 * all I/O starts in start(), so a composition root decides the order and
 * can stop parts in reverse when one of them fails to start.
 */
export type HealthState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

export interface Health {
  state: HealthState;
  /** Human-readable reason when not ok. Never contains secrets. */
  detail?: string;
  [key: string]: unknown;
}

export interface Service {
  readonly name: string;
  /** Resolves when the part is up. The signal aborts a slow start. */
  start(signal: AbortSignal): Promise<void>;
  /** Idempotent; resolves when every resource is released. */
  stop(): Promise<void>;
  health(): Health;
}

/**
 * Starts services in order and stops them in reverse. If one fails to start,
 * the ones already started are stopped (reverse order) and the error rethrown.
 */
export class Composition implements Service {
  readonly name = 'composition';
  private started: Service[] = [];

  constructor(private readonly parts: readonly Service[]) {}

  async start(signal: AbortSignal): Promise<void> {
    for (const part of this.parts) {
      signal.throwIfAborted();
      try {
        await part.start(signal);
      } catch (err) {
        await this.stop();
        throw err;
      }
      this.started.push(part);
    }
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const part of this.started.reverse()) {
      try {
        await part.stop();
      } catch (err) {
        errors.push(err);
      }
    }
    this.started = [];
    if (errors.length > 0) throw new AggregateError(errors, 'some parts failed to stop cleanly');
  }

  health(): Health {
    const parts = Object.fromEntries(this.parts.map((p) => [p.name, p.health()]));
    const states = Object.values(parts).map((h) => h.state);
    const state: Health['state'] = states.includes('failed')
      ? 'failed'
      : states.includes('degraded')
        ? 'degraded'
        : states.every((s) => s === 'ok')
          ? 'ok'
          : (states[0] ?? 'stopped');
    return { state, parts };
  }
}
