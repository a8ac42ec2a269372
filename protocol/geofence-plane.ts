/**
 * Planar geometry for city-sized areas, on a local equirectangular projection.
 *
 * Why a projection: point-in-polygon, distance to an edge and the smallest enclosing
 * circle are simple and exact in the plane, and a geofence is at most a few kilometres
 * across. The projection is centred on the area, x = R·Δλ·cos φ0, y = R·Δφ (metres).
 *
 * Accuracy and limits: the east-west scale is exact at φ0 and off by about tan(φ0)·Δφ
 * elsewhere, so across a 2 km area at Washington DC (φ ≈ 38.9°) positions move by ~0.5 m
 * and across 10 km by ~12 m (0.12%). Polygon edges are straight lines in this projection,
 * not great circles; over a few kilometres the two differ by centimetres. Do not use it
 * for areas hundreds of kilometres wide or within a few degrees of a pole. Longitudes are
 * unwrapped around the centre, so areas that cross the antimeridian work.
 */
import type { LatLon } from './schemas/common.js';

/** Mean Earth radius (IUGG R1 = (2a + b) / 3 of WGS 84), metres. */
export const EARTH_RADIUS_M = 6_371_008.8;

const DEG = Math.PI / 180;

export interface Vec {
  x: number;
  y: number;
}

/** Wraps a longitude difference into [-180, 180). */
export function wrapLonDelta(d: number): number {
  return ((((d + 180) % 360) + 360) % 360) - 180;
}

export interface Projection {
  readonly origin: LatLon;
  toPlane(p: LatLon): Vec;
  toLatLon(v: Vec): LatLon;
}

/** A local equirectangular projection centred on `origin`. */
export function localProjection(origin: LatLon): Projection {
  const kx = EARTH_RADIUS_M * DEG * Math.cos(origin.lat * DEG);
  const ky = EARTH_RADIUS_M * DEG;
  return {
    origin,
    toPlane: (p) => ({ x: wrapLonDelta(p.lon - origin.lon) * kx, y: (p.lat - origin.lat) * ky }),
    toLatLon: (v) => ({ lat: origin.lat + v.y / ky, lon: origin.lon + wrapLonDelta(v.x / kx) }),
  };
}

/** Centre for projecting a set of points: the midpoint of their (unwrapped) extent. */
export function projectionOriginFor(points: readonly LatLon[]): LatLon {
  const first = points[0];
  if (!first) throw new RangeError('projectionOriginFor needs at least one point');
  let minLat = first.lat;
  let maxLat = first.lat;
  let minD = 0;
  let maxD = 0;
  for (const p of points) {
    minLat = Math.min(minLat, p.lat);
    maxLat = Math.max(maxLat, p.lat);
    const d = wrapLonDelta(p.lon - first.lon);
    minD = Math.min(minD, d);
    maxD = Math.max(maxD, d);
  }
  return { lat: (minLat + maxLat) / 2, lon: first.lon + wrapLonDelta((minD + maxD) / 2) };
}

/** Drops a closing vertex equal to the first one: polygons may be given closed or open. */
export function openRing<T extends LatLon>(points: readonly T[]): T[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (points.length > 1 && first && last && first.lat === last.lat && first.lon === last.lon) {
    return points.slice(0, -1);
  }
  return points.slice();
}

/** Distance from p to the segment ab, in the plane. */
export function pointSegmentDistance(p: Vec, a: Vec, b: Vec): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** Iterates the edges of a ring (last vertex back to the first). */
function* edges(ring: readonly Vec[]): Generator<[Vec, Vec, number, number]> {
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[j];
    const b = ring[i];
    if (a && b) yield [a, b, j, i];
  }
}

/** Smallest distance from p to any edge of the ring. */
export function distanceToRing(p: Vec, ring: readonly Vec[]): number {
  let best = Infinity;
  for (const [a, b] of edges(ring)) best = Math.min(best, pointSegmentDistance(p, a, b));
  return best;
}

