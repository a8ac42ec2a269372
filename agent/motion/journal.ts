/**
 * Where motion episodes are kept, so the agent can answer "when was there motion" for any window
 * it still holds footage for, and mark which recorded segments contain motion.
 *
 * One append-only JSON-lines file per camera per UTC day (`<dir>/<camera>/YYYY-MM-DD.jsonl`),
 * one line per finished episode, filed under the day it started. Episodes are few (a busy camera
 * has hundreds a day), so a line per episode with an fsync is cheap, and whole days are
 * dropped by retention with one unlink. A torn last line (power cut mid-append) is skipped on
 * read; every other line stays readable.
 *
 * Segment tagging is a join, not a write into the recorder's journal: `tagSegments` takes the
 * recorder's segments for a window (Recorder.segments) and these episodes, and says which
 * segments hold motion. The recorder's files stay the recorder's, and a change of padding
 * re-tags history without rewriting anything.
 */
import { appendFile, mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { MotionEpisode, MotionSink } from './types.js';

const DAY_MS = 86_400_000;
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class MotionJournal {
  /** Appends run in order; each resolves when its line is on disk. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** A sink that files every finished episode. */
  sink(): MotionSink {
    return {
      episodeStarted: () => undefined,
      episodeEnded: (e) => {
        this.append(e).catch(this.onError);
      },
    };
  }

  append(e: MotionEpisode): Promise<void> {
    const run = this.chain.then(async () => {
      const file = path.join(this.dir, safe(e.cameraId), `${dayName(e.startedAt)}.jsonl`);
      await mkdir(path.dirname(file), { recursive: true });
      await appendFile(file, JSON.stringify(e) + '\n', { mode: 0o600 });
      const fh = await open(file, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Episodes of one camera overlapping [from, to), by start time. Includes the padding if asked. */
  async between(cameraId: string, from: number, to: number, padded = false): Promise<MotionEpisode[]> {
    await this.chain;
    const out: MotionEpisode[] = [];
    // An episode is filed under its start day and lasts at most a few minutes: look one day back.
    for (let d = Math.floor(from / DAY_MS) - 1; d <= Math.floor(to / DAY_MS); d++) {
      let text: string;
      try {
        text = await readFile(path.join(this.dir, safe(cameraId), `${dayName(d * DAY_MS)}.jsonl`), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const line of text.split('\n')) {
        const e = parseLine(line);
        if (!e) continue;
        const [s, t] = padded ? [e.paddedFrom, e.paddedTo] : [e.startedAt, e.endedAt];
        if (s < to && t > from) out.push(e);
      }
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Removes whole days that ended before `before` (epoch ms), for every camera. */
  async prune(before: number): Promise<number> {
    let removed = 0;
    let cams: string[];
    try {
      cams = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    for (const cam of cams) {
      for (const f of await readdir(path.join(this.dir, cam))) {
        const m = /^(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(f);
        if (m && Date.parse(m[1]!) + DAY_MS <= before) {
          await rm(path.join(this.dir, cam, f));
          removed++;
        }
      }
    }
    return removed;
  }
}

function safe(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`invalid camera id "${id}"`);
  return id;
}

function parseLine(line: string): MotionEpisode | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as MotionEpisode;
    return typeof e.startedAt === 'number' && typeof e.endedAt === 'number' ? e : undefined;
  } catch {
    return undefined; // a torn last line after a power cut: skip it, keep the rest
  }
}

/** A recorded segment as the recorder describes it (only the fields the join needs). */
export interface SegmentLike {
  start: number;
  end: number;
}

export interface TaggedSegment<S extends SegmentLike> {
  segment: S;
  motion: boolean;
  episodeIds: string[];
  peakScore: number;
}

/** Which segments overlap an episode's padded window ([paddedFrom, paddedTo)). */
export function tagSegments<S extends SegmentLike>(
  segments: readonly S[],
  episodes: readonly MotionEpisode[],
): TaggedSegment<S>[] {
  return segments.map((segment) => {
    const hits = episodes.filter((e) => e.paddedFrom < segment.end && e.paddedTo > segment.start);
    return {
      segment,
      motion: hits.length > 0,
      episodeIds: hits.map((e) => e.episodeId),
      peakScore: hits.reduce((m, e) => Math.max(m, e.peakScore), 0),
    };
  });
}
