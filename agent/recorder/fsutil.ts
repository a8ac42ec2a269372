/**
 * Durable file primitives. POSIX only promises that data survives a power cut
 * once the file AND the directory entry naming it are fsynced (rename and
 * create are directory updates), so every durable step here does both.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

export async function fsyncPath(p: string, flags: number = constants.O_RDONLY): Promise<void> {
  const fh = await fsp.open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

/**
 * Replace `file` with `data` atomically: write a temp file beside it, fsync,
 * rename over the target, fsync the folder. A crash leaves either the old or
 * the new content, never a torn mix (rename(2) is atomic within a filesystem).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await fsp.open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
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

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

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
