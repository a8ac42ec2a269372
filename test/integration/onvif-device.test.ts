/**
 * The simulated ONVIF device against the real `onvif` npm client and plain
 * HTTP clients (fetch, ffprobe), over loopback sockets on ephemeral ports.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type onvif from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice } from '../../simulator/onvif/device.js';
import { SceneTimeline, sceneByName } from '../../simulator/scenes.js';
import {
  call,
  connectCam,
  faultSubcodes,
  makeJpeg,
  probeSize,
  soap,
  testCamera,
} from '../helpers/onvif-fixtures.js';

const auth = { username: 'operator', password: 'correct horse' };
const OFFSET_SEC = -3600; // this device's clock runs an hour behind

let jpeg: Buffer;
let open: OnvifDevice;
let locked: OnvifDevice;
let tmp: string;

beforeAll(async () => {
  jpeg = await makeJpeg();
  tmp = await mkdtemp(path.join(tmpdir(), 'onvif-device-'));
  const timeline = new SceneTimeline(sceneByName('street'), Date.now());
  open = new OnvifDevice({ camera: testCamera('open1', timeline, jpeg), log: silentLogger });
  locked = new OnvifDevice({
    camera: testCamera('locked1', timeline, jpeg),
    auth,
    clockOffsetSec: OFFSET_SEC,
    log: silentLogger,
  });
  await open.start(AbortSignal.timeout(10_000));
  await locked.start(AbortSignal.timeout(10_000));
});

afterAll(async () => {
  await open?.stop();
  await locked?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function checkMedia(cam: onvif.Cam, device: OnvifDevice): Promise<string> {
  const profiles = await call<onvif.Profile[]>((cb) => cam.getProfiles(cb));
  expect(profiles.map((p) => [p.$.token, p.videoEncoderConfiguration?.resolution])).toEqual([
    ['main', { width: 1280, height: 720 }],
    ['sub', { width: 640, height: 360 }],
  ]);
  const enc = profiles[0]!.videoEncoderConfiguration!;
  expect(enc.encoding).toBe('H264');
  expect(enc.rateControl).toMatchObject({ frameRateLimit: 15, bitrateLimit: 1500 });
  expect(profiles[1]!.videoSourceConfiguration?.sourceToken).toBe('vs0');
  const id = device.name.replace('onvif:', '');
  const main = await call<onvif.MediaUri>((cb) => cam.getStreamUri({ profileToken: 'main' }, cb));
  const sub = await call<onvif.MediaUri>((cb) => cam.getStreamUri({ profileToken: 'sub' }, cb));
  expect(main.uri).toBe(`rtsp://127.0.0.1:8554/${id}/main`);
  expect(sub.uri).toBe(`rtsp://127.0.0.1:8554/${id}/sub`);
  const snap = await call<onvif.MediaUri>((cb) => cam.getSnapshotUri({ profileToken: 'main' }, cb));
  expect(snap.uri).toBe(`http://127.0.0.1:${device.port()}/onvif/snapshot.jpg`);
  return snap.uri;
}

describe('OnvifDevice without authentication', () => {
  it('exposes its address and a stable uuid', () => {
    expect(open.xaddr()).toBe(`http://127.0.0.1:${open.port()}/onvif/device_service`);
    expect(open.uuid).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const again = new OnvifDevice({
      camera: testCamera('open1', new SceneTimeline(sceneByName('still'), 0), jpeg),
    });
    expect(again.uuid).toBe(open.uuid);
    expect(open.health()).toMatchObject({ state: 'ok', port: open.port() });
  });

  it('lets the onvif client connect, list profiles, and get stream and snapshot URIs', async () => {
    const cam = await connectCam({ hostname: '127.0.0.1', port: open.port(), timeout: 10_000 });
    expect(cam.uri?.['media']?.href).toBe(`http://127.0.0.1:${open.port()}/onvif/media_service`);
    expect(cam.uri?.['events']?.href).toBe(`http://127.0.0.1:${open.port()}/onvif/events_service`);
    const info = await call<onvif.DeviceInformation>((cb) => cam.getDeviceInformation(cb));
    expect(info).toMatchObject({ manufacturer: 'CamConnect', model: 'SimCam-T', serialNumber: 'SN-open1' });
    const snapUri = await checkMedia(cam, open);
    const res = await fetch(snapUri);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(await probeSize(snapUri)).toEqual({ width: 1280, height: 720 });
  });

  it('answers an unknown action with ter:ActionNotSupported and junk with ter:WellFormed', async () => {
    const unknown = await soap(`http://127.0.0.1:${open.port()}/onvif/device_service`, '<tds:SystemReboot/>');
    expect(unknown.status).toBe(500);
    expect(faultSubcodes(unknown)).toEqual(['ter:ActionNotSupported']);
    const res = await fetch(open.xaddr(), { method: 'POST', body: '<s:Envelope><s:Body><x></s:Envelope>' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('ter:WellFormed');
    const profile = await soap(
      `http://127.0.0.1:${open.port()}/onvif/media_service`,
      '<trt:GetStreamUri><trt:ProfileToken>nope</trt:ProfileToken></trt:GetStreamUri>',
    );
    expect(faultSubcodes(profile)).toEqual(['ter:InvalidArgVal', 'ter:NoProfile']);
  });
});

describe('OnvifDevice with authentication', () => {
  it('answers GetSystemDateAndTime without credentials, in its own (offset) clock', async () => {
    const reply = await soap(locked.xaddr(), '<tds:GetSystemDateAndTime/>');
    expect(reply.status).toBe(200);
    const u = reply.doc['Envelope'].Body.GetSystemDateAndTimeResponse.SystemDateAndTime.UTCDateTime;
    const deviceMs = Date.UTC(
      u.Date.Year,
      u.Date.Month - 1,
      u.Date.Day,
      u.Time.Hour,
      u.Time.Minute,
      u.Time.Second,
    );
    // Generous: this checks which clock is reported, not how fast the reply came.
    expect(Math.abs(deviceMs - (Date.now() + OFFSET_SEC * 1000))).toBeLessThan(60_000);
  });

  it('refuses a wrong password with a clear NotAuthorized error', async () => {
    const err = await connectCam({
      hostname: '127.0.0.1',
      port: locked.port(),
      ...auth,
      password: 'wrong',
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/Sender not authorized/);
    const raw = await soap(locked.xaddr(), '<tds:GetDeviceInformation/>', {
      auth: { ...auth, password: 'wrong', createdMs: Date.now() + OFFSET_SEC * 1000 },
    });
    expect(raw.status).toBe(400); // ONVIF Core 5.12: a rejected UsernameToken is 400 + ter:NotAuthorized
    expect(faultSubcodes(raw)).toEqual(['ter:NotAuthorized']);
    expect(raw.xml).not.toContain(auth.password);
  });

  it('challenges a request without credentials with HTTP 401', async () => {
    const raw = await soap(locked.xaddr(), '<tds:GetDeviceInformation/>');
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toMatch(/^Digest realm=/);
    expect(faultSubcodes(raw)).toEqual(['ter:NotAuthorized']);
  });

  it('works with the right password although the device clock is an hour off', async () => {
    const cam = await connectCam({ hostname: '127.0.0.1', port: locked.port(), ...auth, timeout: 10_000 });
    const snapUri = await checkMedia(cam, locked);
    expect((await fetch(snapUri)).status).toBe(401);
    const basic = await fetch(snapUri, {
      headers: {
        Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      },
    });
    expect(basic.status).toBe(200);
    const body = Buffer.from(await basic.arrayBuffer());
    expect(body.subarray(0, 2).toString('hex')).toBe('ffd8');
    const file = path.join(tmp, 'snap.jpg');
    await writeFile(file, body);
    expect(await probeSize(file)).toEqual({ width: 1280, height: 720 });
    // ffprobe as an ordinary HTTP client, credentials in the URL: it answers the 401 challenge itself.
    const withCreds = snapUri.replace(
      'http://',
      `http://${auth.username}:${encodeURIComponent(auth.password)}@`,
    );
    expect(await probeSize(withCreds)).toEqual({ width: 1280, height: 720 });
  });

  it('accepts HTTP Digest instead of WS-Security (useWSSecurity: false)', async () => {
    const cam = await connectCam({
      hostname: '127.0.0.1',
      port: locked.port(),
      ...auth,
      useWSSecurity: false,
      timeout: 10_000,
    });
    await checkMedia(cam, locked);
    const wrong = await connectCam({
      hostname: '127.0.0.1',
      port: locked.port(),
      ...auth,
      password: 'nope',
      useWSSecurity: false,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(wrong?.message).toMatch(/Digest authentication failed 401/);
  });

  it('refuses a replayed header and a Created outside ±5 minutes of the device clock', async () => {
    const media = `http://127.0.0.1:${locked.port()}/onvif/media_service`;
    const deviceNow = Date.now() + OFFSET_SEC * 1000;
    const nonce = randomBytes(16);
    const first = await soap(media, '<trt:GetProfiles/>', { auth: { ...auth, createdMs: deviceNow, nonce } });
    expect(first.status).toBe(200);
    const replay = await soap(media, '<trt:GetProfiles/>', {
      auth: { ...auth, createdMs: deviceNow, nonce },
    });
    expect(replay.status).toBe(400);
    expect(faultSubcodes(replay)).toEqual(['ter:NotAuthorized']);
    const realClock = await soap(media, '<trt:GetProfiles/>', { auth: { ...auth, createdMs: Date.now() } });
    expect(realClock.status).toBe(400);
    expect(locked.health()['authFailures']).toBeGreaterThanOrEqual(2);
  });
});
