// @ts-check
/**
 * The RTCC dashboard: devices on a map with health at a glance, an incident form (click the
 * map, set a radius and a window), live progress of an incident over server-sent events, and
 * evidence playback with its verification status. Plain browser JS served by the bridge: no
 * framework, no CDN. The API token stays in sessionStorage (this tab only) and goes in the
 * Authorization header; EventSource cannot send headers, so the event stream is read with fetch.
 */
import { MapView } from './map.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const state = {
  token: sessionStorage.getItem('ccb-token') ?? '',
  /** @type {any} */ config: null,
  /** @type {any[]} */ devices: [],
  /** @type {string | null} */ selected: null,
  /** @type {AbortController | null} */ stream: null,
  /** @type {{ lat: number, lon: number } | null} */ center: null,
};
/** @type {MapView} */
let map;

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: {
      authorization: `Bearer ${state.token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  if (res.status === 401) signOut('Your token was refused.');
  return res;
}

/** @param {string} [why] */
function signOut(why) {
  sessionStorage.removeItem('ccb-token');
  state.token = '';
  $('login').hidden = false;
  $('who').hidden = true;
  if (why) $('formError').textContent = why;
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children] */
function h(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
/** @type {Record<string, number>} */
const RANK = { offline: 0, degraded: 1, unknown: 2, online: 3 };
const badge = (/** @type {string} */ s) => h('span', { class: `state ${s}` }, [s]);
const ago = (/** @type {number | null} */ t) =>
  t ? `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago` : '—';
const hours = (/** @type {number | null} */ s) => (s == null ? '—' : `${(s / 3600).toFixed(1)} h`);
const localInput = (/** @type {number} */ ms) =>
  new Date(ms - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

async function start() {
  const res = await api('/api/config');
  if (!res.ok) return;
  state.config = await res.json();
  $('login').hidden = true;
  $('who').hidden = false;
  $('who').textContent = `${state.config.name} · ${state.config.role}`;
  const radius = /** @type {HTMLInputElement} */ ($('radius'));
  radius.max = String(state.config.limits.maxRadiusM);
  if (map) return;
  map = new MapView(/** @type {any} */ ($('map')), { tileUrl: state.config.tileUrl });
  map.onPick = (p) => {
    state.center = p;
    /** @type {HTMLInputElement} */ ($('center')).value = `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`;
    map.draft = { ...p, radiusM: Number(radius.value) };
    map.draw();
  };
  map.onDevice = (d) => void showDevice(d.id);
  await refreshDevices();
  await refreshIncidents();
  setInterval(() => void refreshDevices(), 5000);
  setInterval(() => void refreshIncidents(), 10_000);
}

async function refreshDevices() {
  const res = await api('/api/devices?limit=10000');
  if (!res.ok) return;
  state.devices = (await res.json()).devices;
  map.setDevices(state.devices);
  const count = (/** @type {string} */ s) => state.devices.filter((d) => d.health === s).length;
  $('glance').replaceChildren(
    ...['online', 'degraded', 'offline', 'unknown'].map((s) =>
      h('span', { class: s }, [h('b', {}, [String(count(s))]), ` ${s}`]),
    ),
    h('span', {}, [
      h('b', {}, [String(state.devices.reduce((n, d) => n + d.motionLastHour, 0))]),
      ' motion episodes (1 h)',
    ]),
  );
  $('devices')
    .querySelector('tbody')
    ?.replaceChildren(
      // Worst first, and at most 200 rows: a city has thousands of devices; the map shows all.
      ...[...state.devices]
        .sort((a, b) => RANK[a.health] - RANK[b.health] || a.siteName.localeCompare(b.siteName))
        .slice(0, 200)
        .map((d) => {
          const tr = h('tr', {}, [
            h('td', {}, [d.siteName]),
            h('td', {}, [badge(d.health)]),
            h('td', {}, [hours(d.bufferSeconds)]),
            h('td', {}, [String(d.motionLastHour)]),
            h('td', {}, [ago(d.lastSeen)]),
          ]);
          tr.addEventListener('click', () => void showDevice(d.id));
          return tr;
        }),
    );
}

/** @param {string} id */
async function showDevice(id) {
  const res = await api(`/api/devices/${encodeURIComponent(id)}`);
  if (!res.ok) return;
  const d = await res.json();
  const panel = $('device');
  panel.hidden = false;
  const rows = [
    ['Device', d.id],
    ['Site', d.siteName],
    ['Health', d.health + (d.statusReason ? ` (${d.statusReason})` : '')],
    ['Policy', d.policy],
    ['Buffer depth', hours(d.bufferSeconds)],
    ['Cameras', d.cameras.map((/** @type {any} */ c) => c.name ?? c.id).join(', ') || '—'],
    ['Last health', ago(d.lastHealthAt)],
    ['Recent motion', `${d.motion.length} episodes`],
  ];
  panel.replaceChildren(
    h('h2', {}, [d.siteName]),
    h(
      'dl',
      {},
      rows.flatMap(([k, v]) => [h('dt', {}, [k]), h('dd', {}, [v])]),
    ),
  );
}

async function refreshIncidents() {
  const res = await api('/api/incidents');
  if (!res.ok) return;
  const list = (await res.json()).incidents;
  map.areas = list.slice(0, 10).map((/** @type {any} */ i) => i.area);
  map.draw();
  $('incidents').replaceChildren(
    ...list.map((/** @type {any} */ i) => {
      const li = h('li', { class: i.id === state.selected ? 'sel' : '' }, [
        `${i.caseNumber} — ${i.reason} `,
        h('span', { class: 'muted' }, [`(${i.targets} agents)`]),
      ]);
      li.addEventListener('click', () => void selectIncident(i.id));
      return li;
    }),
  );
}

/** Reads the server-sent event stream (text/event-stream) of one incident. @param {string} id */
async function selectIncident(id) {
  state.stream?.abort();
  const ac = new AbortController();
  state.stream = ac;
  state.selected = id;
  void refreshIncidents();
  try {
    const res = await api(`/api/incidents/${id}/events`, { signal: ac.signal });
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) renderProgress(JSON.parse(data));
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) console.warn('incident stream ended', err);
  }
}

/** @param {any} v */
function renderProgress(v) {
  const panel = $('progress');
  panel.hidden = false;
  map.targets = new Set(v.targets.map((/** @type {any} */ t) => t.deviceId));
  map.draw();
  const targets = h('table', {}, [
    h('thead', {}, [
      h(
        'tr',
        {},
        ['Agent', 'State', 'Camera', 'Progress'].map((x) => h('th', {}, [x])),
      ),
    ]),
  ]);
  const body = h('tbody');
  for (const t of v.targets) {
    const cams = t.cameras.length ? t.cameras : [{ cameraId: '—', state: '', percent: null }];
    for (const c of cams) {
      const bar = h('div', { class: 'bar' }, [h('i')]);
      /** @type {HTMLElement} */ (bar.firstChild).style.width =
        `${c.percent ?? (c.state === 'verified' ? 100 : 0)}%`;
      body.append(
        h('tr', {}, [
          h('td', {}, [t.siteName ?? t.deviceId]),
          h('td', {}, [badge(t.state)]),
          h('td', {}, [c.cameraId, ' ', c.state ? badge(c.state) : '']),
          h('td', {}, [c.percent != null || c.state === 'verified' ? bar : '']),
        ]),
      );
    }
  }
  targets.append(body);
  const evidence = v.evidence.map((/** @type {any} */ e) => {
    const files = (e.receipt?.files ?? []).map((/** @type {any} */ f) => {
      const play = h('button', { type: 'button' }, [`Play ${f.name}`]);
      play.addEventListener('click', () => void playEvidence(v.id, e, f.name, play));
      return play;
    });
    return h('div', { class: 'evidence' }, [
      h('div', {}, [`${e.deviceId} / ${e.cameraId} `, badge(e.state), ` ${Math.round(e.percent)}%`]),
      h('div', { class: 'muted' }, [
        e.packageSha256 ? `package sha256 ${e.packageSha256.slice(0, 16)}…` : (e.detail ?? ''),
      ]),
      ...files,
    ]);
  });
  const cancel = h('button', { type: 'button', class: 'cancel' }, ['Cancel incident']);
  cancel.addEventListener('click', () => {
    if (!confirm(`Withdraw ${v.caseNumber}? Agents that have not finished stop.`)) return;
    void api(`/api/incidents/${v.id}/cancel`, { method: 'POST', body: JSON.stringify({}) });
  });
  panel.replaceChildren(
    h('h2', {}, [`${v.caseNumber}: ${v.reason}`]),
    cancel,
    h('div', { class: 'muted' }, [
      `${new Date(v.from).toLocaleString()} → ${new Date(v.to).toLocaleString()} · ${v.targets.length} agents`,
    ]),
    targets,
    h('h2', {}, ['Evidence']),
    ...(evidence.length ? evidence : [h('div', { class: 'muted' }, ['none yet'])]),
  );
}

/** Playback: fetch with the token (a <video src> cannot send it) and play from a blob URL. */
async function playEvidence(
  /** @type {string} */ id,
  /** @type {any} */ e,
  /** @type {string} */ name,
  /** @type {HTMLElement} */ after,
) {
  const res = await api(
    `/api/incidents/${id}/evidence/${encodeURIComponent(e.deviceId)}/${encodeURIComponent(e.cameraId)}/${encodeURIComponent(name)}`,
  );
  if (!res.ok) return;
  const video = h('video', { controls: '' });
  /** @type {HTMLVideoElement} */ (video).src = URL.createObjectURL(await res.blob());
  after.after(video);
}

function bindForm() {
  const radius = /** @type {HTMLInputElement} */ ($('radius'));
  radius.addEventListener('input', () => {
    $('radiusOut').textContent = `${radius.value} m`;
    if (map?.draft) {
      map.draft.radiusM = Number(radius.value);
      map.draw();
    }
  });
  /** @type {HTMLInputElement} */ ($('from')).value = localInput(Date.now() - 3600_000);
  /** @type {HTMLInputElement} */ ($('to')).value = localInput(Date.now());
  $('incident').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void submitIncident();
  });
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.token = /** @type {HTMLInputElement} */ ($('token')).value.trim();
    sessionStorage.setItem('ccb-token', state.token);
    $('formError').textContent = '';
    void start();
  });
}

async function submitIncident() {
  const err = $('formError');
  err.textContent = '';
  if (!state.center) {
    err.textContent = 'Click the map to set the incident centre.';
    return;
  }
  const val = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id)).value;
  const body = {
    caseNumber: val('caseNumber'),
    reason: val('reason'),
    area: { kind: 'circle', center: state.center, radiusM: Number(val('radius')) },
    from: new Date(val('from')).getTime(),
    to: new Date(val('to')).getTime(),
  };
  const res = await api('/api/incidents', { method: 'POST', body: JSON.stringify(body) });
  const out = await res.json();
  if (!res.ok) {
    err.textContent = [
      out.detail,
      ...(out.errors ?? []).map((/** @type {any} */ e) => `${e.path}: ${e.message}`),
    ].join('\n');
    return;
  }
  map.draft = null;
  await selectIncident(out.id);
}

bindForm();
if (state.token) void start();
