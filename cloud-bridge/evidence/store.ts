/**
 * Where verified evidence lives. The interface is the small set of object-store verbs (put a
 * stream under a key, read a key with an optional byte range, stat, list by prefix) so an
 * S3-compatible store can implement it with PutObject / GetObject(Range) / HeadObject /
 * ListObjectsV2. The default keeps files under `<dataDir>/evidence/`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

export interface EvidenceStore {
  /** Stores the stream under key, returning its size and SHA-256 as written. */
  put(key: string, body: Readable): Promise<StoredObject>;
  /** Reads a key; `range` is inclusive, like an HTTP Range. */
  get(key: string, range?: { start: number; end: number }): Readable;
  stat(key: string): Promise<{ bytes: number } | null>;
  /** Keys under a prefix (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Key segments: safe file names, never `.`/`..`, so a key cannot escape the root. */
export const KEY_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

export function evidenceKey(...segments: string[]): string {
  for (const s of segments) if (!KEY_SEGMENT.test(s)) throw new Error(`unsafe evidence key segment "${s}"`);
  return segments.join('/');
}

export class LocalDiskStore implements EvidenceStore {
  constructor(private readonly root: string) {}

  private file(key: string): string {
    const segments = key.split('/');
    for (const s of segments) if (!KEY_SEGMENT.test(s)) throw new Error(`unsafe evidence key "${key}"`);
    return path.join(this.root, ...segments);
  }

  async put(key: string, body: Readable): Promise<StoredObject> {
    const target = this.file(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write beside the target and rename: a reader never sees half a file, a crash leaves a .part.
    const tmp = `${target}.${process.pid}.${Date.now()}.part`;
    const hash = createHash('sha256');
    let bytes = 0;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return { key, bytes, sha256: hash.digest('hex') };
  }

  get(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.file(key), range ? { start: range.start, end: range.end } : {});
  }

  async stat(key: string): Promise<{ bytes: number } | null> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? { bytes: s.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.file(prefix);
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), r);
        else if (e.isFile() && !e.name.endsWith('.part')) out.push(`${prefix}/${r}`);
      }
    };
    await walk(base, '');
    return out.sort();
  }
}

/** SHA-256 of a file, streamed (evidence clips can be gigabytes). */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
