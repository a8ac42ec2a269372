import { describe, expect, it } from 'vitest';
import { DEFAULT_PIXEL_OPTIONS, PixelMotionDetector } from '../../agent/motion/pixel-detector.js';
import { insidePolygon, rasterise, rect } from '../../agent/motion/zones.js';

const W = 160;
const H = 90;

/** A deterministic pseudo-random generator, so "noise" is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A textured background with sensor noise (+-amp), plus an optional dark box and a brightness offset. */
function frame(
  rand: () => number,
  opts: { box?: { x: number; y: number; w: number; h: number }; noise?: number; brightness?: number } = {},
) {
  const f = new Uint8Array(W * H);
  const amp = opts.noise ?? 4;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 90 + ((x >> 3) % 3) * 30 + ((y >> 4) % 2) * 20; // blocks of texture
      const b = opts.box;
      if (b && x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) v = 25;
      v += (rand() * 2 - 1) * amp + (opts.brightness ?? 0);
      f[y * W + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return f;
}

function detector(extra: Partial<ConstructorParameters<typeof PixelMotionDetector>[0]> = {}) {
  return new PixelMotionDetector({ width: W, height: H, ...DEFAULT_PIXEL_OPTIONS, ...extra });
}

describe('PixelMotionDetector', () => {
  it('sees no motion in sensor noise alone', () => {
    const r = rng(1);
    const d = detector();
    expect(d.push(frame(r)).skipped).toBe('first');
    for (let i = 0; i < 50; i++) expect(d.push(frame(r, { noise: 8 })).motion).toBe(false);
  });

  it('sees a moving object, with a box around it', () => {
    const r = rng(2);
    const d = detector();
    d.push(frame(r));
    let hits = 0;
    for (let i = 0; i < 10; i++) {
      const v = d.push(frame(r, { box: { x: 20 + i * 6, y: 30, w: 10, h: 27 } }));
      if (v.motion) hits++;
      if (i > 0) {
        expect(v.motion).toBe(true);
        expect(v.score).toBeGreaterThan(DEFAULT_PIXEL_OPTIONS.minArea);
        // The box lies around the object's edges (leading and trailing), in frame fractions.
        expect(v.bbox!.x).toBeLessThanOrEqual((20 + i * 6) / W);
        expect(v.bbox!.x + v.bbox!.w).toBeGreaterThanOrEqual((20 + i * 6 + 10) / W - 0.04);
        expect(v.bbox!.y).toBeLessThanOrEqual(30 / H + 0.06);
      }
    }
    expect(hits).toBeGreaterThanOrEqual(9);
  });

  it('ignores an object smaller than the minimum area', () => {
    const r = rng(3);
    const d = detector();
    d.push(frame(r));
    for (let i = 0; i < 5; i++)
      expect(d.push(frame(r, { box: { x: 40 + i * 2, y: 40, w: 2, h: 2 } })).motion).toBe(false);
  });

  it('treats a global brightness step as lights, not motion, and settles after it', () => {
    const r = rng(4);
    const d = detector();
    d.push(frame(r));
    d.push(frame(r));
    const step = d.push(frame(r, { brightness: 60 }));
    expect(step).toMatchObject({ motion: false, skipped: 'global' });
    for (let i = 0; i < DEFAULT_PIXEL_OPTIONS.settleFrames; i++) {
      expect(d.push(frame(r, { brightness: 60 })).skipped).toBe('settling');
    }
    const after = d.push(frame(r, { brightness: 60 }));
    expect(after.skipped).toBeUndefined();
    expect(after.motion).toBe(false);
  });

  it('compensates a slow overall drift (clouds) below the global threshold', () => {
    const r = rng(5);
    const d = detector();
    d.push(frame(r));
    for (let i = 1; i <= 20; i++) expect(d.push(frame(r, { brightness: i * 3 })).motion).toBe(false);
  });

  it('ignores motion under a mask and outside the zones', () => {
    const r = rng(6);
    const masked = detector({ zones: { masks: [rect(0, 0, 0.5, 1)] } });
    const zoned = detector({ zones: { zones: [rect(0.5, 0, 0.5, 1)] } });
    const plain = detector();
    for (const d of [masked, zoned, plain]) d.push(frame(rng(6)));
    for (let i = 0; i < 5; i++) {
      const f = frame(r, { box: { x: 10 + i * 6, y: 30, w: 10, h: 27 } }); // left half only
      expect(masked.push(f).motion).toBe(false);
      expect(zoned.push(f).motion).toBe(false);
      if (i > 0) expect(plain.push(f).motion).toBe(true);
      else plain.push(f);
    }
  });

  it('refuses frames of the wrong size and zones that leave nothing to watch', () => {
    expect(() => detector().push(new Uint8Array(10))).toThrow(/expected 14400/);
    expect(() => detector({ zones: { masks: [rect(0, 0, 1, 1)] } })).toThrow(/nothing to watch/);
  });
});

describe('zones', () => {
  it('rasterises polygons at pixel centres: zones include, masks exclude', () => {
    expect(rasterise({}, 4, 4)).toBeUndefined();
    const m = rasterise({ zones: [rect(0, 0, 0.5, 1)], masks: [rect(0, 0, 0.5, 0.5)] }, 4, 4)!;
    expect([...m]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  });

  it('handles a non-convex polygon', () => {
    const l = [
      { x: 0, y: 0 },
      { x: 1, y: 0 },
      { x: 1, y: 0.2 },
      { x: 0.2, y: 0.2 },
      { x: 0.2, y: 1 },
      { x: 0, y: 1 },
    ];
    expect(insidePolygon(0.1, 0.5, l)).toBe(true);
    expect(insidePolygon(0.5, 0.5, l)).toBe(false);
    expect(insidePolygon(0.5, 0.1, l)).toBe(true);
  });
});
