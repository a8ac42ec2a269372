// @ts-check
/**
 * The dashboard map, drawn by the page itself in SVG: no tile server or internet needed.
 * Positions use the Web Mercator projection (EPSG:3857), so that optional raster tiles from a
 * configured server ({z}/{x}/{y}, the XYZ scheme) line up with the points when they are there.
 * World coordinates are 0..256 at zoom 0; `k` is screen pixels per world unit (k = 2^zoom).
 */
const EARTH_CIRCUMFERENCE_M = 40075016.686;
const SVG = 'http://www.w3.org/2000/svg';

/** @param {number} lon @param {number} lat */
export function project(lon, lat) {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return { x: ((lon + 180) / 360) * 256, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256 };
}

/** @param {number} x @param {number} y */
export function unproject(x, y) {
  const lon = (x / 256) * 360 - 180;
  const n = Math.PI - (2 * Math.PI * y) / 256;
  return { lon, lat: (180 / Math.PI) * Math.atan(Math.sinh(n)) };
}

/** @param {string} tag @param {Record<string, string | number>} attrs */
function el(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export class MapView {
  /** @param {SVGSVGElement} svg @param {{ tileUrl?: string | null }} opts */
  constructor(svg, opts = {}) {
    this.svg = svg;
    this.tileUrl = opts.tileUrl ?? null;
    this.k = 4096; // about zoom 12
    this.cx = 128;
    this.cy = 128;
    /** @type {any[]} */ this.devices = [];
    /** @type {{ lat: number, lon: number, radiusM: number } | null} */ this.draft = null;
    /** @type {any[]} */ this.areas = [];
    /** @type {Set<string>} */ this.targets = new Set();
    /** @type {(p: { lat: number, lon: number }) => void} */ this.onPick = () => {};
    /** @type {(d: any) => void} */ this.onDevice = () => {};
    this.layers = { tiles: el('g'), grid: el('g'), areas: el('g'), devices: el('g'), overlay: el('g') };
    for (const g of Object.values(this.layers)) svg.appendChild(g);
    this.bind();
  }

  get size() {
    const r = this.svg.getBoundingClientRect();
    return { w: r.width || 800, h: r.height || 560 };
  }

  /** @param {number} lon @param {number} lat */
  toScreen(lon, lat) {
    const p = project(lon, lat);
    const { w, h } = this.size;
    return { x: (p.x - this.cx) * this.k + w / 2, y: (p.y - this.cy) * this.k + h / 2 };
  }

  /** @param {number} sx @param {number} sy */
  toLatLon(sx, sy) {
    const { w, h } = this.size;
    return unproject(this.cx + (sx - w / 2) / this.k, this.cy + (sy - h / 2) / this.k);
  }

  /** Metres per screen pixel at a latitude. @param {number} lat */
  metresPerPixel(lat) {
    return (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / (256 * this.k);
  }

  bind() {
    let drag = /** @type {{ x: number, y: number, cx: number, cy: number, moved: boolean } | null} */ (null);
    this.svg.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, cx: this.cx, cy: this.cy, moved: false };
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
      if (!drag.moved) return;
      this.cx = drag.cx - dx / this.k;
      this.cy = drag.cy - dy / this.k;
      this.draw();
    });
    this.svg.addEventListener('pointerup', (e) => {
      const d = drag;
      drag = null;
      if (!d || d.moved) return;
      const t = /** @type {Element} */ (e.target);
      const id = t.getAttribute('data-device');
      if (id) return this.onDevice(this.devices.find((x) => x.id === id));
      const r = this.svg.getBoundingClientRect();
      this.onPick(this.toLatLon(e.clientX - r.left, e.clientY - r.top));
    });
    this.svg.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const r = this.svg.getBoundingClientRect();
        const before = this.toLatLon(e.clientX - r.left, e.clientY - r.top);
        this.k = Math.max(1, Math.min(2 ** 21, this.k * (e.deltaY < 0 ? 1.25 : 0.8)));
        const p = project(before.lon, before.lat);
        const { w, h } = this.size;
        this.cx = p.x - (e.clientX - r.left - w / 2) / this.k;
        this.cy = p.y - (e.clientY - r.top - h / 2) / this.k;
        this.draw();
      },
      { passive: false },
    );
    new ResizeObserver(() => this.draw()).observe(this.svg);
  }

  /** Centres and zooms so every device is visible. */
  fit() {
    if (this.devices.length === 0) return;
    const ps = this.devices.map((d) => project(d.lon, d.lat));
    const minX = Math.min(...ps.map((p) => p.x)),
      maxX = Math.max(...ps.map((p) => p.x));
    const minY = Math.min(...ps.map((p) => p.y)),
      maxY = Math.max(...ps.map((p) => p.y));
    const { w, h } = this.size;
    this.cx = (minX + maxX) / 2;
    this.cy = (minY + maxY) / 2;
    const span = Math.max((maxX - minX) / (w - 80), (maxY - minY) / (h - 80), 1e-7);
    this.k = Math.min(2 ** 20, 1 / span);
    this.draw();
  }

  /** @param {any[]} devices */
  setDevices(devices) {
    const first = this.devices.length === 0 && devices.length > 0;
    this.devices = devices;
    if (first) this.fit();
    else this.draw();
  }

  draw() {
    const { w, h } = this.size;
    for (const g of Object.values(this.layers)) g.replaceChildren();
    this.drawTiles(w, h);
    this.drawGrid(w, h);
    for (const a of this.areas) this.drawArea(a, 'inc-area inc-old');
    if (this.draft)
      this.drawArea({ kind: 'circle', center: this.draft, radiusM: this.draft.radiusM }, 'inc-area');
    for (const d of this.devices) {
      const p = this.toScreen(d.lon, d.lat);
      if (p.x < -20 || p.y < -20 || p.x > w + 20 || p.y > h + 20) continue;
      if (d.motionLastHour > 0) {
        this.layers.devices.appendChild(
          el('circle', {
            cx: p.x,
            cy: p.y,
            r: 8 + Math.min(10, Math.sqrt(d.motionLastHour) * 3),
            class: 'motion',
          }),
        );
      }
      if (this.targets.has(d.id))
        this.layers.devices.appendChild(el('circle', { cx: p.x, cy: p.y, r: 10, class: 'target' }));
      const c = el('circle', { cx: p.x, cy: p.y, r: 6, class: `dev ${d.health}`, 'data-device': d.id });
      const title = el('title');
      title.textContent = `${d.siteName} (${d.id}): ${d.health}`;
      c.appendChild(title);
      this.layers.devices.appendChild(c);
    }
    this.drawScale(w, h);
  }

  /** @param {any} area @param {string} cls */
  drawArea(area, cls) {
    if (area.kind === 'circle') {
      const p = this.toScreen(area.center.lon, area.center.lat);
      const r = area.radiusM / this.metresPerPixel(area.center.lat);
      this.layers.areas.appendChild(el('circle', { cx: p.x, cy: p.y, r: Math.max(2, r), class: cls }));
      this.layers.areas.appendChild(el('circle', { cx: p.x, cy: p.y, r: 2, class: cls }));
    } else {
      const pts = area.points
        .map((/** @type {any} */ q) => {
          const s = this.toScreen(q.lon, q.lat);
          return `${s.x},${s.y}`;
        })
        .join(' ');
      this.layers.areas.appendChild(el('polygon', { points: pts, class: cls }));
    }
  }

  /** @param {number} w @param {number} h */
  drawTiles(w, h) {
    if (!this.tileUrl) return;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(this.k))));
    const n = 2 ** z;
    const size = (256 / n) * this.k;
    const x0 = Math.floor(((this.cx - w / 2 / this.k) / 256) * n),
      x1 = Math.floor(((this.cx + w / 2 / this.k) / 256) * n);
    const y0 = Math.floor(((this.cy - h / 2 / this.k) / 256) * n),
      y1 = Math.floor(((this.cy + h / 2 / this.k) / 256) * n);
    for (let x = x0; x <= x1; x++)
      for (let y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
        const tx = ((x % n) + n) % n;
        const href = this.tileUrl
          .replace('{z}', String(z))
          .replace('{x}', String(tx))
          .replace('{y}', String(y));
        const sx = ((x * 256) / n - this.cx) * this.k + w / 2,
          sy = ((y * 256) / n - this.cy) * this.k + h / 2;
        this.layers.tiles.appendChild(
          el('image', { href, x: sx, y: sy, width: size + 0.5, height: size + 0.5 }),
        );
      }
  }

  /** A graticule every "nice" number of degrees, so the map reads as a map without tiles. @param {number} w @param {number} h */
  drawGrid(w, h) {
    const a = this.toLatLon(0, h),
      b = this.toLatLon(w, 0);
    const span = Math.max(b.lon - a.lon, 1e-6);
    const step =
      [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 45].find(
        (s) => span / s <= 12,
      ) ?? 90;
    for (let lon = Math.ceil(a.lon / step) * step; lon <= b.lon; lon += step) {
      const x = this.toScreen(lon, 0).x;
      this.layers.grid.appendChild(el('line', { x1: x, y1: 0, x2: x, y2: h, class: 'graticule' }));
    }
    for (let lat = Math.ceil(a.lat / step) * step; lat <= b.lat; lat += step) {
      const y = this.toScreen(0, lat).y;
      this.layers.grid.appendChild(el('line', { x1: 0, y1: y, x2: w, y2: y, class: 'graticule' }));
    }
  }

  /** A scale bar of a round length (1, 2 or 5 × 10^n metres) at the map centre's latitude. @param {number} w @param {number} h */
  drawScale(w, h) {
    const lat = this.toLatLon(w / 2, h / 2).lat;
    const mpp = this.metresPerPixel(lat);
    const target = mpp * 120;
    const pow = 10 ** Math.floor(Math.log10(target));
    const metres = [5, 2, 1].map((m) => m * pow).find((m) => m <= target) ?? pow;
    const px = metres / mpp;
    const g = el('g', { class: 'scale' });
    const x = w - px - 16,
      y = h - 16;
    g.appendChild(el('line', { x1: x, y1: y, x2: x + px, y2: y }));
    g.appendChild(el('line', { x1: x, y1: y - 5, x2: x, y2: y }));
    g.appendChild(el('line', { x1: x + px, y1: y - 5, x2: x + px, y2: y }));
    const t = el('text', { x: x + px / 2, y: y - 7, 'text-anchor': 'middle' });
    t.textContent = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
    g.appendChild(t);
    this.layers.overlay.appendChild(g);
  }
}
