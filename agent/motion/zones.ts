/**
 * Per-camera zones (where to look) and masks (where never to look: a road behind the fence, a
 * flag, a tree, a timestamp overlay). Both are polygons in fractions of the frame, so the same
 * configuration works at any decode size; they are rasterised once at the detector's size.
 */
import { z } from 'zod';

export const Point = z.strictObject({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) });
export const Polygon = z.array(Point).min(3).max(64);
export type Point = z.infer<typeof Point>;
export type Polygon = z.infer<typeof Polygon>;

export const ZoneConfig = z.strictObject({
  /** Only motion inside one of these counts; empty = the whole frame. */
  zones: z.array(Polygon).max(16).default([]),
  /** Motion inside any of these is ignored, even inside a zone. */
  masks: z.array(Polygon).max(16).default([]),
});
export type ZoneConfig = z.infer<typeof ZoneConfig>;

/** A rectangle as a polygon, for configuration by hand and for tests. */
export function rect(x: number, y: number, w: number, h: number): Polygon {
  return [
    { x, y },
    { x: x + w, y },
    { x: x + w, y: y + h },
    { x, y: y + h },
  ];
}

/** Even-odd ray casting (the classic crossing test): works for any simple polygon. */
export function insidePolygon(px: number, py: number, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > py !== b.y > py && px < ((b.x - a.x) * (py - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/**
 * 1 where a pixel is watched, 0 where it is not, sampled at pixel centres. Returns undefined
 * when everything is watched, so the detector can skip the lookup on the common path.
 */
export function rasterise(cfg: Partial<ZoneConfig>, width: number, height: number): Uint8Array | undefined {
  const zones = cfg.zones ?? [];
  const masks = cfg.masks ?? [];
  if (zones.length === 0 && masks.length === 0) return undefined;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = (y + 0.5) / height;
    for (let x = 0; x < width; x++) {
      const fx = (x + 0.5) / width;
      const inZone = zones.length === 0 || zones.some((p) => insidePolygon(fx, fy, p));
      const masked = masks.some((p) => insidePolygon(fx, fy, p));
      out[y * width + x] = inZone && !masked ? 1 : 0;
    }
  }
  return out;
}
