/**
 * Builds one `health` report: system figures, clock state and per-camera
 * recording state, validated against the protocol schema before it leaves.
 * Every collection is timed (wall and CPU), so the cost of health is itself
 * visible in the agent's health() and in `npm run bench -- link`.
 */
import type { Clock } from '../../lib/clock.js';
import { redactText } from '../../lib/redact.js';
import { CameraHealth, HealthPayload } from '../../protocol/schemas/health.js';
import type { SystemHealth } from '../../protocol/schemas/health.js';
import type { CameraHealthSource, CameraStatus, ClockSyncSource } from './sources.js';

export interface HealthCollectorOptions {
  clock: Clock;
  agentVersion: string;
  system: { sample(): Promise<SystemHealth> };
  clockSync: ClockSyncSource;
  cameras: CameraHealthSource;
}

export interface CollectionCost {
  wallMs: number;
  /** CPU time of this process (user + system) spent collecting, ms. */
  cpuMs: number;
  /** Cameras left out of the report because their status did not validate. */
  skippedCameras: number;
}

export class HealthCollector {
  private last: CollectionCost | undefined;

  constructor(private readonly opts: HealthCollectorOptions) {}

  async collect(): Promise<HealthPayload> {
    const cpu0 = process.cpuUsage();
    const t0 = this.opts.clock.monotonic();
    const [system, clock] = await Promise.all([this.opts.system.sample(), this.opts.clockSync.clockHealth()]);
    const now = this.opts.clock.now();
    const payload: HealthPayload = {
      v: 1,
      ts: now,
      agentVersion: this.opts.agentVersion,
      system,
      clock,
      cameras: [],
    };
    // One camera with nonsense from its source (an invalid id, a reason the
    // schema refuses) is left out and counted, rather than costing the whole report.
    let skipped = 0;
    for (const c of this.opts.cameras.cameras()) {
      const one = CameraHealth.safeParse(toCameraHealth(c, now));
      if (one.success) payload.cameras.push(one.data);
      else skipped++;
    }
    // Parse, not cast: what leaves is exactly what the bridge will accept.
    const checked = HealthPayload.parse(payload);
    const cpu = process.cpuUsage(cpu0);
    this.last = {
      wallMs: this.opts.clock.monotonic() - t0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      skippedCameras: skipped,
    };
    return checked;
  }

  /** Cost of the latest collection; undefined before the first. */
  lastCost(): CollectionCost | undefined {
    return this.last;
  }
}

/** Ages from instants; a wall-clock step backwards yields 0, never a negative age. */
export function toCameraHealth(c: CameraStatus, now: number): CameraHealth {
  const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) && x >= 0 ? x : null);
  const out: CameraHealth = {
    cameraId: c.cameraId,
    recording: c.recording,
    newestSegmentAgeMs: c.newestSegmentEndAt === null ? null : Math.max(0, now - c.newestSegmentEndAt),
    fps: finite(c.fps),
    bitrateBps: finite(c.bitrateBps),
    buffer: {
      oldestAt: c.oldestFootageAt,
      depthMs: c.oldestFootageAt === null ? 0 : Math.max(0, now - c.oldestFootageAt),
      bytes: Math.max(0, c.bufferBytes),
    },
    gapsLastHour: {
      count: Math.max(0, Math.trunc(c.gapsLastHour.count)),
      totalMs: Math.max(0, c.gapsLastHour.totalMs),
    },
    motionSource: c.motionSource,
  };
  if (c.clockOffsetMs !== undefined && Number.isFinite(c.clockOffsetMs)) out.clockOffsetMs = c.clockOffsetMs;
  if (c.error)
    out.error = redactText(c.error)
      .replace(/\p{Cc}/gu, ' ')
      .slice(0, 200);
  return out;
}
