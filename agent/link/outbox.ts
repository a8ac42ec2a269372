/**
 * Store-and-forward: every message the bridge must get goes through here first.
 * It is written (group-committed, fsynced) before it is sent, and forgotten
 * only when the broker has acknowledged it (PUBACK) or the bound dropped it.
 * Delivery is at-least-once, in sequence order; messages carry their own ids
 * so the bridge can discard the duplicates a crash between PUBACK and the
 * committed mark can cause. Format and reasons: outbox-log.ts.
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import { SegmentFiles, frame, recoverLog, writeCommitted } from './outbox-log.js';
import type { OutboxClass, OutboxEntry, OutboxStats } from './outbox-log.js';

export type { OutboxClass, OutboxEntry, OutboxStats } from './outbox-log.js';

export interface OutboxOptions {
  dir: string;
  /** Bound on queued payload bytes. Replies may exceed it: they are never dropped. */
  maxBytes: number;
  /** Bound on queued messages (same rule). */
  maxEntries: number;
  /** Roll to a new segment file past this size. */
  segmentBytes?: number;
  /** fdatasync each batch (default true). Off only in benchmarks of the non-durable path. */
  fsync?: boolean;
  /** How long acknowledgements are batched before the committed mark is written. */
  commitDelayMs?: number;
  log?: Logger;
}

/** Eviction order when the bound is reached: health first, then events; never replies. */
const EVICTABLE: Record<OutboxClass, OutboxClass[]> = {
  health: ['health'],
  event: ['health', 'event'],
  reply: ['health', 'event'],
};

