/**
 * Durable file primitives shared by every part that keeps state (recorder
 * journal and holds, incident jobs and nonces, camera and enrollment files).
 *
 * POSIX only promises that data survives a power cut once the file AND the
 * directory entry naming it are fsynced (create and rename are directory
 * updates), so an atomic replace is: create a temp file beside the target
 * (O_EXCL, with its final mode from the first byte, so a secret is never
 * world-readable even for a moment), write, fsync, close, rename over the
 * target (atomic within a filesystem, rename(2)), fsync the folder. A crash
 * leaves the old content or the new, never a torn mix; a failure at any step
 * leaves no temp file behind.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

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

export interface AtomicWriteOptions {
  /** Mode of the new file; 0600 by default (state files tend to hold secrets). */
  mode?: number;
}

/** Replaces `file` with `data` atomically and durably (see the file comment). */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fsp.open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
    opts.mode ?? 0o600,
  );
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}
