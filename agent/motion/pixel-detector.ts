/**
 * Frame differencing on small grey frames: the cheapest detector that works on a sub-stream.
 *
 * Each frame is compared with the previous one (at 5 fps, 200 ms apart):
 * 1. Brightness compensation: the difference of the two frames' mean luma is subtracted from
 *    every pixel difference, so a slow exposure drift or a cloud does not count as change.
 * 2. Noise threshold: a pixel changed when its compensated difference exceeds `noiseThreshold`
 *    luma levels. Decoding at 160x90 (area-averaged from 640x360) already averages sensor noise
 *    over 16 pixels; the threshold removes what is left, and compression flicker.
 * 3. Cells: the frame is split into cells of `cellSize` pixels; a cell counts only when at least
 *    `cellFill` of its watched pixels changed. Isolated noisy pixels never fill a cell; a moving
 *    object fills the cells along its edges.
 * 4. Minimum area: there is motion when the changed pixels in active cells cover at least
 *    `minArea` of the watched area. That fraction is the frame's score (0..1).
 * 5. Global guard: when more than `globalFraction` of the watched pixels changed *before*
 *    compensation, the whole picture changed (lights, IR cut filter, auto-exposure): no motion,
 *    and the next `settleFrames` frames are ignored too, because after a sudden change the
 *    encoder spends a few frames refining the picture, which looks like texture changing.
 *    Near-saturated areas cannot brighten further, so a lights-on step leaves a residue after
 *    compensation; that is why the guard looks at the raw change, not the compensated one.
 *
 * Pure and synchronous: frames in, verdicts out; no I/O and no clock.
 */
import { rasterise, type ZoneConfig } from './zones.js';
import type { BBox } from './types.js';

export interface PixelDetectorOptions {
  width: number;
  height: number;
  /** Luma levels (0..255) a pixel must change by, after brightness compensation. */
  noiseThreshold: number;
  /** Cell edge in pixels. */
  cellSize: number;
  /** Fraction of a cell's watched pixels that must change for the cell to count. */
  cellFill: number;
  /** Fraction of the watched area that must change for a frame to show motion. */
  minArea: number;
  /** Raw changed fraction above which a change is global (lights), not motion. */
  globalFraction: number;
  /** Frames ignored after a global change. */
  settleFrames: number;
  zones?: Partial<ZoneConfig>;
}

/** Tuned on the simulator's scenes at 160x90 and 5 fps; see the report in the issue and the accuracy test. */
export const DEFAULT_PIXEL_OPTIONS: Omit<PixelDetectorOptions, 'width' | 'height'> = {
  noiseThreshold: 18,
  cellSize: 5,
  cellFill: 0.3,
  minArea: 0.004,
  globalFraction: 0.4,
  settleFrames: 3,
};

export interface FrameVerdict {
  motion: boolean;
  /** Changed fraction of the watched area in active cells, 0..1. */
  score: number;
  /** Extent of the active cells, fractions of the frame. */
  bbox?: BBox;
  /** Why a frame was not scored: the first frame, a global change, or settling after one. */
  skipped?: 'first' | 'global' | 'settling';
}

export class PixelMotionDetector {
  private prev: Uint8Array | undefined;
  private settle = 0;
  private readonly watch: Uint8Array | undefined;
  private readonly watched: number;
  private readonly cellsX: number;
  private readonly cellsY: number;
  /** Watched pixels per cell, and the changed count a cell needs. */
  private readonly cellNeed: Uint16Array;
  private readonly cellCount: Uint16Array;

  constructor(readonly opts: PixelDetectorOptions) {
    const { width: w, height: h, cellSize } = opts;
    if (!(w > 0 && h > 0 && cellSize > 0)) throw new Error('detector size and cell size must be positive');
    this.watch = rasterise(opts.zones ?? {}, w, h);
    this.cellsX = Math.ceil(w / cellSize);
    this.cellsY = Math.ceil(h / cellSize);
    const perCell = new Uint16Array(this.cellsX * this.cellsY);
    let watched = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (this.watch && this.watch[y * w + x] === 0) continue;
        watched++;
        const c = Math.floor(y / cellSize) * this.cellsX + Math.floor(x / cellSize);
        perCell[c] = perCell[c]! + 1;
      }
    }
    if (watched === 0) throw new Error('zones and masks leave nothing to watch');
    this.watched = watched;
    // A cell needs at least one changed pixel even if its fill rounds to zero.
    this.cellNeed = perCell.map((n) => (n === 0 ? 0xffff : Math.max(1, Math.ceil(n * opts.cellFill))));
    this.cellCount = new Uint16Array(perCell.length);
  }

  get frameBytes(): number {
    return this.opts.width * this.opts.height;
  }

  /** Forget the reference frame (after a stream restart: the next frame is a new first frame). */
  reset(): void {
    this.prev = undefined;
    this.settle = 0;
  }

  push(frame: Uint8Array): FrameVerdict {
    if (frame.length !== this.frameBytes) {
      throw new Error(`frame has ${frame.length} bytes, expected ${this.frameBytes}`);
    }
    const prev = this.prev;
    // Keep a copy: callers may reuse their buffer for the next frame.
    this.prev = frame.slice();
    if (!prev) return { motion: false, score: 0, skipped: 'first' };

    const { width: w, height: h, cellSize, noiseThreshold: thr } = this.opts;
    const watch = this.watch;
    let sumCur = 0;
    let sumPrev = 0;
    for (let i = 0; i < frame.length; i++) {
      if (watch && watch[i] === 0) continue;
      sumCur += frame[i]!;
      sumPrev += prev[i]!;
    }
    const shift = (sumCur - sumPrev) / this.watched;

    const cells = this.cellCount;
    cells.fill(0);
    let rawChanged = 0;
    for (let y = 0; y < h; y++) {
      const rowCell = Math.floor(y / cellSize) * this.cellsX;
      for (let x = 0, i = y * w; x < w; x++, i++) {
        if (watch && watch[i] === 0) continue;
        const d = frame[i]! - prev[i]!;
        if (d > thr || d < -thr) rawChanged++;
        const c = d - shift;
        if (c > thr || c < -thr) {
          const k = rowCell + Math.floor(x / cellSize);
          cells[k] = cells[k]! + 1;
        }
      }
    }

    if (rawChanged / this.watched > this.opts.globalFraction) {
      this.settle = this.opts.settleFrames;
      return { motion: false, score: 0, skipped: 'global' };
    }
    if (this.settle > 0) {
      this.settle--;
      return { motion: false, score: 0, skipped: 'settling' };
    }

    let changed = 0;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let cy = 0; cy < this.cellsY; cy++) {
      for (let cx = 0; cx < this.cellsX; cx++) {
        const k = cy * this.cellsX + cx;
        if (cells[k]! < this.cellNeed[k]!) continue;
        changed += cells[k]!;
        x0 = Math.min(x0, cx);
        y0 = Math.min(y0, cy);
        x1 = Math.max(x1, cx + 1);
        y1 = Math.max(y1, cy + 1);
      }
    }
    const score = changed / this.watched;
    if (changed === 0) return { motion: false, score: 0 };
    const bx = (x0 * cellSize) / w;
    const by = (y0 * cellSize) / h;
    const bbox: BBox = {
      x: bx,
      y: by,
      w: Math.min(1, (x1 * cellSize) / w) - bx,
      h: Math.min(1, (y1 * cellSize) / h) - by,
    };
    return { motion: score >= this.opts.minArea, score, bbox };
  }
}
