/**
 * Motion events from the simulated device: the onvif client's pull-point loop
 * receives IsMotion true/false at the scene timeline's ground-truth times, and
 * the pull point itself behaves as ONVIF Core 9.1 describes. Timing checks are
 * about being in step with the timeline (generous tolerances), not about speed.
 */
import type onvif from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice } from '../../simulator/onvif/device.js';
import { SceneTimeline, sceneByName } from '../../simulator/scenes.js';
import {
  connectCam,
  faultSubcodes,
  makeJpeg,
  many,
  soap,
  testCamera,
  type XmlAny,
} from '../helpers/onvif-fixtures.js';

const auth = { username: 'admin', password: 'pw-events' };
const OFFSET_SEC = 90;

let jpeg: Buffer;
beforeAll(async () => {
  jpeg = await makeJpeg();
});

interface Seen {
  arrivedMs: number;
  topic: string;
  utcMs: number;
  op: string | undefined;
  value: unknown;
}

describe('motion events through the onvif client', () => {
  let device: OnvifDevice;
  let timeline: SceneTimeline;

  beforeAll(async () => {
    // Street scene: a person crosses 4 s..9 s into the loop. Position 28 s now, so the
    // episode starts about 6 s after the test starts and ends 5 s later.
    timeline = new SceneTimeline(sceneByName('street'), Date.now() + 2000);
    device = new OnvifDevice({
      camera: testCamera('ev1', timeline, jpeg),
      auth,
      clockOffsetSec: OFFSET_SEC,
      log: silentLogger,
    });
    await device.start(AbortSignal.timeout(10_000));
  });
  afterAll(() => device?.stop());

  it('delivers the initial state, then IsMotion true and false when the timeline flips', async () => {
    const cam = await connectCam({ hostname: '127.0.0.1', port: device.port(), ...auth, timeout: 10_000 });
    const seen: Seen[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const guard = setTimeout(
        () => reject(new Error(`no motion end within 40 s; saw ${JSON.stringify(seen)}`)),
        40_000,
      );
      cam.on('eventsError', (err) => reject(err));
      cam.on('event', (m: onvif.NotificationMessage) => {
        const item = many(m.message.message.data?.simpleItem)[0];
        const utc = m.message.message.$.UtcTime;
        seen.push({
          arrivedMs: Date.now(),
          topic: m.topic._,
          utcMs: utc instanceof Date ? utc.getTime() : Date.parse(utc),
          op: m.message.message.$.PropertyOperation,
          value: item?.$.Value,
        });
        const motion = seen.filter(
          (s) => s.topic.endsWith('CellMotionDetector/Motion') && s.op === 'Changed',
        );
        if (motion.some((s) => s.value === true) && motion.some((s, i) => i > 0 && s.value === false)) {
          clearTimeout(guard);
          resolve();
        }
      });
    });
    try {
      await done;
    } finally {
      cam.removeAllListeners('event'); // ends the client's pull loop
    }
    const offsetMs = OFFSET_SEC * 1000;
    const cell = seen.filter((s) => s.topic === 'tns1:RuleEngine/CellMotionDetector/Motion');
    // First the current state, as the timeline says it was at that (device-clock) moment.
    expect(cell[0]!.op).toBe('Initialized');
    expect(cell[0]!.value).toBe(timeline.motionAt(cell[0]!.utcMs - offsetMs));

    const start = cell.find((s) => s.op === 'Changed' && s.value === true)!;
    const end = cell.find((s) => s.op === 'Changed' && s.value === false && s.arrivedMs > start.arrivedMs)!;
    const [episode] = timeline.episodesBetween(start.utcMs - offsetMs - 1000, start.utcMs - offsetMs + 1000);
    expect(episode).toBeDefined();
    // UtcTime is the ground-truth flip time in the device's clock.
    expect(Math.abs(start.utcMs - offsetMs - episode!.startMs)).toBeLessThan(1000);
    expect(Math.abs(end.utcMs - offsetMs - episode!.endMs)).toBeLessThan(1000);
    // And the events arrive in step with the pictures: never before the flip, not long after it.
    for (const [ev, truth] of [
      [start, episode!.startMs],
      [end, episode!.endMs],
    ] as const) {
      expect(ev.arrivedMs).toBeGreaterThanOrEqual(truth - 250);
      expect(ev.arrivedMs).toBeLessThan(truth + 5000);
    }
    const alarm = seen.filter((s) => s.topic === 'tns1:VideoSource/MotionAlarm' && s.op === 'Changed');
    expect(alarm.map((s) => s.value)).toEqual(cell.filter((s) => s.op === 'Changed').map((s) => s.value));
  });
});

