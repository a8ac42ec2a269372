/**
 * Small state documents (jobs, nonces) as lowdb documents with a durable adapter.
 *
 * lowdb's own JSONFile adapter writes a temp file and renames it (steno), but does not fsync
 * and creates files with the process umask. Incident state decides what leaves the premises
 * and which nonces were used, so this adapter does the full POSIX sequence: temp file created
 * with mode 0600, written, fsynced, renamed over the target, folder fsynced. A crash leaves the
 * old or the new document, never a torn one, and a nonce recorded before acting stays recorded.
 *
 * A document that exists but does not parse or match its schema is an error, never a reset:
 * resetting the nonce store would re-open every replay, resetting jobs would forget holds.
 */
import { promises as fsp } from 'node:fs';
import { errnoCode, fsyncDir, writeFileAtomic } from '../../lib/durable.js';
import path from 'node:path';
import { Low, type Adapter } from 'lowdb';
import type { z } from 'zod';

export { errnoCode };

/** Atomic, durable replace with mode 0600 (lib/durable.ts). */
export function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(file, data, { mode: 0o600 });
}

/** mkdir -p with mode 0700 (the state folder holds what the owner decided and what was sent). */
export async function ensureDir(dir: string): Promise<void> {
  const created = await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await fsyncDir(path.dirname(dir));
}

class DurableJsonAdapter<T> implements Adapter<T> {
  constructor(
    private readonly file: string,
    private readonly schema: z.ZodType<T>,
  ) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON (${(err as Error).message}); fix or move it by hand`);
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new Error(`${this.file} does not match its schema (${where.join('; ')}); fix or move it by hand`);
    }
    return parsed.data;
  }

  write(data: T): Promise<void> {
    return writeFileDurable(this.file, JSON.stringify(data) + '\n');
  }
}

/**
 * Opens (reads) a document; a missing file starts from `initial`. Writes are serialized by
 * the caller (one service owns each document).
 */
export async function openDoc<T>(file: string, schema: z.ZodType<T>, initial: T): Promise<Low<T>> {
  await ensureDir(path.dirname(file));
  const db = new Low<T>(new DurableJsonAdapter(file, schema), initial);
  await db.read();
  return db;
}

/** Reads a document without opening it for writing (the CLI reading a running agent's state). */
export async function readDoc<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  return new DurableJsonAdapter(file, schema).read();
}
