/** Child-process helpers: waiting for exit, and reaping an ffmpeg orphaned by a kill -9 of the agent. */
import type { ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import type { Logger } from '../../lib/log.js';
import { errnoCode } from './fsutil.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once the process has exited and its stdio is closed ('close', not 'exit'). */
export function waitExit(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) {
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    }
  }
  return new Promise((resolve, reject) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', reject);
  });
}

async function cmdline(pid: number): Promise<string | undefined> {
  try {
    return (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/**
 * If the pid file names a live process whose command line writes into
 * `marker` (this camera's incoming folder), it is an ffmpeg left behind by a
 * killed agent: kill it so two recorders never write the same camera. The
 * marker check keeps a recycled pid from hitting an unrelated process.
 */
export async function reapOrphan(pidfile: string, marker: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await fsp.readFile(pidfile, 'utf8')).trim());
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  const cmd = await cmdline(pid);
  if (!cmd?.includes(marker)) return;
  log.warn('killing an ffmpeg orphaned by a previous recorder', { pid });
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if (errnoCode(err) !== 'ESRCH') throw err;
  }
  // A zombie keeps /proc/PID but has an empty cmdline: gone for our purpose.
  for (let i = 0; i < 100; i++) {
    const c = await cmdline(pid);
    if (!c?.includes(marker)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`orphaned ffmpeg ${pid} did not exit after SIGKILL`);
}
