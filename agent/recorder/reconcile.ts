/**
 * Start-up reconciliation of one camera's journal with its files. The files
 * are the truth; the journal is made to describe them, and every disagreement
 * is written down (journal line + log), never dropped silently:
 *
 *  - journal missing, or damaged before its last line: the damaged journal is
 *    kept beside (journal.damaged-TIME.jsonl) and a new one rebuilt from the
 *    files (start time from the file name, duration and hash from a probe);
 *  - torn last line (crash mid-append): cut off; its segment is re-indexed;
 *  - journal line whose file is gone: "del missing" + a gap "file-missing";
 *  - file whose size differs from its line: re-probed, re-indexed or quarantined;
 *  - file in an hour folder without a line: probed, indexed or quarantined;
 *  - file left in incoming/ (ffmpeg or agent killed mid-segment): salvaged.
 *    TS stays playable up to its last whole packet; its wall-clock end is the
 *    file's mtime (the last write) and its start that minus its duration.
 *
 * Returns how the last session ended, to open the right gap.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../lib/clock.js';
import type { CameraStore } from './camera-store.js';
import { errnoCode, listFiles } from './fsutil.js';
import { foldJournal, JournalWriter, loadJournal, segLine, type JournalLine } from './journal.js';
import { isHourPath, startFromRelPath } from './paths.js';
import type { GapCause, Segment } from './types.js';

export interface ReconcileReport {
  rebuilt: boolean;
  tornTail: boolean;
  indexed: number;
  salvaged: number;
  quarantined: number;
  missing: number;
  /** How the previous session ended, and since when footage is missing because of it. */
  previous?: { cause: GapCause; from: number };
}

/** Compact when the journal has this many times more lines than live records (plus slack). */
const COMPACT_FACTOR = 3;

