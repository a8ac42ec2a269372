/**
 * The per-camera segment journal: JSON lines, append-only, fsynced after every
 * append. It is the index of what is on disk; the files stay the truth, and
 * reconcile.ts repairs the journal from them after a crash.
 *
 * Why JSON lines and not a lowdb document: the index grows by thousands of rows
 * a day per camera; rewriting a whole document per segment would be O(n) I/O
 * per append. An append of one line is O(1), and a torn last line (power cut
 * mid-write) is detected and cut off without touching earlier lines.
 */
import { promises as fsp } from 'node:fs';
import * as z from 'zod';
import { GAP_CAUSES, type Gap, type Segment } from './types.js';
import { errnoCode, fsyncDir, writeFileAtomic } from './fsutil.js';
import path from 'node:path';

const ms = z.number().finite();
export const JournalLineSchema = z.discriminatedUnion('t', [
  z.object({
    v: z.literal(1),
    t: z.literal('seg'),
    file: z.string().min(1),
    start: ms,
    end: ms,
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    kf: z.boolean(),
    audio: z.boolean(),
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('gap'),
    from: ms,
    to: ms,
    cause: z.enum(GAP_CAUSES),
    detail: z.string().optional(),
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('del'),
    file: z.string().min(1),
    reason: z.enum(['retention', 'missing', 'replaced']),
  }),
  z.object({
    v: z.literal(1),
    t: z.literal('quarantine'),
    file: z.string().min(1),
    to: z.string(),
    reason: z.string(),
  }),
  z.object({ v: z.literal(1), t: z.literal('start'), at: ms }),
  z.object({ v: z.literal(1), t: z.literal('stop'), at: ms }),
  z.object({ v: z.literal(1), t: z.literal('rebuilt'), at: ms, note: z.string() }),
]);
export type JournalLine = z.infer<typeof JournalLineSchema>;

export function segLine(s: Segment): JournalLine {
  return {
    v: 1,
    t: 'seg',
    file: s.file,
    start: s.start,
    end: s.end,
    bytes: s.bytes,
    sha256: s.sha256,
    kf: s.keyframe,
    audio: s.audio,
  };
}

export interface LoadedJournal {
  state: 'ok' | 'missing' | 'damaged';
  lines: JournalLine[];
  /** Byte length of the intact prefix (all good lines, each ending in "\n"). */
  goodBytes: number;
  /** A last line without its newline or unparseable: a write torn by a crash. */
  tornTail: boolean;
  /** 1-based number of the first bad line that is not the last one (journal damaged). */
  damagedLine?: number;
}

/** Parse a journal. A bad LAST line is a torn append; a bad line before the end is damage. */
export async function loadJournal(file: string): Promise<LoadedJournal> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { state: 'missing', lines: [], goodBytes: 0, tornTail: false };
    throw err;
  }
  const lines: JournalLine[] = [];
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const last = nl < 0 || nl === text.length - 1;
    const raw = text.slice(pos, nl < 0 ? text.length : nl);
    lineNo++;
    const parsed = nl < 0 ? undefined : parseLine(raw);
    if (!parsed) {
      if (raw.trim() === '' && nl >= 0) {
        pos = nl + 1;
        continue;
      }
      if (last)
        return { state: 'ok', lines, goodBytes: Buffer.byteLength(text.slice(0, pos)), tornTail: true };
      return {
        state: 'damaged',
        lines,
        goodBytes: Buffer.byteLength(text.slice(0, pos)),
        tornTail: false,
        damagedLine: lineNo,
      };
    }
    lines.push(parsed);
    pos = nl + 1;
  }
  return { state: 'ok', lines, goodBytes: Buffer.byteLength(text), tornTail: false };
}

function parseLine(raw: string): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const r = JournalLineSchema.safeParse(value);
  return r.success ? r.data : undefined;
}

export interface FoldedJournal {
  /** Live segments by file (a later seg line for the same file replaces the earlier one). */
  segments: Map<string, Segment>;
  gaps: Gap[];
  /** Time of the last clean stop, if the journal's last lifecycle record is a stop. */
  cleanStopAt?: number;
  /** True when the journal has a start record with no stop after it: the agent died. */
  crashed: boolean;
}

/** Replay journal lines into the current state. Pure. */
export function foldJournal(camera: string, lines: readonly JournalLine[]): FoldedJournal {
  const segments = new Map<string, Segment>();
  const gaps: Gap[] = [];
  let cleanStopAt: number | undefined;
  let crashed = false;
  for (const l of lines) {
    switch (l.t) {
      case 'seg':
        segments.set(l.file, {
          camera,
          file: l.file,
          start: l.start,
          end: l.end,
          bytes: l.bytes,
          sha256: l.sha256,
          keyframe: l.kf,
          audio: l.audio,
        });
        break;
      case 'del':
      case 'quarantine':
        segments.delete(l.file);
        break;
      case 'gap':
        gaps.push({ from: l.from, to: l.to, cause: l.cause, ...(l.detail ? { detail: l.detail } : {}) });
        break;
      case 'start':
        crashed = true;
        cleanStopAt = undefined;
        break;
      case 'stop':
        crashed = false;
        cleanStopAt = l.at;
        break;
      case 'rebuilt':
        break;
    }
  }
  return { segments, gaps, cleanStopAt, crashed };
}

/** Append-only writer. Appends are serialized and each is fsynced before it resolves. */
export class JournalWriter {
  private fh: fsp.FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Opens for append, first cutting a torn tail so the next line starts on a fresh line. */
  async open(goodBytes?: number): Promise<void> {
    if (goodBytes !== undefined) {
      try {
        const st = await fsp.stat(this.file);
        if (st.size > goodBytes) await fsp.truncate(this.file, goodBytes);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
    let existed = true;
    try {
      await fsp.access(this.file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      existed = false;
    }
    this.fh = await fsp.open(this.file, 'a', 0o644);
    if (!existed) await fsyncDir(path.dirname(this.file));
  }

  append(...lines: JournalLine[]): Promise<void> {
    const text = lines.map((l) => JSON.stringify(l) + '\n').join('');
    const run = async () => {
      if (!this.fh) throw new Error(`journal ${this.file} is not open`);
      await this.fh.write(text);
      await this.fh.sync();
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined); // the caller sees the error; the chain keeps going
    return p;
  }

  /** Replace the whole journal atomically (compaction and rebuild). */
  async rewrite(lines: readonly JournalLine[]): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = undefined;
    await writeFileAtomic(this.file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
    this.fh = await fsp.open(this.file, 'a', 0o644);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = undefined;
  }
}
