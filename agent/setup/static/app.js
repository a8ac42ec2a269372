// @ts-check
/**
 * The setup page: a lock screen until the setup code is accepted, then the cameras, the policy,
 * approvals and the audit log. Plain ES modules from the appliance itself (strict CSP, no CDN).
 * Every POST carries the x-camconnect-setup header the server requires against cross-site forms.
 */
import { renderApprovals, renderAudit, renderPolicy } from './panels.js';
import { openLive } from './live.js';
import { openLocation } from './map.js';
import { openZones } from './zones.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} path @param {unknown} [body] */
export async function api(path, body) {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-camconnect-setup': '1' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) showLock();
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [kids] */
export function h(tag, attrs = {}, kids = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

/** @type {() => void} */
let closePanel = () => {};

/** Shows one tool (live view, map, zones) in the panel, closing the one before. */
export function showPanel(title, open) {
  closePanel();
  $('panel').hidden = false;
  $('panel-title').textContent = title;
  const body = $('panel-body');
  body.replaceChildren();
  closePanel = open(body) ?? (() => {});
  $('panel').scrollIntoView({ block: 'start' });
}

function showLock() {
  closePanel();
  $('main').hidden = true;
  $('lock-btn').hidden = true;
  $('lock').hidden = false;
  /** @type {HTMLInputElement} */ ($('code')).focus();
}

let overview = /** @type {any} */ (null);

export async function refresh() {
  overview = await api('/api/overview');
  const s = overview.site;
  $('site-line').textContent = s ? `${s.name} · device ${overview.agentId}` : 'not enrolled';
  renderCameras();
  renderPolicy($('policy'), s);
  await Promise.all([renderApprovals($('approvals')), renderAudit($('audit-check'), $('audit'))]);
}

function renderCameras() {
  const list = $('cameras');
  list.replaceChildren();
  for (const c of overview.cameras) {
    const img = /** @type {HTMLImageElement} */ (
      h('img', { alt: `snapshot of ${c.name}`, 'data-camera': c.id })
    );
    if (c.hasSnapshot) img.src = `/api/cameras/${encodeURIComponent(c.id)}/snapshot?t=${Date.now()}`;
    const loc = c.location
      ? `${c.location.lat.toFixed(5)}, ${c.location.lon.toFixed(5)}` +
        (c.location.heading !== undefined ? ` · heading ${Math.round(c.location.heading)}°` : '')
      : 'location not set';
    const zones = `${c.motion.zones.length} zone(s), ${c.motion.masks.length} mask(s) · motion: ${c.motionSource}`;
    const btn = (label, fn) => {
      const b = h('button', { 'data-action': label.toLowerCase(), 'data-camera': c.id }, [label]);
      b.addEventListener('click', fn);
      return b;
    };
    list.append(
      h('div', { class: 'card', 'data-camera': c.id }, [
        img,
        h('div', { class: 'body' }, [
          h('strong', {}, [c.name]),
          h('span', { class: 'muted' }, [`${c.vendor ?? ''} ${c.model ?? ''}`.trim() || c.id]),
          h('span', { class: 'loc' }, [loc]),
          h('span', { class: 'muted' }, [zones]),
          h('div', { class: 'actions' }, [
            btn('Live', () => showPanel(`Live · ${c.name}`, (body) => openLive(body, c))),
            btn('Location', () =>
              showPanel(`Location · ${c.name}`, (body) => openLocation(body, c, overview)),
            ),
            btn('Zones', () => showPanel(`Zones and masks · ${c.name}`, (body) => openZones(body, c))),
          ]),
        ]),
      ]),
    );
  }
}

async function start() {
  $('unlock-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('code'));
    $('unlock-error').textContent = '';
    api('/api/unlock', { code: input.value })
      .then(async () => {
        input.value = '';
        await enter();
      })
      .catch((err) => {
        $('unlock-error').textContent = err.message;
      });
  });
  $('lock-btn').addEventListener('click', () => {
    api('/api/lock', {}).then(showLock, showLock);
  });
  const session = await api('/api/session');
  if (session.unlocked) await enter();
  else showLock();
}

async function enter() {
  $('lock').hidden = true;
  $('main').hidden = false;
  $('lock-btn').hidden = false;
  await refresh();
  document.body.dataset['ready'] = '1';
}

start().catch((err) => {
  document.body.textContent = `The setup page could not start: ${err.message}`;
});
