import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MotionJournal, tagSegments } from '../../agent/motion/journal.js';
import type { MotionEpisode } from '../../agent/motion/types.js';

const DAY = 86_400_000;
const T = Date.UTC(2025, 4, 10, 23, 59, 50); // ten seconds before midnight UTC

function ep(id: string, startedAt: number, endedAt: number, cameraId = 'cam1'): MotionEpisode {
  return {
    episodeId: id,
    cameraId,
    source: 'pixel',
    startedAt,
    endedAt,
    peakScore: 0.1,
    paddedFrom: startedAt - 5000,
    paddedTo: endedAt + 5000,
    endReason: 'quiet',
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-journal-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('MotionJournal', () => {
  it('files episodes per camera and day and finds them by window, across midnight', async () => {
    const j = new MotionJournal(dir);
    await j.append(ep('a', T, T + 20_000)); // starts before midnight, ends after
    await j.append(ep('b', T + 60_000, T + 65_000));
    await j.append(ep('c', T + 60_000, T + 65_000, 'cam2'));
    expect(await readdir(path.join(dir, 'cam1'))).toEqual(['2025-05-10.jsonl', '2025-05-11.jsonl']);
    expect((await stat(path.join(dir, 'cam1', '2025-05-10.jsonl'))).mode & 0o777).toBe(0o600);
    const afterMidnight = await j.between('cam1', T + 15_000, T + 120_000);
    expect(afterMidnight.map((e) => e.episodeId)).toEqual(['a', 'b']);
    expect((await j.between('cam1', T + 21_000, T + 59_000)).map((e) => e.episodeId)).toEqual([]);
    // The padded window reaches further.
    expect((await j.between('cam1', T + 21_000, T + 59_000, true)).map((e) => e.episodeId)).toEqual([
      'a',
      'b',
    ]);
    expect((await j.between('cam2', 0, T + DAY)).map((e) => e.episodeId)).toEqual(['c']);
    expect(await j.between('nobody', 0, T + DAY)).toEqual([]);
  });

  it('skips a torn last line (power cut mid-append) and keeps the rest', async () => {
    const j = new MotionJournal(dir);
    await j.append(ep('a', T - 60_000, T - 50_000));
    await appendFile(path.join(dir, 'cam1', '2025-05-10.jsonl'), '{"episodeId":"torn","startedAt":');
    expect((await j.between('cam1', 0, T + DAY)).map((e) => e.episodeId)).toEqual(['a']);
  });

  it('prunes whole days, and refuses ids that are not file-safe', async () => {
    const j = new MotionJournal(dir);
    await j.append(ep('old', T - 3 * DAY, T - 3 * DAY + 1000));
    await j.append(ep('new', T, T + 1000));
    expect(await j.prune(T - DAY)).toBe(1);
    expect((await j.between('cam1', 0, T + DAY)).map((e) => e.episodeId)).toEqual(['new']);
    await expect(j.append(ep('x', T, T + 1, '../etc'))).rejects.toThrow(/invalid camera id/);
  });

  it('its sink files what ends and reports failures instead of throwing', async () => {
    const errors: unknown[] = [];
    const j = new MotionJournal(path.join(dir, 'x'), (e) => errors.push(e));
    j.sink().episodeEnded(ep('bad', T, T + 1, 'no/slash'));
    j.sink().episodeEnded(ep('ok', T, T + 1));
    await j.between('cam1', 0, 0);
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect((await j.between('cam1', 0, T + DAY)).map((e) => e.episodeId)).toEqual(['ok']);
  });
});

describe('tagSegments', () => {
  it('marks the segments that overlap an episode with its padding', () => {
    const segs = [0, 1, 2, 3, 4].map((i) => ({
      start: T + i * 10_000,
      end: T + (i + 1) * 10_000,
      file: `s${i}`,
    }));
    const tagged = tagSegments(segs, [ep('a', T + 21_000, T + 24_000), ep('b', T + 25_000, T + 26_000)]);
    expect(tagged.map((t) => [t.segment.file, t.motion, t.episodeIds])).toEqual([
      ['s0', false, []],
      ['s1', true, ['a']], // pre-padding reaches back to 16 s
      ['s2', true, ['a', 'b']],
      ['s3', true, ['b']], // post-padding reaches 31 s
      ['s4', false, []],
    ]);
    expect(tagged[2]!.peakScore).toBe(0.1);
  });
});
