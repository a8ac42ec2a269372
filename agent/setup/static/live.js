// @ts-check
/**
 * Live view: the appliance streams the camera's own H.264 as fragmented MP4 over one chunked
 * HTTP response (no re-encode); this feeds it into Media Source Extensions. The codec string MSE
 * needs is read from the init segment's avcC box, so any H.264 profile the camera uses works.
 */
import { h } from './app.js';

/** Top-level boxes complete in `buf`: [type, start, end]. */
function boxes(buf) {
  const out = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = dv.getUint32(i);
    if (size < 8 || i + size > buf.length) break;
    out.push([String.fromCharCode(...buf.subarray(i + 4, i + 8)), i, i + size]);
    i += size;
  }
  return out;
}

/** `avc1.PPCCLL` from the avcC box inside the moov (profile, compatibility, level). */
export function codecFromInit(moov) {
  for (let i = 4; i + 8 < moov.length; i++) {
    if (moov[i] === 0x61 && moov[i + 1] === 0x76 && moov[i + 2] === 0x63 && moov[i + 3] === 0x43) {
      const hex = (b) => b.toString(16).padStart(2, '0');
      return `avc1.${hex(moov[i + 5])}${hex(moov[i + 6])}${hex(moov[i + 7])}`;
    }
  }
  return null;
}

/** @param {HTMLElement} body @param {any} cam */
export function openLive(body, cam) {
  const video = /** @type {HTMLVideoElement} */ (
    h('video', { muted: '', autoplay: '', playsinline: '', 'data-camera': cam.id })
  );
  video.muted = true;
  const status = h('p', { class: 'muted', id: 'live-status' }, ['connecting…']);
  const role = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'live-role' }, [
      h('option', { value: 'sub' }, ['sub-stream (light)']),
      h('option', { value: 'main' }, ['main stream (full resolution)']),
    ])
  );
  body.append(
    h('div', { class: 'toolbar' }, [role]),
    video,
    status,
    h('p', { class: 'muted' }, ['The camera’s own stream, copied without re-encoding.']),
  );
  let abort = new AbortController();
  const start = () => {
    abort = new AbortController();
    const signal = abort.signal;
    status.textContent = 'connecting…';
    const url = `/api/cameras/${encodeURIComponent(cam.id)}/live?role=${role.value}`;
    run(video, url, signal, (s) => {
      status.textContent = s;
    }).catch((err) => {
      if (!signal.aborted) status.textContent = `live view stopped: ${err.message}`;
    });
  };
  // Leaving the panel ends the request, and the appliance then stops the viewer's ffmpeg.
  const stop = () => {
    abort.abort();
    video.removeAttribute('src');
    video.load();
  };
  role.addEventListener('change', () => {
    stop();
    start();
  });
  start();
  return stop;
}

async function run(video, url, signal, say) {
  const res = await fetch(url, { signal, credentials: 'same-origin' });
  if (!res.ok || !res.body) {
    const problem = await res.json().catch(() => ({}));
    throw new Error(problem.error ?? `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  let pending = new Uint8Array(0);
  /** @type {SourceBuffer | null} */ let sb = null;
  /** @type {Uint8Array[]} */ const queue = [];
  const pump = () => {
    if (!sb || sb.updating || queue.length === 0) return;
    const b = video.buffered;
    // Keep the buffer short and stay near the live edge: this is a live view, not a player.
    if (b.length && b.end(b.length - 1) - b.start(0) > 30 && video.currentTime - b.start(0) > 10) {
      sb.remove(b.start(0), video.currentTime - 5);
      return;
    }
    sb.appendBuffer(/** @type {Uint8Array} */ (queue.shift()));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended');
    if (sb) {
      queue.push(value);
      pump();
    } else {
      const next = new Uint8Array(pending.length + value.length);
      next.set(pending);
      next.set(value, pending.length);
      pending = next;
      const moov = boxes(pending).find(([t]) => t === 'moov');
      if (!moov) continue;
      const codec = codecFromInit(pending.subarray(moov[1], moov[2]));
      if (!codec) throw new Error('the camera stream is not H.264');
      const type = `video/mp4; codecs="${codec}"`;
      if (!MediaSource.isTypeSupported(type)) throw new Error(`this browser cannot play ${type}`);
      sb = ms.addSourceBuffer(type);
      // Sequence mode lays fragments end to end from 0, whatever timestamps the camera sent.
      sb.mode = 'sequence';
      sb.addEventListener('updateend', () => {
        const b = video.buffered;
        if (b.length && b.end(b.length - 1) - video.currentTime > 3)
          video.currentTime = b.end(b.length - 1) - 0.5;
        pump();
      });
      queue.push(pending);
      pump();
      video.play().catch(() => say('press play to start'));
      say(`live · ${codec}`);
    }
  }
}
