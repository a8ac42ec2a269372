/**
 * Holds (pins): footage an incident needs, kept from eviction until `until`.
 *
 * Stored as one small JSON document (DIR/holds.json) replaced atomically on
 * every change (temp file, fsync, rename, fsync folder): a crash leaves the
 * old or the new set, never a torn one. lowdb, which the design names for such
 * documents, is not installed; its JSONFile adapter does the same
 * write-temp-and-rename (without the fsyncs we add), so nothing is lost by
 * doing it here.
 *
 * A holds file that exists but cannot be read is never treated as "no holds":
 * that would let retention delete evidence. The store then reports
 * `damaged` and the recorder evicts nothing until a human fixes the file.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as z from 'zod';
import type { Clock } from '../../lib/clock.js';
import { errnoCode, writeFileAtomic } from './fsutil.js';
import type { Hold } from './types.js';

const HoldSchema = z.object({
  id: z.string().min(1),
  camera: z.string().min(1),
  from: z.number(),
  to: z.number(),
  reason: z.string(),
  until: z.number(),
  createdAt: z.number(),
});
const FileSchema = z.object({ v: z.literal(1), holds: z.array(HoldSchema) });

export class HoldStore {
  private holds: Hold[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  /** Set when the file exists but is unreadable: retention must then evict nothing. */
  damaged: string | undefined;

  constructor(
    readonly file: string,
    private readonly clock: Clock,
  ) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        this.holds = [];
        this.damaged = undefined;
        return;
      }
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.damaged = `holds file ${this.file} is not valid JSON (${(err as Error).message})`;
      return;
    }
    const r = FileSchema.safeParse(parsed);
    if (!r.success) {
      this.damaged = `holds file ${this.file} does not match its schema`;
      return;
    }
    this.holds = r.data.holds;
    this.damaged = undefined;
  }

  /** Active holds (not yet lapsed). */
  list(): Hold[] {
    const now = this.clock.now();
    return this.holds.filter((h) => h.until > now).map((h) => ({ ...h }));
  }

  pin(camera: string, from: number, to: number, reason: string, until: number): Promise<Hold> {
    if (!(to > from)) throw new RangeError('pin: "to" must be after "from"');
    if (!Number.isFinite(until)) throw new RangeError('pin: "until" must be a time');
    return this.mutate(() => {
      const hold: Hold = { id: randomUUID(), camera, from, to, reason, until, createdAt: this.clock.now() };
      this.holds.push(hold);
      return { ...hold };
    });
  }

  unpin(id: string): Promise<boolean> {
    return this.mutate(() => {
      const before = this.holds.length;
      this.holds = this.holds.filter((h) => h.id !== id);
      return this.holds.length !== before;
    });
  }

  /** Apply a change and persist it; changes are serialized so no write is lost. */
  private mutate<T>(change: () => T): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.damaged) throw new Error(`${this.damaged}: refusing to overwrite it`);
      const previous = this.holds;
      const result = change();
      const now = this.clock.now();
      this.holds = this.holds.filter((h) => h.until > now); // lapsed holds leave the file
      try {
        await writeFileAtomic(this.file, JSON.stringify({ v: 1, holds: this.holds }, null, 1) + '\n');
      } catch (err) {
        this.holds = previous; // memory never claims a hold the disk does not have
        throw err;
      }
      return result;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}
