/**
 * Tells the outside world the agent is alive, judged by the agent itself rather
 * than by a PID: every interval it writes `<dataDir>/health.json` (atomically)
 * with its composed health, and, under systemd (NOTIFY_SOCKET set), sends
 * READY=1 once and WATCHDOG=1 while health is not `failed`.
 *
 * `camconnect agent health` (the Docker HEALTHCHECK) reads the file: a stale
 * file means a hung agent, which a PID check would call healthy.
 *
 * sd_notify goes through `systemd-notify`: Node's dgram cannot send to a unix
 * socket, and since systemd 246 systemd-notify waits until the message is read,
 * so a short-lived sender does not lose it (sd_notify(3)).
 */
import { execFile } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../lib/clock.js';
import type { Health, Service } from '../lib/lifecycle.js';
import type { Logger } from '../lib/log.js';

export const HEALTH_FILE = 'health.json';

export interface BeaconOptions {
  dataDir: string;
  health: () => Health;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

export class HealthBeacon implements Service {
  readonly name = 'health-beacon';
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  constructor(private readonly o: BeaconOptions) {}

  start(): Promise<void> {
    const env = this.o.env ?? process.env;
    const watchdogUs = Number(env['WATCHDOG_USEC'] ?? 0);
    // Ping at a third of the watchdog period (sd_watchdog_enabled(3) suggests half; a third
    // leaves room for a slow disk write in the same tick).
    const every = Math.min(this.o.intervalMs ?? 15_000, watchdogUs > 0 ? watchdogUs / 3000 : Infinity);
    this.notify('READY=1');
    void this.tick();
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.notify('STOPPING=1');
    await this.write({ state: 'stopped' });
  }

  health(): Health {
    return this.lastError ? { state: 'degraded', detail: this.lastError } : { state: 'ok' };
  }

  private async tick(): Promise<void> {
    const h = this.o.health();
    await this.write(h);
    if (h.state !== 'failed') this.notify('WATCHDOG=1');
  }

  private async write(h: Health): Promise<void> {
    const file = path.join(this.o.dataDir, HEALTH_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ at: this.o.clock.now(), pid: process.pid, health: h }) + '\n');
      await rename(tmp, file);
      this.lastError = undefined;
    } catch (err) {
      // A full or read-only disk must not stop the agent; the stale file then tells the probe.
      this.lastError = `cannot write ${HEALTH_FILE}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      this.o.log.warn('health beacon write failed', { err: this.lastError });
    }
  }

  private notify(msg: string): void {
    const env = this.o.env ?? process.env;
    if (!env['NOTIFY_SOCKET']) return;
    execFile('systemd-notify', [`--pid=${process.pid}`, msg], (err) => {
      if (err) this.o.log.warn('systemd-notify failed', { msg, err: err.message });
    });
  }
}

export interface HealthFileVerdict {
  ok: boolean;
  reason: string;
}

/** The probe's verdict on a health file's content: fresh and not failed. Pure. */
export function judgeHealthFile(text: string | undefined, now: number, maxAgeMs: number): HealthFileVerdict {
  if (text === undefined) return { ok: false, reason: 'no health file: the agent is not running' };
  let doc: { at?: unknown; health?: { state?: unknown; detail?: unknown } };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return { ok: false, reason: 'health file is not valid JSON' };
  }
  if (typeof doc.at !== 'number') return { ok: false, reason: 'health file has no time' };
  const age = now - doc.at;
  if (age > maxAgeMs) return { ok: false, reason: `agent health is stale (${Math.round(age / 1000)} s old)` };
  const state = typeof doc.health?.state === 'string' ? doc.health.state : 'unknown';
  const detail = typeof doc.health?.detail === 'string' ? `: ${doc.health.detail}` : '';
  if (state === 'failed' || state === 'stopped') return { ok: false, reason: `agent is ${state}${detail}` };
  return { ok: true, reason: `agent is ${state}${detail}` };
}
