/**
 * One camera's footage: the journal, the segment files and the in-memory
 * index (segments sorted by start, recorded gaps). Every change goes through
 * here, in the order that keeps a crash harmless:
 *
 *   ingest: scan+hash -> fsync file -> rename into its hour folder -> fsync
 *           both folders -> append journal line (fsync). A crash before the
 *           journal line leaves a file without a line: reconcile indexes it.
 *   evict:  append "del" line -> unlink. A crash between leaves a file whose
 *           line says deleted: reconcile indexes it again (retention redoes it).
 *
 * Journal lines that could not be written (disk full) are kept in memory and
 * written before the next line, so the journal never misses a change it can
 * still record.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/log.js';
import { errnoCode, fsyncDir, fsyncPath, mkdirDurable } from './fsutil.js';
import type { JournalWriter } from './journal.js';
import { segLine, type JournalLine } from './journal.js';
import { cameraPaths, segmentRelPath, type CameraPaths } from './paths.js';
import { scanTs, type TsScan } from './ts-scan.js';
import type { Gap, Segment } from './types.js';

/** Below this, an unplayable leftover is a fragment (see ingest), not a file worth quarantining. */
const FRAGMENT_BYTES = 64 * 1024;

export type TimesFor = (scan: TsScan, mtimeMs: number) => { start: number; end: number };

export class CameraStore {
  readonly paths: CameraPaths;
  /** Sorted by start. */
  segments: Segment[] = [];
  gaps: Gap[] = [];
  private writer: JournalWriter | undefined;
  private unwritten: JournalLine[] = [];

  constructor(
    readonly dir: string,
    readonly camera: string,
    readonly log: Logger,
  ) {
    this.paths = cameraPaths(dir, camera);
  }

  get opened(): boolean {
    return this.writer !== undefined;
  }

  /** Used by reconcile once it has decided the journal's state. */
  async attach(writer: JournalWriter, segments: Segment[], gaps: Gap[]): Promise<void> {
    if (this.writer !== writer) await this.writer?.close();
    this.writer = writer;
    this.segments = segments.sort((a, b) => a.start - b.start);
    this.gaps = gaps;
  }

  async close(): Promise<void> {
    const w = this.writer;
    this.writer = undefined;
    await w?.close();
  }

  async append(...lines: JournalLine[]): Promise<void> {
    if (!this.writer) throw new Error(`journal of camera ${this.camera} is not open`);
    const all = [...this.unwritten, ...lines];
    try {
      await this.writer.append(...all);
      this.unwritten = [];
    } catch (err) {
      this.unwritten = all;
      throw err;
    }
  }

  async recordGap(gap: Gap): Promise<void> {
    this.gaps.push(gap);
    await this.append({
      v: 1,
      t: 'gap',
      from: gap.from,
      to: gap.to,
      cause: gap.cause,
      ...(gap.detail ? { detail: gap.detail } : {}),
    });
  }

  /**
   * Index a finished file (from incoming/ or a stray one): probe, fsync, move
   * into its hour folder, journal it. Returns undefined (and quarantines the
   * file) when it holds no playable video.
   */
  async ingest(file: string, timesFor: TimesFor): Promise<Segment | undefined> {
    const st = await fsp.stat(file);
    const scan = await scanTs(file);
    if (!scan.playable) {
      if (scan.bytes < FRAGMENT_BYTES) {
        // A stop or crash right after a cut leaves a few packets and no whole keyframe:
        // nothing a player could show. Logged and removed rather than quarantined.
        this.log.info('discarding a fragment with no complete keyframe', {
          file: path.basename(file),
          bytes: scan.bytes,
        });
        await fsp.rm(file, { force: true });
        return undefined;
      }
      await this.quarantine(file, scan.hasVideo ? 'no keyframe' : 'no video stream');
      return undefined;
    }
    await fsyncPath(file);
    const { start, end } = timesFor(scan, st.mtimeMs);
    const rel = await this.freeName(start);
    const dest = path.join(this.paths.root, rel);
    if (path.resolve(file) !== dest) {
      await mkdirDurable(path.dirname(dest));
      await fsp.rename(file, dest);
      await fsyncDir(path.dirname(dest));
      await fsyncDir(path.dirname(file));
    }
    const seg: Segment = {
      camera: this.camera,
      file: rel,
      start,
      end,
      bytes: scan.bytes,
      sha256: scan.sha256,
      keyframe: scan.startsWithKeyframe,
      audio: scan.hasAudio,
    };
    this.insert(seg); // the file is in place and playable: it is footage even if the line must wait
    await this.append(segLine(seg));
    return seg;
  }

  /** Index an existing file in an hour folder whose wall-clock start we already know. */
  async indexInPlace(rel: string, start: number): Promise<Segment | undefined> {
    const file = path.join(this.paths.root, rel);
    const scan = await scanTs(file);
    if (!scan.playable) {
      await this.quarantine(file, scan.hasVideo ? 'no keyframe' : 'no video stream');
      return undefined;
    }
    const seg: Segment = {
      camera: this.camera,
      file: rel,
      start,
      end: Math.round(start + scan.durationMs),
      bytes: scan.bytes,
      sha256: scan.sha256,
      keyframe: scan.startsWithKeyframe,
      audio: scan.hasAudio,
    };
    this.insert(seg);
    await this.append(segLine(seg));
    return seg;
  }

  async evict(seg: Segment, reason: 'retention' | 'missing'): Promise<void> {
    this.remove(seg);
    try {
      await this.append({ v: 1, t: 'del', file: seg.file, reason });
    } catch (err) {
      // Disk full must not block the deletion that frees space: the line waits in memory.
      this.log.warn('journal append failed; deleting anyway and journaling later', {
        file: seg.file,
        code: errnoCode(err),
      });
    }
    const file = path.join(this.paths.root, seg.file);
    try {
      await fsp.unlink(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    await this.pruneEmptyDirs(path.dirname(file));
  }

  /** Move an unusable file aside (never delete footage we cannot judge) and journal it. */
  async quarantine(file: string, reason: string): Promise<void> {
    const rel = path.relative(this.paths.root, file).split(path.sep).join('/');
    const target = path.join(this.paths.quarantine, `${Date.now()}-${rel.replaceAll('/', '_')}`);
    await mkdirDurable(this.paths.quarantine);
    await fsp.rename(file, target);
    await fsyncDir(this.paths.quarantine);
    await fsyncDir(path.dirname(file));
    this.log.warn('segment quarantined', { camera: this.camera, file: rel, reason });
    await this.append({
      v: 1,
      t: 'quarantine',
      file: rel,
      to: path.relative(this.paths.root, target),
      reason,
    });
  }

  private async freeName(start: number): Promise<string> {
    for (let n = 0; ; n++) {
      const rel = segmentRelPath(start, n === 0 ? '' : `-${n}`);
      try {
        await fsp.access(path.join(this.paths.root, rel));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return rel;
        throw err;
      }
    }
  }

  private insert(seg: Segment): void {
    const list = this.segments;
    const existing = list.findIndex((s) => s.file === seg.file);
    if (existing >= 0) list.splice(existing, 1);
    let i = list.length;
    while (i > 0 && list[i - 1]!.start > seg.start) i--; // usually appends at the end
    list.splice(i, 0, seg);
  }

  private remove(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
  }

  /** Remove emptied hour/day/month/year folders up to (not including) the camera folder. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let cur = dir;
    while (cur.startsWith(this.paths.root + path.sep)) {
      try {
        await fsp.rmdir(cur);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
        throw err;
      }
      cur = path.dirname(cur);
    }
  }

  bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n;
  }
}