export async function reconcile(
  store: CameraStore,
  clock: Clock,
  opts: { excludeIncoming?: (name: string) => boolean } = {},
): Promise<ReconcileReport> {
  const { paths, log, camera } = store;
  await fsp.mkdir(paths.incoming, { recursive: true });
  const loaded = await loadJournal(paths.journal);
  const report: ReconcileReport = {
    rebuilt: false,
    tornTail: loaded.tornTail,
    indexed: 0,
    salvaged: 0,
    quarantined: 0,
    missing: 0,
  };
  const notes: JournalLine[] = [];
  let lines = loaded.lines;
  const files = await listFiles(paths.root, (n) => n.endsWith('.ts'));
  const hourFiles = new Set(files.filter(isHourPath));

  if (loaded.state === 'damaged' || (loaded.state === 'missing' && hourFiles.size > 0)) {
    report.rebuilt = true;
    let note = 'journal missing; rebuilt from the files';
    if (loaded.state === 'damaged') {
      const kept = path.join(paths.root, `journal.damaged-${clock.now()}.jsonl`);
      await fsp.rename(paths.journal, kept);
      note = `journal damaged at line ${loaded.damagedLine}; kept as ${path.basename(kept)}; rebuilt from the files`;
    }
    log.warn(note, { camera });
    notes.push({ v: 1, t: 'rebuilt', at: clock.now(), note });
    // Keep what the intact prefix knew about gaps and sessions; segments come from the files.
    lines = lines.filter((l) => l.t === 'gap' || l.t === 'start' || l.t === 'stop');
  } else if (loaded.tornTail) {
    log.warn('journal ended in a torn line (crash mid-append); cut off, its segment is re-indexed', {
      camera,
    });
  }

  const folded = foldJournal(camera, lines);
  const writer = new JournalWriter(paths.journal);
  if (report.rebuilt) await writer.rewrite([...notes, ...lines]);
  else await writer.open(loaded.goodBytes);
  await store.attach(writer, [], folded.gaps);

  // Journaled segments: keep those whose file is present with the same size.
  const keep: Segment[] = [];
  const recheck: Segment[] = [];
  for (const seg of folded.segments.values()) {
    if (!hourFiles.has(seg.file)) {
      report.missing++;
      log.warn('indexed segment file is missing', { camera, file: seg.file });
      await store.append({ v: 1, t: 'del', file: seg.file, reason: 'missing' });
      await store.recordGap({ from: seg.start, to: seg.end, cause: 'file-missing', detail: seg.file });
      continue;
    }
    hourFiles.delete(seg.file);
    const st = await fsp.stat(path.join(paths.root, seg.file));
    (st.size === seg.bytes ? keep : recheck).push(seg);
  }
  await store.attach(writer, keep, store.gaps);

  for (const seg of recheck) {
    log.warn('segment size differs from its journal line; re-probing', { camera, file: seg.file });
    if (await store.indexInPlace(seg.file, seg.start)) report.indexed++;
    else report.quarantined++;
  }
  // Files in hour folders the journal does not know (crash before the line, or rebuild).
  for (const rel of [...hourFiles].sort()) {
    const start = startFromRelPath(rel);
    if (start === undefined) {
      await store.quarantine(path.join(paths.root, rel), 'name does not encode a start time');
      report.quarantined++;
      continue;
    }
    if (await store.indexInPlace(rel, start)) report.indexed++;
    else report.quarantined++;
  }
  // Leftovers of a killed ffmpeg or agent.
  const leftovers = files.filter(
    (f) => f.startsWith('incoming/') && !(opts.excludeIncoming?.(path.basename(f)) ?? false),
  );
  for (const rel of leftovers) {
    const r = await salvage(store, path.join(paths.root, rel));
    if (r === 'salvaged') report.salvaged++;
    else if (r === 'quarantined') report.quarantined++;
  }

  const lastEnd = store.segments.reduce((m, s) => Math.max(m, s.end), -Infinity);
  if (folded.crashed && Number.isFinite(lastEnd)) report.previous = { cause: 'agent-crashed', from: lastEnd };
  else if (folded.cleanStopAt !== undefined)
    report.previous = {
      cause: 'agent-stopped',
      from: Math.max(folded.cleanStopAt, Number.isFinite(lastEnd) ? lastEnd : -Infinity),
    };

  const live = store.segments.length + store.gaps.length;
  if (!report.rebuilt && lines.length > COMPACT_FACTOR * live + 1000) await compact(store, writer, clock);
  if (report.rebuilt) await compact(store, writer, clock, notes);
  log.info('camera reconciled', { camera, segments: store.segments.length, ...report });
  return report;
}

/** Index a file ffmpeg left unfinished; returns what happened to it. */
export async function salvage(
  store: CameraStore,
  file: string,
  notBefore = -Infinity,
): Promise<'salvaged' | 'quarantined' | 'empty'> {
  const st = await fsp.stat(file);
  if (st.size === 0) {
    store.log.debug('removing empty leftover segment', { camera: store.camera, file: path.basename(file) });
    try {
      await fsp.unlink(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return 'empty';
  }
  const seg = await store.ingest(file, (scan, mtimeMs) => {
    const end = Math.round(mtimeMs);
    return { start: Math.max(notBefore, Math.round(end - scan.durationMs)), end };
  });
  if (seg)
    store.log.info('salvaged the segment in progress at the last stop', {
      camera: store.camera,
      file: seg.file,
      seconds: (seg.end - seg.start) / 1000,
    });
  return seg ? 'salvaged' : 'quarantined';
}

/** Rewrite the journal with only live records (atomic), dropping superseded lines. */
async function compact(
  store: CameraStore,
  writer: JournalWriter,
  clock: Clock,
  prefix: JournalLine[] = [],
): Promise<void> {
  const oldest = store.segments[0]?.start ?? clock.now();
  const gaps = store.gaps.filter((g) => g.to >= oldest);
  const lines: JournalLine[] = [
    ...prefix,
    ...gaps.map((g): JournalLine => ({
      v: 1,
      t: 'gap',
      from: g.from,
      to: g.to,
      cause: g.cause,
      ...(g.detail ? { detail: g.detail } : {}),
    })),
    ...store.segments.map(segLine),
  ];
  await writer.rewrite(lines);
  store.gaps = gaps;
}
