/**
 * The agent's audit log: every incident request (accepted or rejected, and why), every
 * decision, hold, package and upload, as an append-only, hash-chained file of JSON lines.
 *
 * Line n is {seq, at, event, data, prev, hash} where prev is line n-1's hash (64 zeros for the
 * first) and hash = SHA-256 over the RFC 8785 canonical JSON of {seq, at, event, data, prev}.
 * Editing a line breaks its own hash; removing, inserting or reordering lines breaks the next
 * line's prev or the seq count. `camconnect agent audit --verify` names the first such line.
 * What a chain alone cannot show is the loss of the newest lines (truncation at the end); the
 * replies and the bridge's records are the independent witness for those.
 *
 * Not a lowdb document: the log only grows, and appending one fsynced line is O(1) where
 * rewriting a document is O(n). A power cut can tear the last line; on open the agent cuts
 * the torn bytes off and says so in the log itself (`audit-repaired`), so the repair is audited.
 * The log holds no secrets: ids, decisions, hashes, reasons; never keys or tokens.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { canonicalBytes } from '../../protocol/canonical.js';
import { errnoCode } from './durable-doc.js';

export const AUDIT_FILE = 'audit.log';
export const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  seq: number;
  at: number;
  event: string;
  data: Record<string, unknown>;
  prev: string;
  hash: string;
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = { seq: e.seq, at: e.at, event: e.event, data: e.data, prev: e.prev };
  return createHash('sha256').update(canonicalBytes(body)).digest('hex');
}

function isEntry(v: unknown): v is AuditEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    Number.isInteger(e['seq']) &&
    typeof e['at'] === 'number' &&
    typeof e['event'] === 'string' &&
    typeof e['data'] === 'object' &&
    e['data'] !== null &&
    typeof e['prev'] === 'string' &&
    typeof e['hash'] === 'string'
  );
}

export interface AuditProblem {
  /** 1-based line number in the file. */
  line: number;
  seq?: number;
  reason: string;
}

export interface AuditCheck {
  ok: boolean;
  entries: number;
  problem?: AuditProblem;
}

async function readText(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return '';
    throw err;
  }
}

/** Checks the whole chain; stops at the first problem and names its line. */
export async function verifyAuditFile(file: string): Promise<AuditCheck> {
  const text = await readText(file);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev = GENESIS;
  let seq = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(lines[i]!);
    } catch (err) {
      const torn = i === lines.length - 1 && !text.endsWith('\n');
      const why = torn
        ? 'the last line is incomplete (a torn write)'
        : `not JSON (${(err as Error).message})`;
      return { ok: false, entries: i, problem: { line, reason: why } };
    }
    if (!isEntry(parsed)) return { ok: false, entries: i, problem: { line, reason: 'not an audit entry' } };
    const e = parsed;
    if (e.seq !== seq + 1) {
      const reason = `sequence number ${e.seq} where ${seq + 1} was expected (lines removed, inserted or reordered)`;
      return { ok: false, entries: i, problem: { line, seq: e.seq, reason } };
    }
    if (e.prev !== prev) {
      const reason = `it does not chain to line ${line - 1} (prev hash differs: a line before it was changed, removed or inserted)`;
      return { ok: false, entries: i, problem: { line, seq: e.seq, reason } };
    }
    if (entryHash(e) !== e.hash) {
      return {
        ok: false,
        entries: i,
        problem: { line, seq: e.seq, reason: 'its content does not match its hash (the line was edited)' },
      };
    }
    prev = e.hash;
    seq = e.seq;
  }
  return { ok: true, entries: lines.length };
}

/** Parsed entries for printing; an unreadable line is returned as its raw text. */
export async function readAuditFile(file: string): Promise<(AuditEntry | { raw: string; line: number })[]> {
  const lines = (await readText(file)).split('\n').filter((l) => l !== '');
  return lines.map((l, i) => {
    try {
      const v: unknown = JSON.parse(l);
      return isEntry(v) ? v : { raw: l, line: i + 1 };
    } catch {
      // Shown as is: the printer marks it, and --verify explains it.
      return { raw: l, line: i + 1 };
    }
  });
}

export class AuditLog {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private fh: FileHandle | undefined,
    private seq: number,
    private prev: string,
    private readonly now: () => number,
  ) {}

  /** Opens the log for appending, cutting off a torn last line (and auditing the cut). */
  static async open(file: string, now: () => number): Promise<AuditLog> {
    const text = await readText(file);
    let good = text.lastIndexOf('\n') + 1;
    const torn = text.length - good;
    const complete = text
      .slice(0, good)
      .split('\n')
      .filter((l) => l !== '');
    let seq = 0;
    let prev = GENESIS;
    const last = complete[complete.length - 1];
    if (last !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(last);
      } catch {
        // A damaged (not torn) last line: keep it for --verify to report and chain past it.
        parsed = undefined;
      }
      if (isEntry(parsed)) {
        seq = parsed.seq;
        prev = parsed.hash;
      } else {
        seq = complete.length;
        prev = createHash('sha256').update(last).digest('hex');
      }
    }
    if (torn > 0) await fsp.truncate(file, good);
    else good = text.length;
    const fh = await fsp.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    const log = new AuditLog(fh, seq, prev, now);
    if (torn > 0) await log.append('audit-repaired', { droppedBytes: torn, keptBytes: good });
    return log;
  }

  /** Appends one entry and fsyncs it; appends are serialized in call order. */
  append(event: string, data: Record<string, unknown>): Promise<AuditEntry> {
    const run = async (): Promise<AuditEntry> => {
      const fh = this.fh;
      if (!fh) throw new Error('the audit log is closed');
      const body = { seq: this.seq + 1, at: this.now(), event, data, prev: this.prev };
      const entry: AuditEntry = { ...body, hash: entryHash(body) };
      await fh.write(JSON.stringify(entry) + '\n');
      await fh.sync();
      this.seq = entry.seq;
      this.prev = entry.hash;
      return entry;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
