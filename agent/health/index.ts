/**
 * Health for the composition root: a collector over the system, the clock and
 * whatever adapts the recorder and cameras to CameraHealthSource.
 */
import type { Clock } from '../../lib/clock.js';
import { MarkerClockSync } from './clock-sync.js';
import { HealthCollector } from './collector.js';
import { noCameras, type CameraHealthSource, type ClockSyncSource } from './sources.js';
import { SystemSampler } from './system.js';

export { HealthCollector, toCameraHealth, type CollectionCost } from './collector.js';
export { SystemSampler } from './system.js';
export { MarkerClockSync } from './clock-sync.js';
export type { CameraHealthSource, CameraStatus, ClockSyncSource } from './sources.js';
export { noCameras } from './sources.js';

export interface HealthOptions {
  clock: Clock;
  agentVersion: string;
  /** Any path on the recording volume (its usage is reported). */
  recordingsPath: string;
  cameras?: CameraHealthSource;
  clockSync?: ClockSyncSource;
}

export function createHealthCollector(opts: HealthOptions): HealthCollector {
  return new HealthCollector({
    clock: opts.clock,
    agentVersion: opts.agentVersion,
    system: new SystemSampler({ recordingsPath: opts.recordingsPath }),
    clockSync: opts.clockSync ?? new MarkerClockSync({ clock: opts.clock }),
    cameras: opts.cameras ?? noCameras,
  });
}
