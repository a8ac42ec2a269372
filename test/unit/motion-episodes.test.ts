import { describe, expect, it } from 'vitest';
import { combineReports, scoreEpisodes } from '../../agent/motion/accuracy.js';
import { EpisodeTracker } from '../../agent/motion/episodes.js';
import { WallClockMapper } from '../../agent/motion/frames.js';
import { OffsetEstimate } from '../../agent/motion/onvif-source.js';
import { MotionFeed } from '../../agent/motion/feed.js';
import { ManualClock } from '../../lib/clock.js';
import { MotionPayload } from '../../protocol/index.js';
import {
  fanOut,
  guardedSink,
  segmentTaggingSink,
  unionBox,
  type MotionEpisode,
  type OpenEpisode,
} from '../../agent/motion/types.js';

function recorder() {
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

/** Feeds frames at 5 fps from `fromMs` to `toMs`; `active(t)` says which show motion. */
function feed(t: EpisodeTracker, fromMs: number, toMs: number, active: (t: number) => boolean, score = 0.02) {
  for (let ms = fromMs; ms < toMs; ms += 200)
    t.observe(
      ms,
      active(ms),
      active(ms) ? score : 0,
      active(ms) ? { x: 0.1, y: 0.2, w: 0.1, h: 0.3 } : undefined,
    );
}

const opts = {
  confirmFrames: 2,
  confirmWindowMs: 1000,
  quietMs: 2000,
  preMs: 5000,
  postMs: 3000,
  maxEpisodeMs: 60_000,
};

describe('EpisodeTracker', () => {
  it('opens at the first active frame, closes after the quiet period, pads both sides', () => {
    const r = recorder();
    let id = 0;
    const t = new EpisodeTracker('cam1', 'pixel', r.sink, opts, () => `ep${++id}`);
    feed(t, 0, 20_000, (ms) => ms >= 4000 && ms < 9000);
    expect(r.started).toHaveLength(1);
    expect(r.started[0]).toMatchObject({
      episodeId: 'ep1',
      cameraId: 'cam1',
      source: 'pixel',
      startedAt: 4000,
      paddedFrom: -1000,
    });
    expect(r.ended).toHaveLength(1);
    expect(r.ended[0]).toMatchObject({
      startedAt: 4000,
      endedAt: 9000,
      endReason: 'quiet',
      paddedTo: 12_000,
      peakScore: 0.02,
    });
    expect(r.ended[0]!.bbox).toEqual({ x: 0.1, y: 0.2, w: 0.1, h: 0.3 });
  });

  it('debounces: one flickering frame opens nothing', () => {
    const r = recorder();
    const t = new EpisodeTracker('cam1', 'pixel', r.sink, opts);
    feed(t, 0, 10_000, (ms) => ms === 3000 || ms === 6000);
    expect(r.started).toHaveLength(0);
  });

  it('keeps a short pause inside one episode, splits on a long one', () => {
    const r = recorder();
    const t = new EpisodeTracker('cam1', 'pixel', r.sink, opts);
    feed(
      t,
      0,
      30_000,
      (ms) => (ms >= 2000 && ms < 4000) || (ms >= 5000 && ms < 7000) || (ms >= 15_000 && ms < 17_000),
    );
    expect(r.ended.map((e) => [e.startedAt, e.endedAt])).toEqual([
      [2000, 7000],
      [15_000, 17_000],
    ]);
  });

  it('caps an endless episode with reason timeout and opens the next one', () => {
    const r = recorder();
    const t = new EpisodeTracker('cam1', 'pixel', r.sink, { ...opts, maxEpisodeMs: 10_000 });
    feed(t, 0, 25_000, () => true);
    expect(r.ended[0]).toMatchObject({ startedAt: 0, endReason: 'timeout', endedAt: 10_000 });
    expect(r.started.length).toBeGreaterThanOrEqual(2);
  });

  it('closes on shutdown and on time passing without frames', () => {
    const r = recorder();
    const t = new EpisodeTracker('cam1', 'pixel', r.sink, opts);
    feed(t, 0, 3000, (ms) => ms >= 1000);
    t.close();
    expect(r.ended[0]).toMatchObject({ endReason: 'shutdown', endedAt: 3000 });
    feed(t, 10_000, 11_000, () => true);
    t.tick(20_000); // the stream stalled: quiet ends it
    expect(r.ended[1]).toMatchObject({ endReason: 'quiet', startedAt: 10_000 });
  });
});

describe('sinks', () => {
  it('fanOut keeps going past a throwing sink', () => {
    const r = recorder();
    const errors: unknown[] = [];
    const bad = {
      episodeStarted: () => {
        throw new Error('boom');
      },
      episodeEnded: () => undefined,
    };
    const s = fanOut([bad, r.sink], (e) => errors.push(e));
    s.episodeStarted({
      episodeId: 'a',
      cameraId: 'c',
      source: 'pixel',
      startedAt: 1,
      peakScore: 0,
      paddedFrom: 0,
    });
    expect(r.started).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('guardedSink keeps a source alive when its sink throws', () => {
    const errors: unknown[] = [];
    const s = guardedSink(
      {
        episodeStarted: () => {
          throw new Error('sink bug');
        },
        episodeEnded: () => undefined,
      },
      (e) => errors.push(e),
    );
    expect(() =>
      s.episodeStarted({
        episodeId: 'a',
        cameraId: 'c',
        source: 'onvif',
        startedAt: 1,
        peakScore: 1,
        paddedFrom: 0,
      }),
    ).not.toThrow();
    expect(errors).toHaveLength(1);
  });

  it('segmentTaggingSink tags the padded window when an episode ends', async () => {
    const calls: unknown[][] = [];
    const s = segmentTaggingSink(
      {
        tagMotion: (...a) => {
          calls.push(a);
          return Promise.reject(new Error('disk full'));
        },
      },
      (e) => calls.push(['error', (e as Error).message]),
    );
    s.episodeEnded({
      episodeId: 'e1',
      cameraId: 'cam1',
      source: 'onvif',
      startedAt: 10,
      endedAt: 20,
      peakScore: 1,
      paddedFrom: 5,
      paddedTo: 25,
      endReason: 'quiet',
    });
    await new Promise((r) => setImmediate(r));
    expect(calls[0]).toEqual(['cam1', 5, 25, { episodeId: 'e1', peakScore: 1, source: 'onvif' }]);
    expect(calls[1]).toEqual(['error', 'disk full']);
  });

  it('unionBox grows a box to cover both', () => {
    expect(unionBox({ x: 0.1, y: 0.1, w: 0.1, h: 0.1 }, { x: 0.5, y: 0, w: 0.1, h: 0.1 })).toEqual({
      x: 0.1,
      y: 0,
      w: 0.5,
      h: 0.2,
    });
  });
});

describe('scoreEpisodes', () => {
  const truth = [
    { startMs: 4000, endMs: 9000 },
    { startMs: 17_000, endMs: 21_000 },
  ];
  it('matches on overlap and onset tolerance', () => {
    const r = scoreEpisodes(
      [
        { startMs: 4200, endMs: 9400 },
        { startMs: 17_900, endMs: 21_000 },
      ],
      truth,
    );
    expect(r).toMatchObject({ matched: 2, precision: 1, recall: 1, worstOnsetMs: 900 });
  });
  it('counts a late onset, a split and a false alarm as errors', () => {
    const r = scoreEpisodes(
      [
        { startMs: 5500, endMs: 9000 },
        { startMs: 17_000, endMs: 18_000 },
        { startMs: 18_500, endMs: 21_000 },
        { startMs: 25_000, endMs: 26_000 },
      ],
      truth,
    );
    expect(r).toMatchObject({ matched: 1, detected: 4, precision: 0.25, recall: 0.5 });
    expect(r.onsetErrorsMs).toEqual([null, 0]);
  });
  it('combines reports and treats empty sets as perfect', () => {
    expect(scoreEpisodes([], [])).toMatchObject({ precision: 1, recall: 1 });
    const c = combineReports([scoreEpisodes([{ startMs: 4000, endMs: 9000 }], truth), scoreEpisodes([], [])]);
    expect(c).toMatchObject({ truth: 2, detected: 1, matched: 1, precision: 1, recall: 0.5 });
  });
});

describe('WallClockMapper', () => {
  it('anchors on the lowest latency seen, so a late start burst gets corrected times', () => {
    const m = new WallClockMapper();
    // Frames 0..4 arrive together at 1000 (probe burst), later ones on time with 50 ms latency.
    expect(m.map(0, 1000)).toBe(1000);
    expect(m.map(800, 1000)).toBe(1000);
    expect(m.map(1200, 1250)).toBe(1250);
    expect(m.map(2000, 2050)).toBe(2000 + 50);
    expect(m.map(2200, 2400)).toBe(2250); // a late frame keeps its stream time
  });
  it('re-anchors after the stream clock jumps back for longer than the limit', () => {
    const m = new WallClockMapper(1000);
    m.map(10_000, 10_000);
    // The camera restarted its clock at 0: arrivals are far "later" than the old anchor says.
    let t = 0;
    for (let i = 0; i < 20; i++) t = m.map(i * 200, 11_000 + i * 200);
    expect(t).toBe(11_000 + 19 * 200);
  });
});

describe('OffsetEstimate (camera clock minus agent clock)', () => {
  // The camera is 3600.3 s ahead; GetSystemDateAndTime said "…:00" (whole seconds) between 0 and 20 ms.
  const reading = { offsetMs: 3_600_490, lowMs: 3_599_980, highMs: 3_601_000, uncertaintyMs: 510 };
  it('uses the reading until an event narrows it, then the tightest lower bound', () => {
    const o = new OffsetEstimate(reading);
    expect(o.value).toBe(3_600_490);
    o.observe(50_000 + 3_600_300, 50_000 + 40); // delivered 40 ms after it happened
    expect(o.value).toBe(3_600_260);
    o.observe(60_000 + 3_600_300, 60_000 + 3); // a prompter one
    expect(o.value).toBe(3_600_297);
    o.observe(70_000 + 3_600_300, 75_000); // a stale one does not loosen it
    expect(o.value).toBe(3_600_297);
  });
  it('ignores a bound that contradicts the reading (the camera clock jumped)', () => {
    const o = new OffsetEstimate(reading);
    o.observe(9_999_999_999, 1000);
    expect(o.value).toBe(3_600_490);
  });
});

describe("MotionFeed (the link's motion subscription)", () => {
  const open = {
    episodeId: '0f8e9c1e-2a44-4a8c-9c55-0d2a4a1b7e11',
    cameraId: 'cam1',
    source: 'pixel' as const,
    startedAt: 1000.4,
    peakScore: 0.02,
    bbox: { x: 0.9, y: 0.5, w: 0.2, h: 0.1 },
    paddedFrom: 0,
  };
  it('publishes valid start and end payloads, rounded and inside the frame', () => {
    const feed = new MotionFeed(new ManualClock(5000));
    const got: MotionPayload[] = [];
    const off = feed.onEpisode((p) => got.push(p));
    feed.episodeStarted(open);
    feed.episodeEnded({ ...open, endedAt: 4000.6, endReason: 'quiet', paddedTo: 9000 });
    off();
    feed.episodeStarted(open);
    expect(got).toHaveLength(2);
    for (const p of got) expect(MotionPayload.safeParse(p).success).toBe(true);
    expect(got[0]).toEqual({
      v: 1,
      ts: 5000,
      phase: 'start',
      episodeId: open.episodeId,
      cameraId: 'cam1',
      startedAt: 1000,
      peakScore: 0.02,
      source: 'pixel',
      bbox: { x: 0.9, y: 0.5, w: 0.1, h: 0.1 },
    });
    expect(got[1]).toMatchObject({ phase: 'end', endedAt: 4001, endReason: 'quiet' });
  });
  it('reports a payload the contract refuses instead of sending it', () => {
    const problems: string[] = [];
    const feed = new MotionFeed(new ManualClock(5000), (cam, why) => problems.push(`${cam}: ${why}`));
    const got: unknown[] = [];
    feed.onEpisode((p) => got.push(p));
    feed.episodeStarted({ ...open, cameraId: 'bad/id' });
    expect(got).toEqual([]);
    expect(problems[0]).toMatch(/^bad\/id: cameraId/);
  });
});
