/**
 * The linux-arm64 single executable (dist-bin/camconnect-linux-arm64), cross-built on this host,
 * run under user-mode emulation: `qemu-aarch64-static` (Debian qemu-user-static) with Debian's
 * arm64 cross C/C++ runtime as the loader prefix (libc6-arm64-cross, libstdc++6-arm64-cross,
 * libgcc-s1-arm64-cross put it in /usr/aarch64-linux-gnu). `--version` and `doctor` must work;
 * doctor's ffmpeg is the host's own (an x86-64 program that the emulated process spawns natively).
 *
 * Without qemu (a developer's laptop) the file is skipped; on CI (CI=true) missing qemu fails it,
 * so a broken install step cannot pass silently.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { tmpDir } from '../helpers/gst-recorder.js';

const execFileP = promisify(execFile);
const BIN = path.join(REPO, 'dist-bin', 'camconnect-linux-arm64');
const PKG = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
const SYSROOT = process.env['QEMU_LD_PREFIX'] ?? '/usr/aarch64-linux-gnu';

async function qemuMissing(): Promise<string | undefined> {
  if (process.arch === 'arm64') return undefined; // native: no emulator needed
  try {
    await execFileP('qemu-aarch64-static', ['--version']);
  } catch {
    return 'qemu-aarch64-static is not installed (scripts/install-system-deps.sh test)';
  }
  if (!existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
    return `no arm64 runtime in ${SYSROOT} (libc6-arm64-cross)`;
  return undefined;
}

const missing = process.platform === 'linux' ? await qemuMissing() : 'not linux';
if (missing && process.env['CI'] === 'true')
  throw new Error(`arm64 binary smoke test cannot run on CI: ${missing}`);

/** Runs the arm64 binary (emulated unless on arm64); resolves with its exit code and output. */
async function runArm(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] =
    process.arch === 'arm64' ? [BIN, args] : ['qemu-aarch64-static', ['-L', SYSROOT, BIN, ...args]];
  try {
    const { stdout, stderr } = await execFileP(cmd, argv, {
      cwd,
      timeout: 180_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(missing !== undefined)('single executable: linux-arm64 (under qemu-aarch64-static)', () => {
  let work: string;
  let node: string;

  beforeAll(async () => {
    await execFileP(process.execPath, [path.join(REPO, 'scripts/build-binary.mjs'), '--arch', 'arm64'], {
      cwd: REPO,
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    node = (
      JSON.parse(readFileSync(path.join(REPO, 'dist-bin', 'build-info.json'), 'utf8')) as { node: string }
    ).node;
    work = tmpDir('bin-arm64-');
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is an AArch64 ELF with the SEA blob injected and its fuse set', () => {
    const bin = readFileSync(BIN);
    expect(bin.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(bin.readUInt16LE(18)).toBe(0xb7); // e_machine: AArch64
    expect(bin.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true);
  });

  it('--version prints the package version', async () => {
    expect(await runArm(['--version'], work)).toMatchObject({ code: 0, stdout: `${PKG.version}\n` });
  });

  it('doctor runs on the embedded arm64 Node and finds ffmpeg', async () => {
    const r = await runArm(['doctor', '--json', '--dir', work], work);
    const doc = JSON.parse(r.stdout) as {
      version: string;
      checks: { name: string; ok: boolean; detail: string }[];
    };
    expect(doc.version).toBe(PKG.version);
    const byName = Object.fromEntries(doc.checks.map((c) => [c.name, c]));
    expect(byName['node']).toMatchObject({ ok: true, detail: `Node ${node}` });
    expect(byName['ffmpeg']?.ok).toBe(true);
    expect(r.code).toBe(doc.checks.every((c) => c.ok) ? 0 : 1);
  });
});
