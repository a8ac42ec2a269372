/**
 * Geofence math shared by the bridge (which agents to ask) and the agent (which cameras
 * answer). Both sides must reach the same decision, so both call these functions.
 *
 * Distances are great-circle distances on a sphere of the mean Earth radius (haversine).
 * Against the WGS 84 ellipsoid (Vincenty, Karney) the error is at most ~0.5% and, at mid
 * latitudes over city distances, usually under 0.3%: a few metres on an 800 m radius.
 * A geofence is defined on this sphere, so containment is exact by definition and the two
 * ends agree to the bit; the test suite checks the sphere against Vincenty at DC.
 * Polygons use a local plane around the polygon (see geofence-plane.ts for its limits).
 */
import type { CameraLocation, LatLon } from './schemas/common.js';
import {
  EARTH_RADIUS_M,
  distanceToRing,
  localProjection,
  openRing,
  projectionOriginFor,
  ringCentroid,
  ringContains,
  smallestEnclosingCircle,
  wrapLonDelta,
} from './geofence-plane.js';

export { EARTH_RADIUS_M } from './geofence-plane.js';

const DEG = Math.PI / 180;

export interface CircleArea {
  kind: 'circle';
  center: LatLon;
  radiusM: number;
}
export interface PolygonArea {
  kind: 'polygon';
  /** Vertices in order, closed (last equals first) or not. */
  points: LatLon[];
}
export type Area = CircleArea | PolygonArea;

/** Latitude/longitude box. `minLon > maxLon` means it crosses the antimeridian. */
export interface BoundingBox {
  minLat: number;
  minLon: number;
  maxLat: number;
  maxLon: number;
}

/** Points on a polygon's edge (within this distance) count as inside: no flicker at the line. */
const BOUNDARY_TOLERANCE_M = 0.01;

/** Great-circle distance in metres (haversine; R = 6,371,008.8 m). */
export function distanceM(a: LatLon, b: LatLon): number {
  const φ1 = a.lat * DEG;
  const φ2 = b.lat * DEG;
  const dφ = φ2 - φ1;
  const dλ = wrapLonDelta(b.lon - a.lon) * DEG;
  const h = Math.sin(dφ / 2) ** 2 + Math.cos(φ1) * Math.cos(φ2) * Math.sin(dλ / 2) ** 2;
  // Clamp: rounding can push h a hair outside [0, 1] for antipodal or equal points.
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, Math.max(0, h))));
}

/** Initial great-circle bearing from a to b, degrees clockwise from true north, [0, 360). */
export function initialBearingDeg(a: LatLon, b: LatLon): number {
  const φ1 = a.lat * DEG;
  const φ2 = b.lat * DEG;
  const dλ = wrapLonDelta(b.lon - a.lon) * DEG;
  const y = Math.sin(dλ) * Math.cos(φ2);
  const x = Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(dλ);
  return (((Math.atan2(y, x) / DEG) % 360) + 360) % 360;
}

/** The point reached from `start` after `distance` metres on initial bearing `bearingDeg`. */
export function destinationPoint(start: LatLon, bearingDeg: number, distance: number): LatLon {
  const δ = distance / EARTH_RADIUS_M;
  const θ = bearingDeg * DEG;
  const φ1 = start.lat * DEG;
  const sinφ2 = Math.sin(φ1) * Math.cos(δ) + Math.cos(φ1) * Math.sin(δ) * Math.cos(θ);
  const φ2 = Math.asin(Math.max(-1, Math.min(1, sinφ2)));
  const dλ = Math.atan2(Math.sin(θ) * Math.sin(δ) * Math.cos(φ1), Math.cos(δ) - Math.sin(φ1) * sinφ2);
  return { lat: φ2 / DEG, lon: wrapLonDelta(start.lon + dλ / DEG) };
}

/** Whether p is inside (or on) the circle. */
export function circleContains(circle: Omit<CircleArea, 'kind'>, p: LatLon): boolean {
  return distanceM(circle.center, p) <= circle.radiusM;
}

function polygonPlane(points: readonly LatLon[]) {
  const ring = openRing(points);
  const projection = localProjection(projectionOriginFor(ring));
  return { projection, ring: ring.map((q) => projection.toPlane(q)) };
}

/**
 * Whether p is inside (or on the edge of) the polygon: even-odd ray casting on a local
 * equirectangular plane around the polygon. Correct for city-sized simple polygons,
 * concave ones included; see geofence-plane.ts for the limits.
 */
export function polygonContains(points: readonly LatLon[], p: LatLon): boolean {
  const { projection, ring } = polygonPlane(points);
  const v = projection.toPlane(p);
  return distanceToRing(v, ring) <= BOUNDARY_TOLERANCE_M || ringContains(v, ring);
}

/** Distance in metres from p to the nearest polygon edge (whether p is inside or not). */
export function distanceToPolygonEdgeM(points: readonly LatLon[], p: LatLon): number {
  const { projection, ring } = polygonPlane(points);
  return distanceToRing(projection.toPlane(p), ring);
}