describe('pull point behaviour (raw SOAP)', () => {
  let device: OnvifDevice;
  let still: OnvifDevice;
  let timeline: SceneTimeline;
  const events = (d: OnvifDevice) => `http://127.0.0.1:${d.port()}/onvif/events_service`;

  beforeAll(async () => {
    timeline = new SceneTimeline(sceneByName('street'), Date.now() + 2000); // motion from about +6 s
    device = new OnvifDevice({ camera: testCamera('pp1', timeline, jpeg), log: silentLogger });
    still = new OnvifDevice({
      camera: testCamera('pp2', new SceneTimeline(sceneByName('still'), Date.now()), jpeg),
      log: silentLogger,
    });
    await device.start(AbortSignal.timeout(10_000));
    await still.start(AbortSignal.timeout(10_000));
  });
  afterAll(async () => {
    await device?.stop();
    await still?.stop();
  });

  async function subscribe(d: OnvifDevice, extra = ''): Promise<{ address: string; termination: number }> {
    const r = await soap(
      events(d),
      `<tev:CreatePullPointSubscription>${extra}</tev:CreatePullPointSubscription>`,
    );
    expect(r.status).toBe(200);
    const resp = r.doc['Envelope'].Body.CreatePullPointSubscriptionResponse;
    expect(Date.parse(resp.CurrentTime)).not.toBeNaN();
    return {
      address: String(resp.SubscriptionReference.Address),
      termination: Date.parse(resp.TerminationTime),
    };
  }

  async function pull(address: string, timeout = 'PT0S', limit = 10) {
    const r = await soap(
      address,
      `<tev:PullMessages><tev:Timeout>${timeout}</tev:Timeout><tev:MessageLimit>${limit}</tev:MessageLimit></tev:PullMessages>`,
    );
    const resp = r.doc['Envelope']?.Body?.PullMessagesResponse;
    const messages = many<XmlAny>(resp?.NotificationMessage).map((m) => ({
      topic: String(m.Topic['#text']),
      op: m.Message.Message['@_PropertyOperation'] as string,
      value: String(many(m.Message.Message.Data.SimpleItem)[0]['@_Value']),
    }));
    return { reply: r, messages };
  }

  it('starts with Initialized messages, honours MessageLimit and a topic filter', async () => {
    const before = Date.now();
    const sub = await subscribe(device, '<tev:InitialTerminationTime>PT30S</tev:InitialTerminationTime>');
    expect(sub.termination).toBeGreaterThan(before + 20_000);
    expect(new URL(sub.address).pathname).toMatch(/^\/onvif\/events_service\/pullpoint\/\d+$/);
    const one = await pull(sub.address, 'PT0S', 1);
    expect(one.messages).toHaveLength(1);
    const rest = await pull(sub.address);
    expect([...one.messages, ...rest.messages].map((m) => [m.topic, m.op])).toEqual([
      ['tns1:RuleEngine/CellMotionDetector/Motion', 'Initialized'],
      ['tns1:VideoSource/MotionAlarm', 'Initialized'],
    ]);
    const filtered = await subscribe(
      device,
      '<tev:Filter><wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/MotionAlarm</wsnt:TopicExpression></tev:Filter>',
    );
    expect((await pull(filtered.address)).messages.map((m) => m.topic)).toEqual([
      'tns1:VideoSource/MotionAlarm',
    ]);
  });

  it('holds PullMessages until a motion flip arrives', async () => {
    const sub = await subscribe(device);
    await pull(sub.address); // drain the initial state
    // A 60 s wait: only the flip (about 6 s away) can end it with a message in it.
    const { messages } = await pull(sub.address, 'PT60S');
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0]).toMatchObject({ topic: 'tns1:RuleEngine/CellMotionDetector/Motion', op: 'Changed' });
    // The next flip after scene position 28 s is the person walking in.
    expect(messages[0]!.value).toBe('true');
  });

  it('answers an empty list when the long poll times out, and re-sends state on SetSynchronizationPoint', async () => {
    const sub = await subscribe(still);
    await pull(sub.address);
    const empty = await pull(sub.address, 'PT1S');
    expect(empty.reply.status).toBe(200);
    expect(empty.messages).toEqual([]);
    expect((await soap(sub.address, '<tev:SetSynchronizationPoint/>')).status).toBe(200);
    expect((await pull(sub.address)).messages.map((m) => [m.op, m.value])).toEqual([
      ['Initialized', 'false'],
      ['Initialized', 'false'],
    ]);
  });

  it('renews, unsubscribes, expires at TerminationTime, and refuses an over-long Timeout', async () => {
    const sub = await subscribe(still, '<tev:InitialTerminationTime>PT10S</tev:InitialTerminationTime>');
    const renewed = await soap(
      sub.address,
      '<wsnt:Renew><wsnt:TerminationTime>PT120S</wsnt:TerminationTime></wsnt:Renew>',
    );
    expect(Date.parse(renewed.doc['Envelope'].Body.RenewResponse.TerminationTime)).toBeGreaterThan(
      sub.termination + 60_000,
    );
    const tooLong = await pull(sub.address, 'PT10M');
    expect(faultSubcodes(tooLong.reply)).toEqual(['ter:InvalidArgVal']);
    expect(tooLong.reply.xml).toContain('MaxTimeout');
    expect((await soap(sub.address, '<wsnt:Unsubscribe/>')).status).toBe(200);
    expect(faultSubcodes((await pull(sub.address)).reply)).toEqual(['wsrfr:ResourceUnknownFault']);

    const short = await subscribe(still, '<tev:InitialTerminationTime>PT1S</tev:InitialTerminationTime>');
    await new Promise((r) => setTimeout(r, 2500)); // let it pass its TerminationTime without pulling
    expect(faultSubcodes((await pull(short.address)).reply)).toEqual(['wsrfr:ResourceUnknownFault']);
    expect(faultSubcodes(await soap(events(still), '<wsnt:Subscribe/>'))).toEqual(['ter:ActionNotSupported']);
  });

  it('gives the onvif client its event properties', async () => {
    const cam = await connectCam({ hostname: '127.0.0.1', port: still.port(), timeout: 10_000 });
    const props = await new Promise<Record<string, XmlAny>>((resolve, reject) =>
      cam.getEventProperties((err, data) => (err ? reject(err) : resolve(data))),
    );
    expect(props['fixedTopicSet']).toBe(true);
    // The client lower-cases element names: RuleEngine/CellMotionDetector/Motion.
    expect(props['topicSet']?.ruleEngine?.cellMotionDetector?.motion).toBeDefined();
    expect(props['topicSet']?.videoSource?.motionAlarm).toBeDefined();
  });
});
