/**
 * Is the wall clock synchronised? Evidence timestamps are only as good as the
 * clock, and an appliance without an RTC boots in 1970.
 *
 * Cheap by design: `timedatectl` costs a process spawn and a D-Bus round trip
 * per report, so we only stat marker files the time daemons maintain:
 * systemd-timesyncd touches /run/systemd/timesync/synchronized once synced
 * (timesyncd(8)); chronyd and ntpd keep a drift file. The answer changes
 * rarely, so it is cached for `ttlMs`.
 */
import { stat } from 'node:fs/promises';
import type { ClockHealth } from '../../protocol/schemas/health.js';
import type { Clock } from '../../lib/clock.js';
import type { ClockSyncSource } from './sources.js';

export interface ClockSyncOptions {
  clock: Clock;
  ttlMs?: number;
  markers?: { file: string; source: string }[];
}

const DEFAULT_MARKERS = [
  { file: '/run/systemd/timesync/synchronized', source: 'ntp' },
  { file: '/var/lib/chrony/chrony.drift', source: 'ntp' },
  { file: '/var/lib/ntp/ntp.drift', source: 'ntp' },
];

export class MarkerClockSync implements ClockSyncSource {
  private cached: { at: number; value: ClockHealth } | undefined;

  constructor(private readonly opts: ClockSyncOptions) {}

  async clockHealth(): Promise<ClockHealth> {
    const now = this.opts.clock.monotonic();
    if (this.cached && now - this.cached.at < (this.opts.ttlMs ?? 300_000)) return this.cached.value;
    let value: ClockHealth = { synced: false, source: 'none' };
    for (const m of this.opts.markers ?? DEFAULT_MARKERS) {
      try {
        await stat(m.file);
        value = { synced: true, source: m.source };
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.cached = { at: now, value };
    return value;
  }
}
