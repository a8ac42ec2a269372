// @ts-check
/**
 * Where a camera is and where it looks: a small map drawn in SVG around the site (no tiles, no
 * internet), Web Mercator like the RTCC dashboard so positions agree. Click to place the camera;
 * the heading is typed or set by a second click with Shift held.
 */
import { api, h, refresh } from './app.js';

const SVGNS = 'http://www.w3.org/2000/svg';
const W = 640;
const HGT = 420;

/** Web Mercator world coordinates, 0..256 at zoom 0. */
export function project(lon, lat) {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return { x: ((lon + 180) / 360) * 256, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256 };
}
export function unproject(x, y) {
  const n = Math.PI - (2 * Math.PI * y) / 256;
  return { lon: (x / 256) * 360 - 180, lat: (180 / Math.PI) * Math.atan(Math.sinh(n)) };
}

function el(tag, attrs = {}) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** @param {HTMLElement} body @param {any} cam @param {any} overview */
export function openLocation(body, cam, overview) {
  const site = overview.site ?? { lat: 0, lon: 0 };
  let zoom = 19;
  let pos = cam.location ? { lat: cam.location.lat, lon: cam.location.lon } : null;
  const svg = /** @type {SVGSVGElement} */ (
    /** @type {unknown} */ (el('svg', { class: 'map', viewBox: `0 0 ${W} ${HGT}`, 'data-map': cam.id }))
  );
  const heading = /** @type {HTMLInputElement} */ (
    h('input', { type: 'number', min: '0', max: '359', step: '1', id: 'heading' })
  );
  heading.value = cam.location?.heading !== undefined ? String(Math.round(cam.location.heading)) : '';
  const fov = /** @type {HTMLInputElement} */ (
    h('input', { type: 'number', min: '1', max: '360', step: '1', id: 'fov' })
  );
  fov.value = cam.location?.fovDeg !== undefined ? String(cam.location.fovDeg) : '90';
  const readout = h('span', { id: 'loc-readout' }, []);
  const status = h('span', { id: 'loc-status', class: 'muted' }, []);
  const save = h('button', { class: 'primary', id: 'loc-save' }, ['Save location']);
  const zin = h('button', {}, ['+']);
  const zout = h('button', {}, ['−']);
  body.append(
    h('div', { class: 'map-wrap' }, [
      svg,
      h('div', { class: 'form-col' }, [
        h('p', { class: 'muted' }, ['Click the map where the camera is mounted. Shift-click to aim it.']),
        h('p', { class: 'muted' }, ['Incident checks use a new location from the agent’s next restart.']),
        readout,
        h('label', {}, ['Heading (degrees from north)', heading]),
        h('label', {}, ['Field of view (degrees)', fov]),
        h('div', { class: 'toolbar' }, [zin, zout, save]),
        status,
      ]),
    ]),
  );
  const center = () => project(pos?.lon ?? site.lon, pos?.lat ?? site.lat);
  let c = center();
  const k = () => 2 ** zoom;
  const toScreen = (lon, lat) => {
    const p = project(lon, lat);
    return { x: W / 2 + (p.x - c.x) * k(), y: HGT / 2 + (p.y - c.y) * k() };
  };
  const fromScreen = (sx, sy) => unproject(c.x + (sx - W / 2) / k(), c.y + (sy - HGT / 2) / k());
  const metresPerPx = () => (40075016.686 * Math.cos((site.lat * Math.PI) / 180)) / (256 * k());

  const draw = () => {
    svg.replaceChildren();
    // A 10 m grid gives a sense of scale without any map data.
    const step = 10 / metresPerPx();
    for (let x = (W / 2) % step; x < W; x += step)
      svg.append(el('line', { x1: x, y1: 0, x2: x, y2: HGT, stroke: '#d5dde5' }));
    for (let y = (HGT / 2) % step; y < HGT; y += step)
      svg.append(el('line', { x1: 0, y1: y, x2: W, y2: y, stroke: '#d5dde5' }));
    const s = toScreen(site.lon, site.lat);
    svg.append(el('rect', { x: s.x - 7, y: s.y - 7, width: 14, height: 14, fill: '#111827' }));
    const label = el('text', { x: s.x + 10, y: s.y - 8, 'font-size': 12, fill: '#111827' });
    label.textContent = overview.site?.name ?? 'site';
    svg.append(label);
    for (const o of overview.cameras) {
      if (o.id === cam.id || !o.location) continue;
      const p = toScreen(o.location.lon, o.location.lat);
      svg.append(el('circle', { cx: p.x, cy: p.y, r: 5, fill: '#9ca3af' }));
    }
    if (pos) {
      const p = toScreen(pos.lon, pos.lat);
      const hd = Number(heading.value);
      if (heading.value !== '' && Number.isFinite(hd)) {
        const half = Math.min(179, (Number(fov.value) || 90) / 2);
        const r = 80;
        const pt = (deg) => [
          p.x + r * Math.sin((deg * Math.PI) / 180),
          p.y - r * Math.cos((deg * Math.PI) / 180),
        ];
        const [ax, ay] = pt(hd - half);
        const [bx, by] = pt(hd + half);
        svg.append(
          el('path', {
            d: `M${p.x},${p.y} L${ax},${ay} A${r},${r} 0 0 1 ${bx},${by} Z`,
            fill: '#1f6feb33',
            stroke: '#1f6feb',
          }),
        );
      }
      svg.append(
        el('circle', {
          cx: p.x,
          cy: p.y,
          r: 8,
          fill: '#1f6feb',
          stroke: '#fff',
          'stroke-width': 2,
          'data-marker': 'camera',
        }),
      );
      readout.textContent = `${pos.lat.toFixed(6)}, ${pos.lon.toFixed(6)}`;
    } else readout.textContent = 'not placed yet';
    const scale = el('text', { x: 10, y: HGT - 10, 'font-size': 11, fill: '#475569' });
    scale.textContent = `grid: 10 m · zoom ${zoom}`;
    svg.append(scale);
  };

  svg.addEventListener('click', (ev) => {
    const r = svg.getBoundingClientRect();
    const sx = ((ev.clientX - r.left) / r.width) * W;
    const sy = ((ev.clientY - r.top) / r.height) * HGT;
    if (ev.shiftKey && pos) {
      const p = toScreen(pos.lon, pos.lat);
      heading.value = String(Math.round(((Math.atan2(sx - p.x, -(sy - p.y)) * 180) / Math.PI + 360) % 360));
    } else pos = fromScreen(sx, sy);
    draw();
  });
  heading.addEventListener('input', draw);
  fov.addEventListener('input', draw);
  zin.addEventListener('click', () => {
    zoom = Math.min(21, zoom + 1);
    draw();
  });
  zout.addEventListener('click', () => {
    zoom = Math.max(14, zoom - 1);
    draw();
  });
  save.addEventListener('click', () => {
    if (!pos) return void (status.textContent = 'click the map first');
    const loc = { lat: pos.lat, lon: pos.lon };
    if (heading.value !== '') loc.heading = ((Number(heading.value) % 360) + 360) % 360;
    if (fov.value !== '') loc.fovDeg = Number(fov.value);
    api(`/api/cameras/${encodeURIComponent(cam.id)}/location`, loc)
      .then(() => {
        status.textContent = 'saved';
        status.dataset['saved'] = '1';
        return refresh();
      })
      .catch((err) => {
        status.textContent = `not saved: ${err.message}`;
      });
  });
  c = center();
  draw();
  return () => {};
}