/** Even-odd ray casting (W. R. Franklin's PNPOLY); the boundary itself is undefined here. */
export function ringContains(p: Vec, ring: readonly Vec[]): boolean {
  let inside = false;
  for (const [a, b] of edges(ring)) {
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** Signed area (shoelace): positive when counter-clockwise. */
export function signedArea(ring: readonly Vec[]): number {
  let twice = 0;
  for (const [a, b] of edges(ring)) twice += a.x * b.y - b.x * a.y;
  return twice / 2;
}

/** Area centroid of a simple polygon (falls back to the vertex mean for degenerate rings). */
export function ringCentroid(ring: readonly Vec[]): Vec {
  const area = signedArea(ring);
  if (Math.abs(area) < 1e-9) {
    const n = ring.length || 1;
    return { x: ring.reduce((s, v) => s + v.x, 0) / n, y: ring.reduce((s, v) => s + v.y, 0) / n };
  }
  let cx = 0;
  let cy = 0;
  for (const [a, b] of edges(ring)) {
    const f = a.x * b.y - b.x * a.y;
    cx += (a.x + b.x) * f;
    cy += (a.y + b.y) * f;
  }
  return { x: cx / (6 * area), y: cy / (6 * area) };
}

function orient(a: Vec, b: Vec, c: Vec): number {
  const v = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
  return Math.abs(v) < 1e-9 ? 0 : Math.sign(v);
}

function onSegment(a: Vec, b: Vec, p: Vec): boolean {
  return (
    Math.min(a.x, b.x) - 1e-9 <= p.x &&
    p.x <= Math.max(a.x, b.x) + 1e-9 &&
    Math.min(a.y, b.y) - 1e-9 <= p.y &&
    p.y <= Math.max(a.y, b.y) + 1e-9
  );
}

/** Whether segments ab and cd share any point (proper crossing, touching or overlapping). */
export function segmentsIntersect(a: Vec, b: Vec, c: Vec, d: Vec): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(a, b, c)) ||
    (o2 === 0 && onSegment(a, b, d)) ||
    (o3 === 0 && onSegment(c, d, a)) ||
    (o4 === 0 && onSegment(c, d, b))
  );
}

/**
 * Index pair of the first two non-adjacent edges that touch, or null when the ring is
 * simple. O(n²), fine for the 100-vertex limit. Containment of a self-intersecting
 * polygon depends on the fill rule, so such a geofence is refused rather than guessed.
 */
export function firstSelfIntersection(ring: readonly Vec[]): [number, number] | null {
  const list = [...edges(ring)];
  for (let i = 0; i < list.length; i++) {
    for (let k = i + 1; k < list.length; k++) {
      const adjacent = k === i + 1 || (i === 0 && k === list.length - 1);
      const e = list[i];
      const f = list[k];
      if (adjacent || !e || !f) continue;
      if (segmentsIntersect(e[0], e[1], f[0], f[1])) return [i, k];
    }
  }
  return null;
}

export interface PlaneCircle {
  c: Vec;
  r: number;
}

function circleFrom2(a: Vec, b: Vec): PlaneCircle {
  const c = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  return { c, r: Math.hypot(a.x - c.x, a.y - c.y) };
}

function circleFrom3(a: Vec, b: Vec, p: Vec): PlaneCircle {
  const bx = b.x - a.x;
  const by = b.y - a.y;
  const cx = p.x - a.x;
  const cy = p.y - a.y;
  const d = 2 * (bx * cy - by * cx);
  if (Math.abs(d) < 1e-12) {
    // Collinear: the circle on the two farthest-apart points encloses all three.
    const pairs: [Vec, Vec][] = [
      [a, b],
      [a, p],
      [b, p],
    ];
    return pairs.map(([u, v]) => circleFrom2(u, v)).reduce((m, c) => (c.r > m.r ? c : m));
  }
  const ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / d;
  const uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / d;
  return { c: { x: a.x + ux, y: a.y + uy }, r: Math.hypot(ux, uy) };
}

/**
 * Smallest circle enclosing the points (Welzl's incremental form, deterministic order:
 * O(n³) worst case, trivial for 100 vertices). Limits a polygon the way radiusM limits a
 * circle, and gives the bridge a query radius for its fan-out.
 */
export function smallestEnclosingCircle(points: readonly Vec[]): PlaneCircle {
  const inside = (c: PlaneCircle, p: Vec) => Math.hypot(p.x - c.c.x, p.y - c.c.y) <= c.r + 1e-7;
  const first = points[0];
  if (!first) throw new RangeError('smallestEnclosingCircle needs at least one point');
  let circle: PlaneCircle = { c: { ...first }, r: 0 };
  for (let i = 1; i < points.length; i++) {
    const p = points[i] as Vec;
    if (inside(circle, p)) continue;
    circle = { c: { ...p }, r: 0 };
    for (let j = 0; j < i; j++) {
      const q = points[j] as Vec;
      if (inside(circle, q)) continue;
      circle = circleFrom2(p, q);
      for (let k = 0; k < j; k++) {
        const s = points[k] as Vec;
        if (!inside(circle, s)) circle = circleFrom3(p, q, s);
      }
    }
  }
  return circle;
}
