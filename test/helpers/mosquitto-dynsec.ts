/**
 * A private Mosquitto with the dynamic security plugin, for enrollment tests: its own temp
 * folder, an ephemeral loopback port, no anonymous access, and a dynsec config initialised by
 * `mosquitto_ctrl dynsec init` with a random admin password. The system Mosquitto on 1883 is
 * never touched. (test/helpers/mosquitto.ts runs the shipped password-file configuration; this
 * one replaces password_file/acl_file with the plugin, as deploy/mosquitto/README.md describes.)
 *
 * Restartable on the same port: the plugin keeps its state in the JSON file, so clients and
 * roles created before a restart are still there after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from './proc.js';

/** The plugin as Debian ships it (package mosquitto), for this machine's architecture. */
export const DYNSEC_PLUGIN =
  ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf']
    .map((triplet) => `/usr/lib/${triplet}/mosquitto_dynamic_security.so`)
    .find((p) => existsSync(p)) ?? '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/**
 * Mosquitto, mosquitto_ctrl and the plugin are installed (scripts/install-system-deps.sh test).
 * Under CI they must be: the dynsec tests then run (and fail loudly) instead of skipping.
 */
export function dynsecAvailable(): boolean {
  if (process.env['CI']) return true;
  return (
    existsSync(DYNSEC_PLUGIN) &&
    ['/usr/sbin/mosquitto', '/usr/bin/mosquitto_ctrl'].every((p) => existsSync(p))
  );
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class DynsecMosquitto {
  private child: ChildProcess | undefined;
  private stderr = '';
  readonly adminUser = 'ccadmin';
  readonly adminPassword = randomBytes(18).toString('base64url');

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Plain URL, for devices. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** URL with the dynsec admin account, for the bridge. */
  get adminUrl(): string {
    return `mqtt://${this.adminUser}:${this.adminPassword}@127.0.0.1:${this.port}`;
  }

  static async start(): Promise<DynsecMosquitto> {
    const m = new DynsecMosquitto(await mkdtemp(path.join(os.tmpdir(), 'mosq-dynsec-')), await freePort());
    const config = path.join(m.dir, 'dynamic-security.json');
    const init = await runProcess(
      'mosquitto_ctrl',
      ['dynsec', 'init', config, m.adminUser, m.adminPassword],
      { timeoutMs: 30_000 },
    );
    if (init.code !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr}`);
    const conf = [
      `listener ${m.port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${config}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      // Running as root, Mosquitto would drop to user "mosquitto", who cannot read our temp dir.
      `user ${os.userInfo().username}`,
    ];
    await writeFile(path.join(m.dir, 'mosquitto.conf'), conf.join('\n') + '\n');
    await m.launch();
    return m;
  }

  private async launch(): Promise<void> {
    this.stderr = '';
    const child = spawn('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8000)));
    for (let i = 0; i < 400; i++) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}: ${this.stderr}`);
      if (await listening(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.stderr}`);
  }

  /** What Mosquitto logged (connections refused, clients kicked): for failure messages. */
  get log(): string {
    return this.stderr;
  }

  async down(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }

  async up(): Promise<void> {
    await this.launch();
  }

  async close(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}
