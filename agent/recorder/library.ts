/**
 * Read-only access to what is on disk, for processes that are not the
 * recorder (the `agent clip` command while a recorder runs, tools, tests).
 * It reads the journal without repairing it (repair is the recorder's job):
 * a torn last line is just a segment still being journaled, and skipped.
 */
import { ffmpegPath } from '../../lib/ffmpeg.js';
import { cutClip, type ClipResult } from './clip.js';
import { foldJournal, loadJournal } from './journal.js';
import { cameraPaths } from './paths.js';
import { coverage, overlapping } from './timeline.js';
import type { Coverage, Gap, Segment } from './types.js';

export interface Footage {
  camera: string;
  root: string;
  segments: Segment[];
  gaps: Gap[];
}

export async function readFootage(dir: string, camera: string): Promise<Footage> {
  const paths = cameraPaths(dir, camera);
  const loaded = await loadJournal(paths.journal);
  if (loaded.state === 'missing')
    throw new Error(`no recordings of camera "${camera}" in ${dir} (no journal at ${paths.journal})`);
  if (loaded.state === 'damaged') {
    throw new Error(
      `journal of camera "${camera}" is damaged at line ${loaded.damagedLine}; start the recorder once to rebuild it`,
    );
  }
  const folded = foldJournal(camera, loaded.lines);
  const segments = [...folded.segments.values()].sort((a, b) => a.start - b.start);
  return { camera, root: paths.root, segments, gaps: folded.gaps };
}

export function footageCoverage(f: Footage, from: number, to: number, now: number): Coverage {
  return coverage(f.camera, f.segments, from, to, { gaps: f.gaps, now });
}

/** Cut a clip from the files on disk (safe while a recorder is writing the same folder). */
export async function clipFromDisk(
  dir: string,
  camera: string,
  from: number,
  to: number,
  out: string,
  now = Date.now(),
): Promise<ClipResult> {
  const f = await readFootage(dir, camera);
  const gaps = footageCoverage(f, from, to, now).gaps;
  return cutClip({
    root: f.root,
    segments: overlapping(f.segments, from, to),
    from,
    to,
    out,
    ffmpeg: ffmpegPath(),
    gaps,
  });
}
