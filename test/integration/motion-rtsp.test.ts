/**
 * Motion on live streams: simulated cameras onboarded over ONVIF, then CameraMotion (what the
 * composition root runs) watching them in real time over RTSP with Digest credentials. The
 * street camera runs both sources (pixel and the camera's events), the lights camera pixel
 * motion only. Episodes are scored against the cameras' timelines and filed in the journal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onboardOnvif } from '../../agent/cameras/onboarding.js';
import { scoreEpisodes } from '../../agent/motion/accuracy.js';
import { CameraMotion } from '../../agent/motion/camera-motion.js';
import { MotionJournal } from '../../agent/motion/journal.js';
import { fanOut, type MotionEpisode } from '../../agent/motion/types.js';
import { silentLogger } from '../../lib/log.js';
import { SimulatorFleet } from '../../simulator/fleet.js';

const USER = 'motion';
const PASS = 'rtsp:p@ss/word';
const RUN_MS = 26_000;

let fleet: SimulatorFleet;
let dir: string;
const episodes: MotionEpisode[] = [];
let journal: MotionJournal;
let window: { from: number; to: number };
const health: Record<string, unknown> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-motion-rtsp-'));
  fleet = new SimulatorFleet({
    cameras: 2,
    scenes: ['street', 'lights'],
    rtspPort: 0,
    onvifPort: 0,
    discovery: false,
    username: USER,
    password: PASS,
    log: silentLogger,
  });
  await fleet.start(AbortSignal.timeout(120_000));
  journal = new MotionJournal(dir);
  const sink = fanOut(
    [journal.sink(), { episodeStarted: () => undefined, episodeEnded: (e) => episodes.push(e) }],
    (err) => {
      throw err;
    },
  );
  const parts: CameraMotion[] = [];
  for (const [i, c] of fleet.cameras().entries()) {
    const { record } = await onboardOnvif({
      xaddr: c.onvif!.xaddr,
      credentials: { username: USER, password: PASS },
    });
    record.id = c.id;
    record.motion.source = i === 0 ? 'both' : 'pixel';
    parts.push(
      new CameraMotion({
        camera: record,
        sink,
        log: silentLogger,
        onvif: { quietMs: 300, pullWaitMs: 2000 },
      }),
    );
  }
  const from = Date.now();
  for (const p of parts) await p.start(AbortSignal.timeout(10_000));
  await new Promise((r) => setTimeout(r, RUN_MS));
  for (const p of parts) health[p.name] = p.health();
  for (const p of parts) await p.stop();
  // The stream needs a moment to start (RTSP setup, ffmpeg probing), and the last episodes may
  // have been cut by the stop: score what lies fully inside.
  window = { from: from + 3000, to: Date.now() - 3000 };
}, 240_000);

afterAll(async () => {
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

function scored(cameraId: string, source: 'pixel' | 'onvif') {
  const cam = fleet.cameras().find((c) => c.id === cameraId)!;
  const inside = (e: { startMs: number; endMs: number }) => e.startMs >= window.from && e.endMs <= window.to;
  const all = cam.timeline.episodesBetween(window.from - 60_000, window.to + 60_000);
  const truth = all.filter(inside).map((e) => ({ startMs: e.startMs, endMs: e.endMs }));
  // An episode cut by the scoring window's edge is neither truth nor a detection: otherwise one
  // that starts just before the window (but within the detections' 1 s slack) would count as a
  // false positive, for the camera's own events as much as for pixel motion.
  const edge = all.filter((e) => !inside(e));
  const mine = episodes
    .filter((e) => e.cameraId === cameraId && e.source === source && e.endReason === 'quiet')
    .filter((e) => e.startedAt >= window.from - 1000 && e.endedAt <= window.to + 1000)
    .filter((e) => !edge.some((t) => e.startedAt < t.endMs + 1000 && e.endedAt > t.startMs - 1000))
    .map((e) => ({ startMs: e.startedAt, endMs: e.endedAt }));
  const report = scoreEpisodes(mine, truth);
  process.stdout.write(`live ${cameraId}/${source}: ${JSON.stringify(report)}\n`);
  return { truth, report };
}

describe('motion on live RTSP from the simulator', () => {
  it('street, pixel motion: every walk found, onset within 1 s', () => {
    const { truth, report } = scored('cam1', 'pixel');
    expect(truth.length).toBeGreaterThanOrEqual(1);
    expect(report.precision).toBeGreaterThanOrEqual(0.95);
    expect(report.recall).toBeGreaterThanOrEqual(0.95);
    expect(report.worstOnsetMs).toBeLessThanOrEqual(1000);
  });

  it('street, the camera events: the same walks', () => {
    const { report } = scored('cam1', 'onvif');
    expect(report.precision).toBeGreaterThanOrEqual(0.95);
    expect(report.recall).toBeGreaterThanOrEqual(0.95);
    expect(report.worstOnsetMs).toBeLessThanOrEqual(1000);
  });

  it('lights: no episode', () => {
    expect(episodes.filter((e) => e.cameraId === 'cam2')).toEqual([]);
    expect(health['motion:cam2']).toMatchObject({ state: 'ok' });
  });

  it('files every episode in the journal, queryable by window', async () => {
    const filed = await journal.between('cam1', window.from - 60_000, window.to + 60_000);
    expect(filed.map((e) => e.episodeId).sort()).toEqual(
      episodes
        .filter((e) => e.cameraId === 'cam1')
        .map((e) => e.episodeId)
        .sort(),
    );
  });
});
