/**
 * A private Mosquitto for tests that need the production configuration or a
 * broker they may stop: the shipped deploy/mosquitto/mosquitto.conf and acl,
 * rewritten only where a test must differ (paths into a temp dir, an ephemeral
 * loopback port, no privilege drop, log to stderr). The system Mosquitto on
 * 1883 is never touched.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../deploy/mosquitto/', import.meta.url));

export async function hasCommand(cmd: string, args: string[] = ['-h']): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch (err) {
    // mosquitto -h exits non-zero but runs; only a missing binary means "not here".
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A self-signed CA and a server certificate for 127.0.0.1 (EC keys: fast to make). */
async function makeCerts(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=camconnect-test-ca',
    ],
    { cwd: dir },
  );
  await run(
    'openssl',
    ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'],
    { cwd: dir },
  );
  await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ],
    { cwd: dir },
  );
}

export interface MosquittoOptions {
  users: { username: string; password: string }[];
  /** Serve TLS with a generated CA (needs openssl); otherwise plain MQTT on loopback. */
  tls?: boolean;
  /** Require client certificates, issued by the test CA to these CNs (agent ids); implies tls. */
  clientCerts?: string[];
}

/** A client certificate and key (PEM) signed by the test CA, CN = `cn`. */
async function makeClientCert(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', ...ec, '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`], {
    cwd: dir,
  });
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      `${cn}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${cn}.crt`,
      '-days',
      '2',
    ],
    { cwd: dir },
  );
  return {
    cert: await readFile(path.join(dir, `${cn}.crt`), 'utf8'),
    key: await readFile(path.join(dir, `${cn}.key`), 'utf8'),
  };
}

export class OwnMosquitto {
  private child: ChildProcess | undefined;
  private stderr = '';
  caPem = '';
  /** Client certificates by CN, when started with clientCerts. */
  readonly certs = new Map<string, { cert: string; key: string }>();
  private certMode = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  static async start(opts: MosquittoOptions): Promise<OwnMosquitto> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mosq-'));
    const tls = (opts.tls ?? false) || opts.clientCerts !== undefined;
    const m = new OwnMosquitto(dir, await freePort(), tls);
    if (tls) {
      await makeCerts(dir);
      m.caPem = await readFile(path.join(dir, 'ca.crt'), 'utf8');
    }
    for (const cn of opts.clientCerts ?? []) m.certs.set(cn, await makeClientCert(dir, cn));
    m.certMode = opts.clientCerts !== undefined;
    const passwd = path.join(dir, 'passwd');
    await writeFile(passwd, '', { mode: 0o600 });
    for (const u of opts.users) await run('mosquitto_passwd', ['-b', passwd, u.username, u.password]);
    await copyFile(path.join(DEPLOY, 'acl'), path.join(dir, 'acl'));
    await writeFile(path.join(dir, 'mosquitto.conf'), await m.config());
    await m.launch();
    return m;
  }

  /** The shipped configuration with test-only substitutions. */
  private async config(): Promise<string> {
    const shipped = await readFile(path.join(DEPLOY, 'mosquitto.conf'), 'utf8');
    const sub: Record<string, string | null> = {
      persistence_location: `${this.dir}/`,
      password_file: path.join(this.dir, 'passwd'),
      acl_file: path.join(this.dir, 'acl'),
      listener: `${this.port} 127.0.0.1`,
      certfile: this.tls ? path.join(this.dir, 'server.crt') : null,
      keyfile: this.tls ? path.join(this.dir, 'server.key') : null,
      cafile: this.tls ? path.join(this.dir, 'ca.crt') : null,
      tls_version: this.tls ? 'tlsv1.2' : null,
      // The shipped alternative to passwords (README.md): the certificate's CN is the username.
      require_certificate: this.certMode ? 'true' : 'false',
      use_identity_as_username: this.certMode ? 'true' : 'false',
      log_dest: 'stderr',
      log_type: null,
    };
    const lines = shipped.split('\n').map((line) => {
      const key = line.split(/\s+/)[0] ?? '';
      if (!(key in sub)) return line;
      const v = sub[key];
      return v === null ? `# (test) ${line}` : `${key} ${v}`;
    });
    // Running as root, Mosquitto would drop to user "mosquitto", who cannot read our temp dir.
    lines.push(`user ${os.userInfo().username}`, 'log_type error', 'log_type warning');
    return lines.join('\n');
  }

  private async launch(): Promise<void> {
    this.stderr = '';
    const child = spawn('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}: ${this.stderr}`);
      if (await listening(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.stderr}`);
  }

  /** SIGTERM (Mosquitto saves its persistence) and start again on the same port. */
  async restart(): Promise<void> {
    await this.down();
    await this.launch();
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

  async close(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}
