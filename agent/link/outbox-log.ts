/**
 * The outbox's on-disk format: append-only segment files of framed records,
 * plus a small `committed` file holding the highest sequence number below
 * which everything has been delivered or dropped.
 *
 * Why not a JSON document (lowdb): a queue of 10,000 events would be rewritten
 * whole on every enqueue and every acknowledgement (O(n) per operation, O(n²)
 * for a backlog), and a crash during the rewrite relies on rename for
 * atomicity of the whole queue. An append-only log writes each event once,
 * fsyncs a batch at a time (group commit), and a crash can tear only the last
 * record, which the CRC finds and recovery truncates. Acknowledgement is one
 * integer; whole segments are unlinked once everything in them is committed.
 *
 * Record: u32le bodyLength | u32le crc32(body) | body
 * body:   u16le headerLength | header (UTF-8 JSON) | payload bytes
 */
import { crc32 } from 'node:zlib';
import { open, readFile, readdir, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

export type OutboxClass = 'reply' | 'event' | 'health';

/** A queued message in memory; `writing` until its batch is on disk. */
export interface OutboxEntry {
  readonly seq: number;
  readonly cls: OutboxClass;
  readonly name: string;
  readonly payload: Buffer;
  state: 'writing' | 'pending' | 'inflight' | 'done';
}

export interface OutboxStats {
  queued: number;
  bytes: number;
  inflight: number;
  dropped: Record<OutboxClass, number>;
  recoveredTornBytes: number;
}

/** A queued message: `s` sequence, `c` class, `n` protocol topic name. */
export interface RecordHeader {
  s: number;
  c: OutboxClass;
  n: string;
}
/** A tombstone: these sequence numbers were dropped by the bound. */
export interface DropHeader {
  d: number[];
}

export interface LoadedRecord {
  header: RecordHeader;
  payload: Buffer;
}

const FRAME = 8;
const SEGMENT = /^seg-(\d{16})\.log$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.log`;
}

export function frame(header: RecordHeader | DropHeader, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const body = Buffer.alloc(2 + h.length + payload.length);
  body.writeUInt16LE(h.length, 0);
  h.copy(body, 2);
  payload.copy(body, 2 + h.length);
  const head = Buffer.alloc(FRAME);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

export interface ParsedSegment {
  records: LoadedRecord[];
  dropped: number[];
  /** Byte length of the valid prefix; anything after it is a torn write. */
  validLength: number;
}

export function parseSegment(buf: Buffer): ParsedSegment {
  const records: LoadedRecord[] = [];
  const dropped: number[] = [];
  let off = 0;
  while (off + FRAME <= buf.length) {
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    if (len < 2 || off + FRAME + len > buf.length) break;
    const body = buf.subarray(off + FRAME, off + FRAME + len);
    if (crc32(body) !== sum) break;
    const hlen = body.readUInt16LE(0);
    if (2 + hlen > body.length) break;
    const header = JSON.parse(body.subarray(2, 2 + hlen).toString('utf8')) as RecordHeader | DropHeader;
    if ('d' in header) dropped.push(...header.d);
    else records.push({ header, payload: Buffer.from(body.subarray(2 + hlen)) });
    off += FRAME + len;
  }
  return { records, dropped, validLength: off };
}

export interface RecoveredLog {
  committed: number;
  records: LoadedRecord[];
  dropped: Set<number>;
  segments: { file: string; firstSeq: number }[];
  /** Bytes cut off torn tails during recovery (0 after a clean stop). */
  truncatedBytes: number;
}

/** Reads the committed mark and every segment, repairing torn tails. */
export async function recoverLog(dir: string): Promise<RecoveredLog> {
  let committed = 0;
  try {
    const raw = JSON.parse(await readFile(path.join(dir, 'committed'), 'utf8')) as { committed?: unknown };
    if (typeof raw.committed === 'number' && Number.isSafeInteger(raw.committed)) committed = raw.committed;
  } catch (err) {
    // A missing file is a fresh outbox; a corrupt one (impossible with
    // write-then-rename, but disks lie) means "replay everything": at-least-once.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  const files = (await readdir(dir))
    .map((f) => ({ file: f, m: SEGMENT.exec(f) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map((x) => ({ file: x.file, firstSeq: Number(x.m[1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
  const records: LoadedRecord[] = [];
  const dropped = new Set<number>();
  let truncatedBytes = 0;
  for (const seg of files) {
    const full = path.join(dir, seg.file);
    const buf = await readFile(full);
    const parsed = parseSegment(buf);
    if (parsed.validLength < buf.length) {
      truncatedBytes += buf.length - parsed.validLength;
      await truncate(full, parsed.validLength);
    }
    for (const r of parsed.records) if (r.header.s > committed) records.push(r);
    for (const d of parsed.dropped) dropped.add(d);
  }
  return { committed, records, dropped, segments: files, truncatedBytes };
}

/** Writes the committed mark atomically: write a temp file, fsync, rename. */
export async function writeCommitted(dir: string, committed: number, fsync: boolean): Promise<void> {
  const tmp = path.join(dir, 'committed.tmp');
  if (fsync) {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ committed }));
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } else {
    await writeFile(tmp, JSON.stringify({ committed }));
  }
  await rename(tmp, path.join(dir, 'committed'));
}

/** The segment being appended to. */
export class ActiveSegment {
  private constructor(
    readonly file: string,
    readonly firstSeq: number,
    private readonly fh: FileHandle,
    public size: number,
  ) {}

  static async open(dir: string, firstSeq: number): Promise<ActiveSegment> {
    const file = path.join(dir, segmentName(firstSeq));
    const fh = await open(file, 'a');
    const { size } = await fh.stat();
    return new ActiveSegment(file, firstSeq, fh, size);
  }

  async append(buf: Buffer, fsync: boolean): Promise<void> {
    await this.fh.write(buf);
    this.size += buf.length;
    // fdatasync: the data and the file length reach the disk; mtime need not.
    if (fsync) await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export async function removeSegment(dir: string, file: string): Promise<void> {
  try {
    await unlink(path.join(dir, path.basename(file)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * The segment files of one outbox: the one being appended to, and for each the
 * highest sequence number written to it, so whole files can be unlinked once
 * everything in them is committed.
 */
export class SegmentFiles {
  private segs: { file: string; maxSeq: number }[] = [];
  private active: ActiveSegment | undefined;

  constructor(private readonly dir: string) {}

  get isOpen(): boolean {
    return this.active !== undefined;
  }

  /** Recovered files; given the whole log's max (conservative): kept until everything recovered is committed. */
  adopt(files: { file: string }[], maxSeq: number): void {
    this.segs = files.map((f) => ({ file: f.file, maxSeq }));
  }

  async open(firstSeq: number): Promise<void> {
    this.active = await ActiveSegment.open(this.dir, firstSeq);
    const name = path.basename(this.active.file);
    if (!this.segs.some((s) => s.file === name)) this.segs.push({ file: name, maxSeq: 0 });
  }

  /** Appends a batch, first rolling to a new file named `firstSeq` if the current one is full. */
  async append(
    buf: Buffer,
    opts: { fsync: boolean; rollAt: number; firstSeq: number; maxSeq: number },
  ): Promise<void> {
    if (!this.active) throw new Error('outbox is not open');
    if (this.active.size >= opts.rollAt) {
      await this.active.close();
      await this.open(opts.firstSeq);
    }
    const active = this.active;
    await active.append(buf, opts.fsync);
    const seg = this.segs.find((x) => x.file === path.basename(active.file));
    if (seg) seg.maxSeq = opts.maxSeq;
  }

  /** After a failed write: a torn record may end the current file, so continue in a new one. */
  async reopen(firstSeq: number): Promise<void> {
    await this.active?.close();
    await this.open(firstSeq);
  }

  /** Unlinks every file (but the active one) whose records are all at or below `committed`. */
  async prune(committed: number): Promise<void> {
    const activeFile = this.active ? path.basename(this.active.file) : undefined;
    const keep: { file: string; maxSeq: number }[] = [];
    for (const s of this.segs) {
      if (s.file !== activeFile && s.maxSeq <= committed) await removeSegment(this.dir, s.file);
      else keep.push(s);
    }
    this.segs = keep;
  }

  async close(): Promise<void> {
    await this.active?.close();
    this.active = undefined;
  }
}
