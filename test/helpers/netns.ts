/**
 * Throwaway Linux network namespaces for tests that need multicast.
 *
 * On the host, `lo` has no MULTICAST flag and the default route leaves by eth0,
 * so a multicast WS-Discovery probe would either fail or leave the machine. In
 * a fresh namespace the only interface is a private `lo`; we turn multicast on
 * for it and route 224.0.0.0/4 there, so multicast stays inside the namespace.
 *
 *   const ns = await createNetns();          // needs root and iproute2
 *   try { const child = ns.spawn(process.execPath, [...]); ... }
 *   finally { await ns.destroy(); }          // kills what it spawned, deletes the namespace
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace and waits for it. */
  exec(
    cmd: string,
    args: string[],
    opts?: { timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running command inside the namespace; destroy() kills it if still running. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Idempotent: kills spawned children and deletes the namespace. */
  destroy(): Promise<void>;
}

/** Why namespaces cannot be used here, or undefined when they can (root and `ip netns`). */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux-only';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    await execFileP('ip', ['netns', 'list']);
  } catch (err) {
    return `iproute2 "ip netns" unavailable: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Deletes namespaces named `${prefix}-PID-...` whose creating test process is gone
 * (a run killed before its afterAll). Namespaces of live processes are left alone.
 */
async function sweepStale(prefix: string): Promise<void> {
  const { stdout } = await execFileP('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const m = new RegExp(`^(${prefix}-(\\d+)-[0-9a-f]+)\\b`).exec(line.trim());
    if (!m || isAlive(Number(m[2]))) continue;
    await execFileP('ip', ['netns', 'del', m[1]!]);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only, nothing is sent
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function createNetns(prefix = 'cc'): Promise<Netns> {
  await sweepStale(prefix);
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const children = new Set<ChildProcess>();
  let destroyed = false;
  const ip = (...args: string[]) => execFileP('ip', args, { timeout: 10_000 });

  const ns: Netns = {
    name,
    exec: (cmd, args, opts) =>
      execFileP('ip', ['netns', 'exec', name, cmd, ...args], {
        timeout: opts?.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
      }),
    spawn(cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: 'pipe', ...opts });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
      // Processes left in the namespace (not ours to find otherwise) would keep it alive;
      // `ip netns del` still unmounts it, and the kernel frees it when they exit.
      await ip('netns', 'del', name);
    },
  };

  await ip('netns', 'add', name);
  try {
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'multicast', 'on');
    // Without this route a multicast send has no interface to leave by inside the namespace.
    await ip('-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo');
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  return ns;
}

/** Collects a child's stdout and stderr and resolves when it exits. */
export function collect(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
