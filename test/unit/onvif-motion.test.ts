import { describe, expect, it } from 'vitest';
import { SceneTimeline, sceneByName, type SceneSpec } from '../../simulator/scenes.js';
import {
  MOTION_ALARM_TOPIC,
  MOTION_TOPIC,
  flipPositions,
  motionMessages,
  nextMotionFlip,
  topicMatches,
} from '../../simulator/onvif/motion.js';

const EPOCH = Date.parse('2030-01-01T00:00:00Z');

function scene(objects: { startSec: number; endSec: number }[], durationSec = 30): SceneSpec {
  return {
    name: 'test',
    description: '',
    durationSec,
    background: 'street',
    noise: 0,
    brightness: [],
    objects: objects.map((o, i) => ({
      label: `o${i}`,
      ...o,
      from: { x: 0, y: 0 },
      to: { x: 1, y: 1 },
      w: 0.1,
      h: 0.1,
      color: 'red',
    })),
  };
}

/** Brute force: the first ms after `from` where motionAt differs from the ms before. */
function bruteNextFlip(t: SceneTimeline, from: number, horizonMs: number) {
  for (let ms = from + 1; ms <= from + horizonMs; ms++) {
    if (t.motionAt(ms) !== t.motionAt(ms - 1)) return { atMs: ms, isMotion: t.motionAt(ms) };
  }
  return undefined;
}

describe('next motion flip from the scene spec', () => {
  it('finds the street scene’s four flips per loop', () => {
    const t = new SceneTimeline(sceneByName('street'), EPOCH);
    expect(flipPositions(t)).toEqual([
      { posSec: 4, isMotion: true },
      { posSec: 9, isMotion: false },
      { posSec: 17, isMotion: true },
      { posSec: 21, isMotion: false },
    ]);
    expect(nextMotionFlip(t, EPOCH)).toEqual({ atMs: EPOCH + 4000, isMotion: true });
    expect(nextMotionFlip(t, EPOCH + 4000)).toEqual({ atMs: EPOCH + 9000, isMotion: false });
    expect(nextMotionFlip(t, EPOCH + 25_000)).toEqual({ atMs: EPOCH + 34_000, isMotion: true });
  });

  it('agrees with a millisecond scan of motionAt, with phase, before the epoch and across loops', () => {
    const cases = [
      new SceneTimeline(sceneByName('street'), EPOCH, 7),
      new SceneTimeline(sceneByName('lobby'), EPOCH, 0),
      new SceneTimeline(sceneByName('lobby'), EPOCH + 12_345, 21),
      // Overlapping objects merge into one episode; touching ones too.
      new SceneTimeline(
        scene(
          [
            { startSec: 2, endSec: 6 },
            { startSec: 4, endSec: 8 },
            { startSec: 8, endSec: 9 },
          ],
          12,
        ),
        EPOCH,
      ),
      // Motion that starts at the loop point.
      new SceneTimeline(scene([{ startSec: 0, endSec: 3 }], 10), EPOCH, 4),
    ];
    for (const t of cases) {
      for (const from of [EPOCH - 61_000, EPOCH, EPOCH + 3999, EPOCH + 29_999, EPOCH + 100_500]) {
        const horizon = t.scene.durationSec * 1000 + 1;
        expect(nextMotionFlip(t, from), `${t.scene.name} phase ${t.phaseSec} from ${from - EPOCH}`).toEqual(
          bruteNextFlip(t, from, horizon),
        );
      }
    }
  });

  it('matches the ground-truth episodes of the timeline', () => {
    const t = new SceneTimeline(sceneByName('lobby'), EPOCH, 3);
    const flips: { atMs: number; isMotion: boolean }[] = [];
    let at = EPOCH;
    for (let f = nextMotionFlip(t, at); f && f.atMs < EPOCH + 60_000; f = nextMotionFlip(t, at)) {
      flips.push(f);
      at = f.atMs;
    }
    const episodes = t.episodesBetween(EPOCH, EPOCH + 60_000).filter((e) => e.startMs > EPOCH);
    expect(flips.filter((f) => f.isMotion).map((f) => f.atMs)).toEqual(episodes.map((e) => e.startMs));
  });

  it('never flips in a scene without moving objects (brightness changes are not motion)', () => {
    expect(nextMotionFlip(new SceneTimeline(sceneByName('still'), EPOCH), EPOCH)).toBeUndefined();
    expect(nextMotionFlip(new SceneTimeline(sceneByName('lights'), EPOCH), EPOCH)).toBeUndefined();
  });
});

describe('motion notification messages', () => {
  it('carries the ONVIF motion topic, source tokens and IsMotion, stamped in the device clock', () => {
    const [cell, alarm] = motionMessages(true, EPOCH + 5000, 'Changed');
    expect(cell!.topic).toBe(MOTION_TOPIC);
    expect(cell!.xml).toContain(
      '<tt:Message UtcTime="2030-01-01T00:00:05.000Z" PropertyOperation="Changed">',
    );
    expect(cell!.xml).toContain('<tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vsc0"/>');
    expect(cell!.xml).toContain('<tt:SimpleItem Name="Rule" Value="MotionRule"/>');
    expect(cell!.xml).toContain('<tt:Data><tt:SimpleItem Name="IsMotion" Value="true"/></tt:Data>');
    expect(alarm!.topic).toBe(MOTION_ALARM_TOPIC);
    expect(alarm!.xml).toContain('<tt:SimpleItem Name="State" Value="true"/>');
  });

  it('filters topics by ConcreteSet expression, ignoring prefixes', () => {
    expect(topicMatches(undefined, MOTION_TOPIC)).toBe(true);
    expect(topicMatches('tns1:RuleEngine/CellMotionDetector/Motion', MOTION_TOPIC)).toBe(true);
    expect(topicMatches('t:RuleEngine//.', MOTION_TOPIC)).toBe(true);
    expect(topicMatches('tns1:RuleEngine//.', MOTION_ALARM_TOPIC)).toBe(false);
    expect(topicMatches('tns1:Device//.|tns1:VideoSource/MotionAlarm', MOTION_ALARM_TOPIC)).toBe(true);
    expect(topicMatches('tns1:RuleEngine/CellMotion', MOTION_TOPIC)).toBe(false);
  });
});
