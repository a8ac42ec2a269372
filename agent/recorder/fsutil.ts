/**
 * Durable file primitives. POSIX only promises that data survives a power cut
 * once the file AND the directory entry naming it are fsynced (rename and
 * create are directory updates), so every durable step here does both.
 */
import { promises as fsp } from 'node:fs';
import { errnoCode, fsyncDir, writeFileAtomic as writeAtomicDurable } from '../../lib/durable.js';
import path from 'node:path';

export { fsyncDir, fsyncPath } from '../../lib/durable.js';

/**
 * Replace `file` with `data` atomically and durably (lib/durable.ts). Recorder files
 * (journal, holds) hold no secrets: 0644, so the owner's tools can read them.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  return writeAtomicDurable(file, data, { mode: 0o644 });
}

/** mkdir -p that also fsyncs each parent whose entry it created, so the path survives a crash. */
export async function mkdirDurable(dir: string): Promise<void> {
  const created = await fsp.mkdir(dir, { recursive: true });
  if (created === undefined) return;
  // `created` is the first folder made; fsync it and every parent down to `dir`.
  let cur = dir;
  const parents: string[] = [];
  while (cur.length >= created.length) {
    parents.push(path.dirname(cur));
    if (cur === created) break;
    cur = path.dirname(cur);
  }
  for (const p of parents) await fsyncDir(p);
}

export { errnoCode };

/** Files under `dir` (recursive), relative paths with '/' separators; [] when `dir` is absent. */
export async function listFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || !accept(e.name)) continue;
    // Node 20 names the folder `parentPath` (20.12+) or `path` (older): both are absolute here.
    const parent = (e as { parentPath?: string }).parentPath ?? (e as unknown as { path: string }).path;
    out.push(path.relative(dir, path.join(parent, e.name)).split(path.sep).join('/'));
  }
  return out.sort();
}
