/** The setup server's HTTP guards and validation, without cameras or an agent (no ffmpeg, no Chromium). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CameraStore } from '../../agent/cameras/store.js';
import { SetupServer } from '../../agent/setup/server.js';

const CODE = 'ABCDEFGHJK';
const SECRET = 'very-secret-pw';
let store: CameraStore;
let server: SetupServer;
let base: string;
let cookie = '';

function post(p: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-camconnect-setup': '1', cookie, ...headers },
    body: JSON.stringify(body),
  });
}
const get = (p: string) => fetch(base + p, { headers: { cookie } });

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'setup-server-'));
  store = new CameraStore(path.join(dir, 'cameras.json'));
  await store.load();
  await store.upsert({
    id: 'gate',
    name: 'Gate',
    streams: { main: { uri: 'rtsp://10.0.0.9/main' }, sub: { uri: 'rtsp://10.0.0.9/sub' } },
    snapshotUri: 'http://10.0.0.9/snap.jpg',
    location: null,
    motion: { source: 'pixel', zones: [], masks: [] },
    credentials: { username: 'admin', password: SECRET },
    addedAt: 0,
  });
  server = new SetupServer({ dataDir: dir, host: '127.0.0.1', port: 0, setupCode: CODE, cameras: store });
  await server.start(AbortSignal.timeout(5000));
  base = server.url();
});

afterAll(async () => {
  await server?.stop();
});

describe('SetupServer', () => {
  it('serves the page with a strict CSP and keeps the data locked', async () => {
    const page = await fetch(base + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await get('/api/overview')).status).toBe(401);
    expect(await (await get('/api/session')).json()).toEqual({ unlocked: false });
  });

  it('unlocks with the code: an HttpOnly SameSite=Strict cookie, only with the CSRF header', async () => {
    expect((await post('/api/unlock', { code: CODE }, { 'x-camconnect-setup': '' })).status).toBe(403);
    const res = await post('/api/unlock', { code: CODE.toLowerCase() });
    expect(res.status).toBe(200);
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^cc_setup=[\w-]{40,};/);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    cookie = set.split(';')[0]!;
    expect(await (await get('/api/session')).json()).toEqual({ unlocked: true });
  });

  it('shows cameras without URLs or credentials', async () => {
    const res = await get('/api/overview');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('admin');
    expect(text).not.toContain('rtsp://');
    expect(text).not.toContain('10.0.0.9');
    expect(JSON.parse(text).cameras[0]).toMatchObject({ id: 'gate', hasSnapshot: true, location: null });
  });

  it('validates and saves locations and zones, keeping the motion source', async () => {
    expect((await post('/api/cameras/gate/location', { lat: 91, lon: 0 })).status).toBe(400);
    expect((await post('/api/cameras/nope/location', { lat: 1, lon: 1 })).status).toBe(404);
    expect((await post('/api/cameras/gate/location', { lat: 38.9, lon: -77, heading: 270 })).status).toBe(
      200,
    );
    expect(store.get('gate')!.location).toEqual({ lat: 38.9, lon: -77, heading: 270 });
    const tri = [
      { x: 0, y: 0 },
      { x: 1, y: 0 },
      { x: 0.5, y: 1 },
    ];
    expect((await post('/api/cameras/gate/zones', { zones: [tri.slice(0, 2)], masks: [] })).status).toBe(400);
    expect(
      (await post('/api/cameras/gate/zones', { zones: [], masks: [[{ x: 2, y: 0 }, ...tri]] })).status,
    ).toBe(400);
    expect((await post('/api/cameras/gate/zones', { zones: [tri], masks: [] })).status).toBe(200);
    expect(store.get('gate')!.motion).toEqual({ source: 'pixel', zones: [tri], masks: [] });
    const noCsrf = await fetch(base + '/api/cameras/gate/zones', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ zones: [], masks: [] }),
    });
    expect(noCsrf.status).toBe(403);
    expect((await post('/api/cameras/gate/zones', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('reads approvals and the audit log of an agent that has none yet', async () => {
    expect(await (await get('/api/approvals')).json()).toEqual([]);
    expect(await (await get('/api/audit')).json()).toEqual({
      check: { ok: true, entries: 0 },
      total: 0,
      entries: [],
    });
    const bad = await post('/api/approvals/00000000-0000-4000-8000-000000000000', {
      cameraId: null,
      decision: 'approve',
    });
    expect(bad.status).toBe(404);
  });

  it('locks again, and limits wrong codes', async () => {
    expect((await post('/api/lock', {})).status).toBe(200);
    expect((await get('/api/overview')).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await post('/api/unlock', { code: 'WRONGWRONG' })).status).toBe(403);
    const limited = await post('/api/unlock', { code: CODE });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
