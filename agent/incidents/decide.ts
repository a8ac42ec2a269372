/**
 * Pure decisions for an accepted request: which cameras it concerns, under which policy, and
 * what each may tell the RTCC. No I/O; the service applies the result.
 *
 * - In the geofence: the camera's installed location inside the area (circle or polygon,
 *   protocol/geofence.ts), optionally narrowed by heading and field of view. A camera with no
 *   location yet is in no geofence: the owner has not said where it looks.
 * - Policy: the camera's own setting, else the site's. `never` declines without looking at the
 *   footage; `approve` pins and waits for the owner; `auto` goes ahead.
 * - Coverage: the window intersected with what the recorder holds, as one covered span and
 *   the gaps inside it, or nothing ("no footage").
 */
import { cameraCovers, type Area } from '../../protocol/geofence.js';
import type { Interval } from '../../protocol/schemas/common.js';
import type { Coverage } from '../recorder/index.js';
import type { CameraPlacement, IncidentRecorder, SharingPolicy } from './types.js';

export interface PolicySettings {
  site: SharingPolicy;
  cameras?: Readonly<Record<string, SharingPolicy>>;
}

export interface CameraDecision {
  camera: CameraPlacement;
  policy: SharingPolicy;
}

export function policyFor(cameraId: string, settings: PolicySettings): SharingPolicy {
  return settings.cameras?.[cameraId] ?? settings.site;
}

/** The cameras whose location is inside the area, each with the policy that applies to it. */
export function camerasInArea(
  cameras: readonly CameraPlacement[],
  area: Area,
  settings: PolicySettings,
  useFieldOfView: boolean,
): CameraDecision[] {
  const out: CameraDecision[] = [];
  for (const camera of cameras) {
    if (!camera.location) continue;
    if (!cameraCovers(camera.location, area, { useFieldOfView })) continue;
    out.push({ camera, policy: policyFor(camera.id, settings) });
  }
  return out;
}

export interface WindowCoverage {
  /** From the first to the last footage inside the window. */
  covered: Interval;
  /** Holes inside the window (before the first and after the last footage included). */
  gaps: Interval[];
}

/** The recorder's coverage as the wire expresses it; null when there is no footage at all. */
export function summarizeCoverage(c: Pick<Coverage, 'covered' | 'gaps'>): WindowCoverage | null {
  const first = c.covered[0];
  const last = c.covered[c.covered.length - 1];
  if (!first || !last || last.to <= first.from) return null;
  return {
    covered: { from: first.from, to: last.to },
    gaps: c.gaps.filter((g) => g.to > g.from).map((g) => ({ from: g.from, to: g.to })),
  };
}

/**
 * What the recorder holds of the window for one camera; null for no footage, including a
 * camera of the inventory that the recorder does not record (nothing to share, not an error).
 */
export function windowCoverage(
  recorder: Pick<IncidentRecorder, 'coverage' | 'stats'>,
  cameraId: string,
  from: number,
  to: number,
): WindowCoverage | null {
  if (!recorder.stats().cameras.some((c) => c.camera === cameraId)) return null;
  return summarizeCoverage(recorder.coverage(cameraId, from, to));
}
