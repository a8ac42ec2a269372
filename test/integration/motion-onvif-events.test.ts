/**
 * Motion from the camera's own ONVIF events, against the simulator's devices: episodes in step
 * with the scene (through a camera clock an hour off), renewal, reconnect after the device
 * failed, unsubscribe on stop, and a camera whose "motion on" never turns off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifMotionSource } from '../../agent/motion/onvif-source.js';
import type { MotionEpisode, OpenEpisode } from '../../agent/motion/types.js';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice } from '../../simulator/onvif/device.js';
import { SceneTimeline, sceneByName, type SceneSpec } from '../../simulator/scenes.js';
import { makeJpeg, testCamera } from '../helpers/onvif-fixtures.js';

const AUTH = { username: 'events', password: 'ev3nts&stuff' };
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of running.splice(0).reverse()) await s.stop();
});

async function device(timeline: SceneTimeline, clockOffsetSec = 0): Promise<OnvifDevice> {
  const dev = new OnvifDevice({
    camera: testCamera('ev1', timeline, await makeJpeg(64, 36)),
    auth: AUTH,
    clockOffsetSec,
    log: silentLogger,
  });
  await dev.start(AbortSignal.timeout(10_000));
  running.push(dev);
  return dev;
}

function collector() {
  const started: OpenEpisode[] = [];
  const ended: MotionEpisode[] = [];
  return {
    started,
    ended,
    sink: {
      episodeStarted: (e: OpenEpisode) => started.push(e),
      episodeEnded: (e: MotionEpisode) => ended.push(e),
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function source(
  dev: OnvifDevice,
  sink: ReturnType<typeof collector>['sink'],
  extra: Partial<ConstructorParameters<typeof OnvifMotionSource>[0]> = {},
) {
  const s = new OnvifMotionSource({
    cameraId: 'ev1',
    cameraName: 'Loading dock',
    xaddr: dev.xaddr(),
    credentials: AUTH,
    sink,
    pullWaitMs: 2000,
    quietMs: 300,
    log: silentLogger,
    ...extra,
  });
  await s.start(AbortSignal.timeout(5000));
  running.push(s);
  return s;
}

describe('ONVIF event motion source', () => {
  it('turns the camera events into episodes in step with the scene, through a camera clock an hour off', async () => {
    // The street scene's first walker crosses from 4 s to 9 s; start the loop 2.5 s ago.
    const timeline = new SceneTimeline(sceneByName('street'), Date.now() - 2500);
    const dev = await device(timeline, 3600);
    const c = collector();
    const s = await source(dev, c.sink, { subscriptionMs: 4000 });
    await until('an episode to end', () => c.ended.length >= 1);
    const truth = timeline.episodesBetween(timeline.epochMs, Date.now())[0]!;
    const ep = c.ended[0]!;
    expect(ep).toMatchObject({ cameraId: 'ev1', source: 'onvif', peakScore: 1, endReason: 'quiet' });
    expect(ep.bbox).toBeUndefined();
    expect(Math.abs(ep.startedAt - truth.startMs)).toBeLessThanOrEqual(1000);
    expect(Math.abs(ep.endedAt - truth.endMs)).toBeLessThanOrEqual(1000);
    expect(ep.paddedFrom).toBe(ep.startedAt - 5000);
    expect(c.started[0]!.episodeId).toBe(ep.episodeId);
    // A 4 s subscription outlived the 6.5 s wait: it was renewed.
    const h = s.health();
    expect(h).toMatchObject({ state: 'ok', subscriptions: 1, failures: 0 });
    expect(Number(h['renewals'])).toBeGreaterThanOrEqual(1);
    expect(dev.health()['pullPoints']).toBe(1);
    await s.stop();
    expect(dev.health()['pullPoints']).toBe(0); // unsubscribed, not left to expire
  });

  it('survives a failing device: degraded with a message naming the camera, then resubscribes', async () => {
    const timeline = new SceneTimeline(sceneByName('still'), Date.now());
    const dev = await device(timeline);
    const c = collector();
    const s = await source(dev, c.sink);
    await until('the first subscription', () => s.health()['subscriptions'] === 1);
    dev.faults = { mode: 'http-500' };
    await until('degraded health', () => s.health().state === 'degraded');
    expect(s.health().detail).toMatch(
      /^camera "Loading dock": \w+ failed: HTTP 500 without a SOAP fault; retrying in \d+ s$/,
    );
    dev.faults = { mode: 'malformed-xml' };
    await until('a second failure', () => Number(s.health()['failures']) >= 2);
    dev.faults = { mode: 'none' };
    await until(
      'a new subscription',
      () => s.health()['subscriptions'] === 2 && s.health().state === 'ok',
      60_000,
    );
    expect(c.ended).toEqual([]);
  });

  it('a camera whose motion never turns off: the episode ends by timeout, once', async () => {
    const endless: SceneSpec = {
      ...sceneByName('street'),
      name: 'endless',
      durationSec: 3600,
      objects: [
        {
          label: 'stuck',
          startSec: 1,
          endSec: 3500,
          from: { x: 0, y: 0 },
          to: { x: 0.5, y: 0 },
          w: 0.1,
          h: 0.1,
          color: 'red',
        },
      ],
    };
    const timeline = new SceneTimeline(endless, Date.now() - 500);
    const dev = await device(timeline);
    const c = collector();
    const s = await source(dev, c.sink, { maxOnMs: 2000 });
    await until('the stuck episode to be closed', () => c.ended.length === 1);
    const ep = c.ended[0]!;
    expect(ep.endReason).toBe('timeout');
    expect(ep.endedAt - ep.startedAt).toBeGreaterThanOrEqual(2000);
    expect(ep.endedAt - ep.startedAt).toBeLessThan(10_000);
    expect(s.health()).toMatchObject({ stuck: true, inMotion: false });
    // Still "on": no new episode while the camera never said "off".
    await new Promise((r) => setTimeout(r, 3000));
    expect(c.started).toHaveLength(1);
    expect(c.ended).toHaveLength(1);
  });
});
