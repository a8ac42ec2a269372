/**
 * System figures for the health report, chosen by what they cost. Measured on
 * the development box (`npm run bench -- link` prints the total per report):
 *
 *   si.currentLoad()     ~1 ms CPU  (os.cpus() deltas; kept)
 *   si.mem()             ~0.6 ms    (/proc/meminfo; kept)
 *   si.fsSize()          ~6 ms wall, spawns `df` every call      -> fs.statfs(): ~0.07 ms
 *   si.cpuTemperature()  ~9 ms wall, execSync of a shell script: blocks the event loop
 *                                                                 -> read sysfs directly
 *   si.time()            ~8 ms wall (time-zone lookups)           -> os.uptime()
 *
 * Static facts (which temperature sensor exists) are discovered once and cached.
 */
import { readFile, readdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import type { SystemHealth } from '../../protocol/schemas/health.js';

export interface SystemSamplerOptions {
  /** Any path on the volume that holds the recordings. */
  recordingsPath: string;
  /** Roots to look for sensors in; overridable for tests. */
  sysfs?: { thermal: string; hwmon: string };
}

export class SystemSampler {
  private sensor: Promise<string | undefined> | undefined;

  constructor(private readonly opts: SystemSamplerOptions) {}

  async sample(): Promise<SystemHealth> {
    const [load, mem, vol, temp] = await Promise.all([
      si.currentLoad(),
      si.mem(),
      statfs(this.opts.recordingsPath),
      this.temperature(),
    ]);
    const total = vol.blocks * vol.bsize;
    const free = vol.bavail * vol.bsize;
    const out: SystemHealth = {
      cpuLoadPct: clampPct(load.currentLoad),
      memory: { usedBytes: Math.min(mem.active, mem.total), totalBytes: mem.total },
      volume: { usedBytes: Math.max(0, total - free), totalBytes: total },
      uptimeS: Math.max(0, os.uptime()),
    };
    const [load1] = os.loadavg();
    // Windows reports [0, 0, 0]: absent rather than a misleading zero.
    if (os.platform() !== 'win32' && load1 !== undefined) out.loadAvg1 = load1;
    if (temp !== undefined) out.temperatureC = temp;
    return out;
  }

  private async temperature(): Promise<number | undefined> {
    this.sensor ??= findSensor(
      this.opts.sysfs ?? { thermal: '/sys/class/thermal', hwmon: '/sys/class/hwmon' },
    );
    const file = await this.sensor;
    if (!file) return undefined;
    try {
      const milli = Number((await readFile(file, 'utf8')).trim());
      const c = milli / 1000;
      return Number.isFinite(c) && c > -100 && c < 200 ? Math.round(c * 10) / 10 : undefined;
    } catch (err) {
      // A sensor that vanished (module unloaded) is reported as absent, not as an error.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

function clampPct(x: number): number {
  return Number.isFinite(x) ? Math.min(100, Math.max(0, Math.round(x * 10) / 10)) : 0;
}

/**
 * The main temperature sensor: the first thermal zone (on ARM boards the SoC),
 * else the first hwmon temp1_input (x86 coretemp, k10temp). Run once.
 */
export async function findSensor(roots: { thermal: string; hwmon: string }): Promise<string | undefined> {
  for (const [root, prefix, leaf] of [
    [roots.thermal, 'thermal_zone', 'temp'],
    [roots.hwmon, 'hwmon', 'temp1_input'],
  ] as const) {
    let names: string[];
    try {
      names = (await readdir(root)).filter((n) => n.startsWith(prefix)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // no such subsystem (containers)
      throw err;
    }
    for (const n of names) {
      const file = path.join(root, n, leaf);
      try {
        const v = Number((await readFile(file, 'utf8')).trim());
        if (Number.isFinite(v)) return file;
      } catch (err) {
        // Some zones exist but cannot be read (EINVAL/ENODATA when the sensor is off): try the next.
        if (
          !['ENOENT', 'EINVAL', 'ENODATA', 'EIO', 'EACCES'].includes(
            (err as NodeJS.ErrnoException).code ?? '',
          )
        )
          throw err;
      }
    }
  }
  return undefined;
}