export class Outbox {
  private entries: OutboxEntry[] = [];
  private head = 0;
  private cursor = 0;
  private readonly bySeq = new Map<number, OutboxEntry>();
  private readonly fifo: Record<OutboxClass, OutboxEntry[]> = { reply: [], event: [], health: [] };
  private nextSeq = 1;
  private committed = 0;
  private liveBytes = 0;
  private liveCount = 0;
  private readonly dropped: Record<OutboxClass, number> = { reply: 0, event: 0, health: 0 };
  private tornBytes = 0;
  private readonly files: SegmentFiles;
  private batch:
    | {
        buf: Buffer[];
        entries: OutboxEntry[];
        waiters: { resolve: () => void; reject: (e: unknown) => void }[];
      }
    | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private commitTimer: NodeJS.Timeout | undefined;
  private commitWritten = 0;
  private readonly listeners = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly opts: OutboxOptions) {
    this.log = opts.log ?? silentLogger;
    this.files = new SegmentFiles(opts.dir);
  }

  async open(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const rec = await recoverLog(this.opts.dir);
    this.committed = this.commitWritten = rec.committed;
    this.tornBytes = rec.truncatedBytes;
    if (rec.truncatedBytes > 0)
      this.log.warn('outbox: cut a torn record left by a crash', { bytes: rec.truncatedBytes });
    let maxSeq = rec.committed;
    for (const r of rec.records.sort((a, b) => a.header.s - b.header.s)) {
      maxSeq = Math.max(maxSeq, r.header.s);
      if (rec.dropped.has(r.header.s)) continue;
      this.push({ seq: r.header.s, cls: r.header.c, name: r.header.n, payload: r.payload, state: 'pending' });
    }
    for (const d of rec.dropped) maxSeq = Math.max(maxSeq, d);
    this.files.adopt(rec.segments, maxSeq);
    this.nextSeq = maxSeq + 1;
    await this.files.open(this.nextSeq);
    this.advance();
  }

  /** Called whenever entries become sendable. Returns an unsubscribe function. */
  onReady(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Queues a message; resolves once it is on disk. Returns false when the
   * bound rejected it (only health and events can be rejected).
   */
  append(cls: OutboxClass, name: string, payload: Buffer): Promise<boolean> {
    if (!this.files.isOpen) return Promise.reject(new Error('outbox is not open'));
    const drops = this.makeRoom(cls, payload.length);
    if (drops === undefined) {
      this.dropped[cls] += 1;
      return Promise.resolve(false);
    }
    const entry: OutboxEntry = { seq: this.nextSeq++, cls, name, payload, state: 'writing' };
    this.push(entry);
    const bufs: Buffer[] = [];
    if (drops.length > 0) bufs.push(frame({ d: drops }));
    bufs.push(frame({ s: entry.seq, c: cls, n: name }, payload));
    return this.enqueueWrite(bufs, entry).then(() => true);
  }

  /** The oldest sendable entry not already in flight, in sequence order. */
  next(): OutboxEntry | undefined {
    for (let i = Math.max(this.cursor, this.head); i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.state === 'writing') return undefined; // keep order: never skip ahead of the disk
      if (e.state === 'pending') {
        this.cursor = i;
        return e;
      }
    }
    this.cursor = this.entries.length;
    return undefined;
  }

  markInflight(e: OutboxEntry): void {
    if (e.state === 'pending') e.state = 'inflight';
  }

  /** The broker acknowledged it (PUBACK, MQTT-4.3.2): it may be forgotten. */
  ack(seq: number): void {
    const e = this.bySeq.get(seq);
    if (!e || e.state === 'done') return;
    this.finish(e);
    this.advance();
  }

  /** The connection dropped: whatever was in flight is sent again, from the oldest. */
  requeueInflight(): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.state === 'inflight') e.state = 'pending';
    }
    this.cursor = this.head;
  }

  stats(): OutboxStats {
    let inflight = 0;
    for (let i = this.head; i < this.entries.length; i++)
      if (this.entries[i]!.state === 'inflight') inflight++;
    return {
      queued: this.liveCount,
      bytes: this.liveBytes,
      inflight,
      dropped: { ...this.dropped },
      recoveredTornBytes: this.tornBytes,
    };
  }

  async close(): Promise<void> {
    await this.flushing;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    await this.writeCommit();
    await this.files.close();
  }

  private push(e: OutboxEntry): void {
    this.entries.push(e);
    this.bySeq.set(e.seq, e);
    this.fifo[e.cls].push(e);
    this.liveBytes += e.payload.length;
    this.liveCount += 1;
  }

  private finish(e: OutboxEntry): void {
    e.state = 'done';
    this.bySeq.delete(e.seq);
    this.liveBytes -= e.payload.length;
    this.liveCount -= 1;
  }

  /** Sequence numbers to drop so `bytes` more fit, or undefined if it must be rejected. */
  private makeRoom(cls: OutboxClass, bytes: number): number[] | undefined {
    const fits = (freedBytes: number, freedCount: number): boolean =>
      this.liveBytes - freedBytes + bytes <= this.opts.maxBytes &&
      this.liveCount - freedCount + 1 <= this.opts.maxEntries;
    if (fits(0, 0)) return [];
    const victims: OutboxEntry[] = [];
    let freedBytes = 0;
    for (const c of EVICTABLE[cls]) {
      const q = this.fifo[c];
      while (q.length > 0 && q[0]!.state === 'done') q.shift();
      for (const e of q) {
        if (e.state === 'done' || e.state === 'writing') continue;
        victims.push(e);
        freedBytes += e.payload.length;
        if (fits(freedBytes, victims.length)) break;
      }
      if (fits(freedBytes, victims.length)) break;
    }
    if (!fits(freedBytes, victims.length) && cls !== 'reply') return undefined;
    for (const v of victims) {
      this.dropped[v.cls] += 1;
      this.finish(v);
    }
    if (victims.length > 0)
      this.log.warn('outbox full: dropped oldest', {
        count: victims.length,
        classes: [...new Set(victims.map((v) => v.cls))],
      });
    this.advance();
    return victims.map((v) => v.seq);
  }

  private enqueueWrite(bufs: Buffer[], entry: OutboxEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.batch) {
        this.batch = { buf: [], entries: [], waiters: [] };
        // Group commit: everything appended in this turn of the event loop
        // shares one write and one fdatasync.
        this.flushing = this.flushing.then(() => this.flush());
      }
      this.batch.buf.push(...bufs);
      this.batch.entries.push(entry);
      this.batch.waiters.push({ resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = undefined;
    if (!batch) return;
    try {
      await this.files.append(Buffer.concat(batch.buf), {
        fsync: this.opts.fsync ?? true,
        rollAt: this.opts.segmentBytes ?? 4 << 20,
        firstSeq: batch.entries[0]!.seq,
        maxSeq: this.nextSeq - 1,
      });
      for (const e of batch.entries) if (e.state === 'writing') e.state = 'pending';
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      // Disk full or failing: the batch is still delivered from memory if the
      // link is up, and the caller hears it is not durable. A partial write may
      // have left a torn record, so later batches go to a fresh segment (recovery
      // stops reading a segment at its first bad record).
      this.log.error('outbox: write failed; continuing in memory', { err });
      for (const e of batch.entries) if (e.state === 'writing') e.state = 'pending';
      for (const w of batch.waiters) w.reject(err);
      await this.files
        .reopen(this.nextSeq)
        .catch((e: unknown) => this.log.error('outbox: cannot open a new segment', { err: e }));
    }
    for (const fn of this.listeners) fn();
  }

  /** Moves the committed mark over the done prefix and schedules writing it. */
  private advance(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'done') {
      this.committed = this.entries[this.head]!.seq;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor = Math.max(0, this.cursor - this.head);
      this.head = 0;
      for (const c of Object.keys(this.fifo) as OutboxClass[])
        this.fifo[c] = this.fifo[c].filter((e) => e.state !== 'done');
    }
    if (this.committed !== this.commitWritten && !this.commitTimer && this.files.isOpen) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.flushing = this.flushing
          .then(() => this.writeCommit())
          .catch((err: unknown) => this.log.error('outbox: commit failed', { err }));
      }, this.opts.commitDelayMs ?? 200);
    }
  }

  private async writeCommit(): Promise<void> {
    if (this.committed === this.commitWritten) return;
    const c = this.committed;
    await writeCommitted(this.opts.dir, c, this.opts.fsync ?? true);
    this.commitWritten = c;
    await this.files.prune(c);
  }
}
