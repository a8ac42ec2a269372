import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCameraId, publicView, type CameraRecord } from '../../agent/cameras/inventory.js';
import { CameraStore } from '../../agent/cameras/store.js';
import { codecName, pickStreams, splitCredentials, withCredentials } from '../../agent/cameras/streams.js';

const SECRET = 'S3cret&<pw>';

function camera(id: string, extra: Partial<CameraRecord> = {}): CameraRecord {
  return {
    id,
    name: `Camera ${id}`,
    onvif: { xaddr: 'http://192.0.2.10/onvif/device_service', manufacturer: 'Acme', model: 'X1' },
    streams: {
      main: { uri: 'rtsp://192.0.2.10/main', width: 1920, height: 1080, codec: 'h264', fps: 25 },
      sub: { uri: 'rtsp://192.0.2.10/sub', width: 640, height: 360, codec: 'h264' },
    },
    location: null,
    motion: { source: 'onvif', zones: [], masks: [] },
    credentials: { username: 'admin', password: SECRET },
    addedAt: 1,
    ...extra,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-cameras-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CameraStore', () => {
  it('writes the state file with mode 0600 and reads it back', async () => {
    const file = path.join(dir, 'state', 'cameras.json');
    const s = new CameraStore(file);
    await s.load();
    expect(s.list()).toEqual([]);
    await s.upsert(camera('front'));
    await s.setLocation('front', { lat: 52.52, lon: 13.405, heading: 90, fovDeg: 100 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No temp files left behind after the atomic replace.
    expect(await readdir(path.dirname(file))).toEqual(['cameras.json']);
    const again = new CameraStore(file);
    await again.load();
    expect(again.get('front')).toMatchObject({
      location: { lat: 52.52, lon: 13.405, heading: 90 },
      credentials: { password: SECRET },
    });
  });

  it('keeps writes in order and replaces by id', async () => {
    const s = new CameraStore(path.join(dir, 'c.json'));
    await s.load();
    await Promise.all([
      s.upsert(camera('a')),
      s.upsert(camera('b')),
      s.upsert(camera('a', { name: 'Renamed' })),
    ]);
    const again = new CameraStore(path.join(dir, 'c.json'));
    await again.load();
    expect(again.list().map((c) => [c.id, c.name])).toEqual([
      ['a', 'Renamed'],
      ['b', 'Camera b'],
    ]);
    expect(await again.remove('a')).toBe(true);
    expect(await again.remove('a')).toBe(false);
  });

  it('tightens a state file that others could read', async () => {
    const file = path.join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ version: 1, cameras: [camera('a')] }));
    await chmod(file, 0o644);
    await new CameraStore(file).load();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses an invalid file without printing its secrets', async () => {
    const file = path.join(dir, 'c.json');
    const bad = camera('a', {
      streams: { main: { uri: `rtsp://admin:${SECRET}@host/x` }, sub: { uri: 'rtsp://host/y' } },
    });
    await writeFile(file, JSON.stringify({ version: 1, cameras: [bad] }));
    const err = await new CameraStore(file).load().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/streams\.main\.uri: must not embed credentials/);
    expect(err?.message).not.toContain(SECRET);
  });

  it('refuses a URL with credentials in a record (they belong in credentials)', async () => {
    const s = new CameraStore(path.join(dir, 'c.json'));
    await s.load();
    await expect(
      s.upsert(camera('a', { snapshotUri: `http://admin:${SECRET}@host/snap.jpg` })),
    ).rejects.toThrow();
  });
});

describe('publicView', () => {
  it('carries what the RTCC may know and nothing that reaches the camera', () => {
    const v = publicView(camera('front', { location: { lat: 1, lon: 2 } }));
    expect(v).toEqual({
      id: 'front',
      name: 'Camera front',
      location: { lat: 1, lon: 2 },
      streams: [
        { role: 'main', width: 1920, height: 1080, codec: 'h264', fps: 25 },
        { role: 'sub', width: 640, height: 360, codec: 'h264' },
      ],
      motionSource: 'onvif',
      vendor: 'Acme',
      model: 'X1',
    });
    const text = JSON.stringify(v);
    for (const secret of [SECRET, 'admin', 'rtsp://', 'http://']) expect(text).not.toContain(secret);
  });
});

describe('stream roles', () => {
  const p = (token: string, width: number, height: number, encoding = 'H264', fps = 15) => ({
    token,
    width,
    height,
    encoding,
    fps,
  });
  it('records the most pixels and analyses the fewest', () => {
    const c = pickStreams([
      p('mid', 1280, 720),
      p('big', 2560, 1440),
      p('small', 640, 360),
      p('meta', 0, 0, 'H264'),
    ]);
    expect([c?.main.token, c?.sub.token, c?.shared]).toEqual(['big', 'small', false]);
  });
  it('prefers the higher frame rate on a tie and skips unusable codecs', () => {
    const c = pickStreams([
      p('a', 1920, 1080, 'H264', 15),
      p('b', 1920, 1080, 'H264', 30),
      p('c', 320, 240, 'G711'),
    ]);
    expect([c?.main.token, c?.sub.token]).toEqual(['b', 'a']);
  });
  it('shares a single profile and gives up on none', () => {
    expect(pickStreams([p('only', 1280, 720)])).toMatchObject({ shared: true });
    expect(pickStreams([])).toBeUndefined();
    expect(codecName('H265')).toBe('hevc');
  });
  it('moves credentials between the URL and the record, encoded both ways', () => {
    const url = withCredentials('rtsp://192.0.2.1:554/s?x=1', { username: 'ad min', password: 'p@ss:w/rd' });
    expect(url).toBe('rtsp://ad%20min:p%40ss%3Aw%2Frd@192.0.2.1:554/s?x=1');
    expect(splitCredentials(url)).toEqual({
      uri: 'rtsp://192.0.2.1:554/s?x=1',
      credentials: { username: 'ad min', password: 'p@ss:w/rd' },
    });
    expect(splitCredentials('rtsp://h/x')).toEqual({ uri: 'rtsp://h/x' });
  });
  it('makes readable, unique ids', () => {
    expect(makeCameraId('Front Door #2', new Set())).toBe('front-door-2');
    expect(makeCameraId('Front Door #2', new Set(['front-door-2']))).toBe('front-door-2-2');
    expect(makeCameraId('!!!', new Set())).toBe('camera');
  });
});

describe('state file content', () => {
  it('is plain JSON a person can read (and back up)', async () => {
    const file = path.join(dir, 'c.json');
    const s = new CameraStore(file);
    await s.load();
    await s.upsert(camera('a'));
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 1, cameras: [{ id: 'a' }] });
  });
});
