// @ts-check
/**
 * Motion zones (where to look) and masks (where never to look), drawn on the camera's snapshot.
 * Points are fractions of the frame (0..1), the same form agent/motion/zones.ts stores, so they
 * fit any decode size. Click to add points, "Close shape" (or a double click) to finish one.
 */
import { api, h, refresh } from './app.js';

const SVGNS = 'http://www.w3.org/2000/svg';
const COLOURS = { zones: ['#1a7f3744', '#1a7f37'], masks: ['#cf222e55', '#cf222e'] };

function el(tag, attrs = {}) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** @param {HTMLElement} body @param {any} cam */
export function openZones(body, cam) {
  const shapes = { zones: structuredClone(cam.motion.zones), masks: structuredClone(cam.motion.masks) };
  /** @type {{x: number, y: number}[]} */ let draft = [];
  let kind = /** @type {'zones' | 'masks'} */ ('zones');
  const img = h('img', {
    alt: `snapshot of ${cam.name}`,
    src: `/api/cameras/${encodeURIComponent(cam.id)}/snapshot?t=${Date.now()}`,
  });
  const svg = el('svg', { viewBox: '0 0 1 1', preserveAspectRatio: 'none', 'data-zones': cam.id });
  const kindSel = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'zone-kind' }, [
      h('option', { value: 'zones' }, ['Zone (watch here)']),
      h('option', { value: 'masks' }, ['Mask (ignore here)']),
    ])
  );
  const close = h('button', { id: 'zone-close' }, ['Close shape']);
  const undo = h('button', {}, ['Undo point']);
  const clear = h('button', { class: 'danger' }, ['Clear all']);
  const save = h('button', { class: 'primary', id: 'zone-save' }, ['Save']);
  const status = h('span', { id: 'zone-status', class: 'muted' }, []);
  body.append(
    h('div', { class: 'toolbar' }, [kindSel, close, undo, clear, save, status]),
    h('div', { class: 'zone-wrap' }, [img, svg]),
    h('p', { class: 'muted' }, [
      'No zones means the whole frame is watched. Masks win over zones. Motion detection picks up changes when the agent restarts.',
    ]),
  );

  const pts = (poly) => poly.map((p) => `${p.x},${p.y}`).join(' ');
  const draw = () => {
    svg.replaceChildren();
    for (const k of /** @type {const} */ (['zones', 'masks'])) {
      const [fill, stroke] = COLOURS[k];
      for (const poly of shapes[k]) {
        svg.append(
          el('polygon', {
            points: pts(poly),
            fill,
            stroke,
            'stroke-width': 2,
            'vector-effect': 'non-scaling-stroke',
            'data-kind': k,
          }),
        );
      }
    }
    if (draft.length) {
      const stroke = COLOURS[kind][1];
      svg.append(
        el('polyline', {
          points: pts(draft),
          fill: 'none',
          stroke,
          'stroke-width': 2,
          'stroke-dasharray': '4 3',
          'vector-effect': 'non-scaling-stroke',
        }),
      );
      for (const p of draft) svg.append(el('circle', { cx: p.x, cy: p.y, r: 0.006, fill: stroke }));
    }
    status.textContent = `${shapes.zones.length} zone(s), ${shapes.masks.length} mask(s)${draft.length ? ` · drawing: ${draft.length} point(s)` : ''}`;
  };
  const finish = () => {
    if (draft.length >= 3) shapes[kind].push(draft);
    draft = [];
    draw();
  };
  svg.addEventListener('click', (ev) => {
    const r = svg.getBoundingClientRect();
    const clamp = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
    const p = { x: clamp((ev.clientX - r.left) / r.width), y: clamp((ev.clientY - r.top) / r.height) };
    const last = draft[draft.length - 1];
    // A double click (finish) also fires two clicks on the same spot: keep one point.
    if (!last || Math.abs(last.x - p.x) + Math.abs(last.y - p.y) > 0.002) draft.push(p);
    draw();
  });
  svg.addEventListener('dblclick', finish);
  kindSel.addEventListener('change', () => {
    finish();
    kind = /** @type {'zones' | 'masks'} */ (kindSel.value);
  });
  close.addEventListener('click', finish);
  undo.addEventListener('click', () => {
    draft.pop();
    draw();
  });
  clear.addEventListener('click', () => {
    shapes.zones = [];
    shapes.masks = [];
    draft = [];
    draw();
  });
  save.addEventListener('click', () => {
    finish();
    api(`/api/cameras/${encodeURIComponent(cam.id)}/zones`, shapes)
      .then(() => {
        status.textContent += ' · saved';
        status.dataset['saved'] = '1';
        return refresh();
      })
      .catch((err) => {
        status.textContent = `not saved: ${err.message}`;
      });
  });
  draw();
  return () => {};
}
