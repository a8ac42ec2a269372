/**
 * Spawn a process, collect its output, and make sure it ends: a test must
 * never hang on a child that waits for a network peer that went away. The
 * timeout is a safety net (the test fails with the output seen so far), not a
 * timing assertion.
 */
import { spawn } from 'node:child_process';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by the safety timeout. */
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Keep at most this many characters of each stream (the tail). Default 1 MB. */
  maxOutput?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function runProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcResult> {
  const max = opts.maxOutput ?? 1_000_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout = (stdout + c).slice(-max);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr = (stderr + c).slice(-max);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Is `cmd` runnable here? (Only a missing binary counts as absent; a non-zero exit does not.) */
export async function commandExists(cmd: string, args: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await runProcess(cmd, args, { timeoutMs: 20_000 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
