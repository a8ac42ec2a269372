/**
 * Fault injection: each mode makes the onvif client (and a plain HTTP client
 * for the snapshot) fail with an error, never hang, and the mode can be
 * switched back at runtime.
 */
import type onvif from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice, type FaultMode } from '../../simulator/onvif/device.js';
import { SceneTimeline, sceneByName } from '../../simulator/scenes.js';
import { call, connectCam, makeJpeg, testCamera } from '../helpers/onvif-fixtures.js';

let device: OnvifDevice;
let cam: onvif.Cam;
let jpeg: Buffer;
// The client gives up after this; the device in 'timeout' mode never answers.
const CLIENT_TIMEOUT_MS = 2000;

beforeAll(async () => {
  jpeg = await makeJpeg();
  device = new OnvifDevice({
    camera: testCamera('flt1', new SceneTimeline(sceneByName('still'), Date.now()), jpeg),
    log: silentLogger,
  });
  await device.start(AbortSignal.timeout(10_000));
  cam = await connectCam({ hostname: '127.0.0.1', port: device.port(), timeout: CLIENT_TIMEOUT_MS });
});
afterAll(() => device?.stop());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe('fault modes', () => {
  const expected: [FaultMode, RegExp][] = [
    ['soap-fault', /ONVIF SOAP Fault: Simulated device failure/],
    // The client reports any body it cannot read as a SOAP envelope this way.
    ['malformed-xml', /Wrong ONVIF SOAP response/],
    ['http-500', /Wrong ONVIF SOAP response/],
    ['timeout', /Network timeout/],
  ];

  for (const [mode, message] of expected) {
    it(`${mode}: calls and new connections fail with an error`, async () => {
      device.faults = { mode };
      expect(device.health()).toMatchObject({ state: 'ok', faults: mode });
      const err = await failure(call((cb) => cam.getDeviceInformation(cb)));
      expect(err, mode).toBeInstanceOf(Error);
      expect(err!.message).toMatch(message);
      const connectErr = await failure(
        connectCam({ hostname: '127.0.0.1', port: device.port(), timeout: CLIENT_TIMEOUT_MS }),
      );
      expect(connectErr, mode).toBeInstanceOf(Error);
      device.faults = { mode: 'none' };
      const info = await call<onvif.DeviceInformation>((cb) => cam.getDeviceInformation(cb));
      expect(info.serialNumber).toBe('SN-flt1');
    });
  }

  it('applies to the snapshot too', async () => {
    const url = `http://127.0.0.1:${device.port()}/onvif/snapshot.jpg`;
    device.faults = { mode: 'http-500' };
    expect((await fetch(url)).status).toBe(500);
    device.faults = { mode: 'soap-fault' };
    expect((await fetch(url)).status).toBe(500);
    device.faults = { mode: 'malformed-xml' };
    const truncated = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(truncated.length).toBeLessThan(jpeg.length);
    expect(truncated.subarray(-2).toString('hex')).not.toBe('ffd9'); // no end-of-image marker
    device.faults = { mode: 'timeout' };
    const hung = await failure(fetch(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) }));
    expect(hung?.name).toBe('TimeoutError');
    device.faults = { mode: 'none' };
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(jpeg);
  });
});
