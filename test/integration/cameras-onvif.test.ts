/**
 * Onboarding against the simulator's ONVIF devices: identity, profiles, stream roles, snapshot,
 * clock offset, authentication, and every injected fault giving a clear error that names the
 * camera (and the agent carrying on afterwards).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraError } from '../../agent/cameras/errors.js';
import { addByAddress, onboardOnvif } from '../../agent/cameras/onboarding.js';
import { digestAuthorization } from '../../agent/cameras/soap.js';
import { silentLogger } from '../../lib/log.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import type { FaultMode } from '../../simulator/onvif/types.js';

const USER = 'installer';
const PASS = 'c0rrect h0rse & <battery>';
const OFFSET_SEC = 3600; // the camera's clock is an hour ahead: WS-Security must still work

let fleet: SimulatorFleet;

beforeAll(async () => {
  fleet = new SimulatorFleet({
    cameras: 2,
    rtspPort: 0,
    onvifPort: 0,
    discovery: false,
    username: USER,
    password: PASS,
    clockOffsetSec: OFFSET_SEC,
    log: silentLogger,
  });
  await fleet.start(AbortSignal.timeout(120_000));
});
afterAll(() => fleet?.stop());

const cam = (i: number) => fleet.cameras()[i]!;

async function failure(p: Promise<unknown>): Promise<CameraError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CameraError);
  return err as CameraError;
}

describe('ONVIF onboarding', () => {
  it('reads identity, picks main and sub, and measures the clock offset', async () => {
    const c = cam(0);
    const r = await onboardOnvif({ xaddr: c.onvif!.xaddr, credentials: { username: USER, password: PASS } });
    const rec = r.record;
    expect(r.device).toMatchObject({ manufacturer: 'CamConnect', model: 'SimCam', serialNumber: 'SIM-0001' });
    expect(r.profiles.map((p) => [p.token, p.width, p.height])).toEqual([
      ['main', 1280, 720],
      ['sub', 640, 360],
    ]);
    expect(rec.streams.main).toMatchObject({
      uri: c.rtsp.main,
      profileToken: 'main',
      width: 1280,
      height: 720,
      codec: 'h264',
      fps: 15,
    });
    expect(rec.streams.sub).toMatchObject({ uri: c.rtsp.sub, profileToken: 'sub', width: 640, height: 360 });
    expect(rec.snapshotUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/onvif\/snapshot\.jpg$/);
    expect(rec.onvif?.eventsXaddr).toMatch(/\/onvif\/events_service$/);
    expect(rec.motion.source).toBe('onvif');
    expect(rec.location).toBeNull();
    // Whole-second clock on the camera: the offset is known to about a second.
    expect(Math.abs(rec.clock!.offsetMs - OFFSET_SEC * 1000)).toBeLessThanOrEqual(r.clockUncertaintyMs + 50);
    expect(rec.credentials).toEqual({ username: USER, password: PASS });

    // The snapshot URI is plain (no token in it) and opens with the camera's credentials.
    const first = await fetch(rec.snapshotUri!);
    expect(first.status).toBe(401);
    const auth = digestAuthorization(
      first.headers.get('www-authenticate') ?? '',
      { username: USER, password: PASS },
      rec.snapshotUri!,
      'GET',
    )!;
    const snap = await fetch(rec.snapshotUri!, { headers: { Authorization: auth } });
    expect(snap.status).toBe(200);
    const jpeg = Buffer.from(await snap.arrayBuffer());
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('rejects a wrong password and a missing one with an auth error naming the camera', async () => {
    const xaddr = cam(1).onvif!.xaddr;
    const wrong = await failure(
      onboardOnvif({ xaddr, name: 'Lobby', credentials: { username: USER, password: 'nope' } }),
    );
    expect(wrong.kind).toBe('auth');
    expect(wrong.message).toMatch(
      /^camera "Lobby": GetDeviceInformation failed: user name or password rejected/,
    );
    expect(wrong.message).not.toContain('nope');
    const none = await failure(onboardOnvif({ xaddr, name: 'Lobby' }));
    expect(none.kind).toBe('auth');
  });

  const cases: [FaultMode, CameraError['kind'], RegExp][] = [
    ['soap-fault', 'fault', /SOAP fault \[ter:Action\]/],
    ['timeout', 'timeout', /no answer in time/],
    ['malformed-xml', 'malformed', /malformed XML/],
    ['http-500', 'http', /HTTP 500 without a SOAP fault/],
  ];
  it.each(cases)(
    'a device in "%s" mode gives a clear %s error, then works again',
    async (mode, kind, text) => {
      const c = cam(1);
      const device = fleet.device(c.id)!;
      device.faults = { mode };
      try {
        const err = await failure(
          onboardOnvif({
            xaddr: c.onvif!.xaddr,
            name: 'Lobby',
            credentials: { username: USER, password: PASS },
            timeoutMs: 1500,
          }),
        );
        expect(err.kind).toBe(kind);
        expect(err.message).toMatch(/^camera "Lobby": GetSystemDateAndTime failed: /);
        expect(err.message).toMatch(text);
      } finally {
        device.faults = { mode: 'none' };
      }
      const ok = await onboardOnvif({
        xaddr: c.onvif!.xaddr,
        credentials: { username: USER, password: PASS },
      });
      expect(ok.record.streams.sub.uri).toBe(c.rtsp.sub);
    },
  );

  it('a camera that is not there is a network error, not a crash', async () => {
    const err = await failure(
      onboardOnvif({ xaddr: 'http://127.0.0.1:9/onvif/device_service', timeoutMs: 2000 }),
    );
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/^camera "127\.0\.0\.1:9": GetSystemDateAndTime failed: ECONNREFUSED/);
  });
});

describe('manual add', () => {
  it('by host:port of the ONVIF device', async () => {
    const c = cam(0);
    const host = new URL(c.onvif!.xaddr).host;
    const rec = await addByAddress({ address: host, credentials: { username: USER, password: PASS } });
    expect(rec.onvif?.xaddr).toBe(c.onvif!.xaddr);
    expect(rec.streams.sub.uri).toBe(c.rtsp.sub);
  });

  it('by RTSP URL (no ONVIF): ffprobe reads the stream, the credentials leave the URL', async () => {
    const c = cam(1);
    const withCreds = c.rtsp.main.replace('rtsp://', `rtsp://${USER}:${encodeURIComponent(PASS)}@`);
    const rec = await addByAddress({ address: withCreds, subUrl: c.rtsp.sub, name: 'Gate' });
    expect(rec).toMatchObject({
      id: 'gate',
      name: 'Gate',
      streams: {
        main: { uri: c.rtsp.main, width: 1280, height: 720, codec: 'h264' },
        sub: { uri: c.rtsp.sub, width: 640, height: 360, codec: 'h264' },
      },
      motion: { source: 'pixel' },
      credentials: { username: USER, password: PASS },
    });
    expect(rec.onvif).toBeUndefined();
  });

  it('by RTSP URL with a wrong password: an auth error, redacted', async () => {
    const url = cam(1).rtsp.sub.replace('rtsp://', `rtsp://${USER}:Wr0ng@`);
    const err = await failure(addByAddress({ address: url, name: 'Gate' }));
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/^camera "Gate": ffprobe failed: .*401/);
    expect(err.message).not.toContain('Wr0ng');
  });
});