export function areaContains(area: Area, p: LatLon): boolean {
  return area.kind === 'circle' ? circleContains(area, p) : polygonContains(area.points, p);
}

/** 0 inside the area, else the distance in metres to its boundary: "in or near" for fan-out. */
export function distanceToAreaM(area: Area, p: LatLon): number {
  if (area.kind === 'circle') return Math.max(0, distanceM(area.center, p) - area.radiusM);
  return polygonContains(area.points, p) ? 0 : distanceToPolygonEdgeM(area.points, p);
}

/**
 * The smallest circle containing the area. For a polygon, this is what the radius limit
 * applies to (800 m by default), and what a spatial query around the area can use.
 */
export function enclosingCircle(area: Area): Omit<CircleArea, 'kind'> {
  if (area.kind === 'circle') return { center: area.center, radiusM: area.radiusM };
  const { projection, ring } = polygonPlane(area.points);
  const c = smallestEnclosingCircle(ring);
  return { center: projection.toLatLon(c.c), radiusM: c.r };
}

/** The point an incident is about: a circle's centre, a polygon's area centroid. */
export function areaFocus(area: Area): LatLon {
  if (area.kind === 'circle') return area.center;
  const { projection, ring } = polygonPlane(area.points);
  return projection.toLatLon(ringCentroid(ring));
}

function normaliseLon(lon: number): number {
  return wrapLonDelta(lon);
}

/**
 * A latitude/longitude box around the area, grown by `marginM`, for the bridge's spatial
 * pre-filter (an index range query before the exact test). A circle's box uses the exact
 * tangent longitudes of a spherical cap; a box that reaches a pole spans all longitudes.
 */
export function boundingBox(area: Area, marginM = 0): BoundingBox {
  let minLat: number;
  let maxLat: number;
  let west: number; // degrees relative to `lon0`, unwrapped
  let east: number;
  let lon0: number;
  if (area.kind === 'circle') {
    // 1 cm more, so points computed exactly on the circle are not lost to rounding.
    const δ = (area.radiusM + marginM + 0.01) / EARTH_RADIUS_M;
    const φ = area.center.lat * DEG;
    minLat = (φ - δ) / DEG;
    maxLat = (φ + δ) / DEG;
    lon0 = area.center.lon;
    const s = Math.sin(δ) / Math.cos(φ);
    const dλ = s >= 1 ? 180 : Math.asin(s) / DEG;
    west = -dλ;
    east = dλ;
  } else {
    const ring = openRing(area.points);
    lon0 = projectionOriginFor(ring).lon;
    minLat = Math.min(...ring.map((p) => p.lat));
    maxLat = Math.max(...ring.map((p) => p.lat));
    const rel = ring.map((p) => wrapLonDelta(p.lon - lon0));
    const dLat = marginM / EARTH_RADIUS_M / DEG;
    minLat -= dLat;
    maxLat += dLat;
    const widest = Math.max(Math.abs(minLat), Math.abs(maxLat));
    const dLon = widest >= 90 ? 180 : dLat / Math.cos(widest * DEG);
    west = Math.min(...rel) - dLon;
    east = Math.max(...rel) + dLon;
  }
  if (minLat <= -90 || maxLat >= 90 || east - west >= 360) {
    return { minLat: Math.max(-90, minLat), minLon: -180, maxLat: Math.min(90, maxLat), maxLon: 180 };
  }
  return { minLat, minLon: normaliseLon(lon0 + west), maxLat, maxLon: normaliseLon(lon0 + east) };
}

/** Whether p lies in the box (handles boxes across the antimeridian). */
export function boxContains(box: BoundingBox, p: LatLon): boolean {
  if (p.lat < box.minLat || p.lat > box.maxLat) return false;
  return box.minLon <= box.maxLon
    ? p.lon >= box.minLon && p.lon <= box.maxLon
    : p.lon >= box.minLon || p.lon <= box.maxLon;
}

export interface CoverOptions {
  /** Narrow by the camera's view sector when heading and fovDeg are known (default false). */
  useFieldOfView?: boolean;
  /** Within this distance of the focus a camera counts as facing it whatever its heading. */
  nearM?: number;
}

/**
 * Whether a camera answers for the area: its installed location is inside the geofence
 * (issue 8). With `useFieldOfView`, a camera that knows its heading and field of view must
 * also face the incident's focus (circle centre, polygon centroid): any camera inside the
 * area sees *some* of it, so the focus is what tells a camera facing the scene from one
 * facing away. Cameras without heading or field of view are never narrowed out.
 */
export function cameraCovers(camera: CameraLocation, area: Area, options: CoverOptions = {}): boolean {
  if (!areaContains(area, camera)) return false;
  const { heading, fovDeg } = camera;
  if (!options.useFieldOfView || heading === undefined || fovDeg === undefined || fovDeg >= 360) return true;
  const focus = areaFocus(area);
  if (distanceM(camera, focus) <= (options.nearM ?? 30)) return true;
  const off = Math.abs(wrapLonDelta(initialBearingDeg(camera, focus) - heading));
  return off <= fovDeg / 2;
}
