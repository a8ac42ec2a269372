/**
 * The setup page on the appliance: an HTTP server on the LAN, unlocked by the device's setup code.
 *
 * Security, in order of the request's path:
 *  - it binds to one given address (auth.ts refuses public ones); on a wildcard bind it answers
 *    only clients whose address is private, so a port forward by mistake serves nothing;
 *  - every /api route but unlock needs the session cookie (HttpOnly, SameSite=Strict; not Secure,
 *    because a LAN appliance has no certificate a browser would trust);
 *  - every POST also needs the `x-camconnect-setup` header, which a cross-site form cannot set
 *    and a cross-site fetch cannot send without a CORS preflight this server never grants;
 *  - wrong codes are limited per client and in total (GuessLimiter).
 * The bridge's router (cloud-bridge/http/router.ts) is built around RTCC roles and bearer tokens,
 * so this page has its own dozen-line dispatch instead.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { CameraStore } from '../cameras/store.js';
import { withCredentials } from '../cameras/streams.js';
import { ApiError, SetupApi } from './api.js';
import {
  checkBindHost,
  codeMatches,
  GuessLimiter,
  isPrivateAddress,
  loadOrCreateSetupCode,
  readCookie,
  Sessions,
} from './auth.js';
import { createLiveViewers, type LiveViewers } from './live.js';
import { serveStatic } from './static.js';

export const SESSION_COOKIE = 'cc_setup';
export const CSRF_HEADER = 'x-camconnect-setup';
const MAX_BODY = 64 * 1024;
/**
 * Open live views at once. Each is an ffmpeg and an RTSP session on the camera; a handful of
 * tabs left open must not starve the recorder's CPU or exhaust a camera's session limit.
 */
export const MAX_LIVE_VIEWERS = 4;

export interface SetupServerOptions {
  dataDir: string;
  /** Default 127.0.0.1; 0.0.0.0 means every LAN interface (see auth.ts checkBindHost). */
  host?: string;
  /** Default 8088; 0 picks a free port (tests). */
  port?: number;
  /** Default: read or create `<dataDir>/setup-code`. */
  setupCode?: string;
  cameras: CameraStore;
  /** Where a new code is shown once; default stdout (never the log: it is a secret). */
  announce?: (code: string) => void;
  ffmpegPath?: string;
  log?: Logger;
  clock?: Clock;
}

export class SetupServer implements Service {
  readonly name = 'setup';
  private server: Server | undefined;
  private live: LiveViewers | undefined;
  private code = '';
  private readonly sessions: Sessions;
  private readonly guesses: GuessLimiter;
  private readonly api: SetupApi;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(private readonly opts: SetupServerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger).child({ part: 'setup' });
    this.sessions = new Sessions(() => this.clock.now());
    this.guesses = new GuessLimiter(() => this.clock.now());
    this.api = new SetupApi(opts.dataDir, opts.cameras, this.clock);
  }

  async start(signal: AbortSignal): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    checkBindHost(host);
    if (this.opts.setupCode) this.code = this.opts.setupCode;
    else {
      const { code, created } = await loadOrCreateSetupCode(this.opts.dataDir);
      this.code = code;
      const announce =
        this.opts.announce ?? ((c: string) => process.stdout.write(`setup page code (shown once): ${c}\n`));
      if (created) announce(code);
    }
    this.live = createLiveViewers(this.log, this.opts.ffmpegPath);
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      server.once('error', reject);
      server.listen(this.opts.port ?? 8088, host, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    this.log.info('setup page listening', { url: this.url() });
  }

  /** The page's address (the bound one; a wildcard bind is shown as loopback). */
  url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('setup page not started');
    const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await this.live?.stopAll();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  health(): Health {
    if (!this.server) return { state: 'stopped' };
    return { state: 'ok', liveViewers: this.live?.count() ?? 0 };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!isPrivateAddress(req.socket.remoteAddress ?? '')) {
        return send(res, 403, { error: 'the setup page answers the local network only' });
      }
      const url = new URL(req.url ?? '/', 'http://setup.invalid');
      if (req.method === 'GET' && (await serveStatic(req, res, url.pathname))) return;
      if (!url.pathname.startsWith('/api/')) return send(res, 404, { error: 'not found' });
      if (req.method === 'POST' && req.headers[CSRF_HEADER] !== '1') {
        return send(res, 403, { error: `missing ${CSRF_HEADER} header` });
      }
      const token = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (url.pathname === '/api/unlock' && req.method === 'POST') return await this.unlock(req, res);
      if (url.pathname === '/api/session') return send(res, 200, { unlocked: this.sessions.valid(token) });
      if (!this.sessions.valid(token)) return send(res, 401, { error: 'locked: enter the setup code' });
      if (url.pathname === '/api/lock' && req.method === 'POST') {
        this.sessions.revoke(token);
        res.setHeader('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        return send(res, 200, { unlocked: false });
      }
      await this.route(req, res, url);
    } catch (err) {
      if (err instanceof ApiError) return send(res, err.status, { error: err.message });
      this.log.error('setup request failed', { path: req.url, err: (err as Error).message });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  private async unlock(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? '?';
    const wait = this.guesses.retryAfterMs(client);
    if (wait > 0) {
      res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
      return send(res, 429, { error: 'too many wrong codes: wait and try again' });
    }
    const body = (await readJson(req)) as { code?: unknown } | null;
    if (typeof body?.code !== 'string' || !codeMatches(body.code, this.code)) {
      this.guesses.fail(client);
      this.log.warn('wrong setup code', { client });
      return send(res, 403, { error: 'wrong setup code' });
    }
    this.guesses.succeed(client);
    const maxAge = Math.floor(this.sessions.ttlMs / 1000);
    res.setHeader(
      'set-cookie',
      `${SESSION_COOKIE}=${this.sessions.create()}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`,
    );
    this.log.info('setup page unlocked', { client });
    send(res, 200, { unlocked: true });
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname;
    const m = req.method;
    if (m === 'GET' && p === '/api/overview') return send(res, 200, await this.api.overview());
    if (m === 'GET' && p === '/api/approvals') return send(res, 200, await this.api.approvals());
    if (m === 'GET' && p === '/api/audit') return send(res, 200, await this.api.audit());
    const cam = /^\/api\/cameras\/([A-Za-z0-9_-]{1,64})\/(snapshot|live|location|zones)$/.exec(p);
    if (cam) {
      const [, id, what] = cam as unknown as [string, string, string];
      if (m === 'GET' && what === 'snapshot') {
        const snap = await this.api.snapshot(id);
        res.writeHead(200, {
          'content-type': snap.type,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        return void res.end(snap.body);
      }
      if (m === 'GET' && what === 'live') return this.liveView(req, res, id, url.searchParams.get('role'));
      if (m === 'POST' && what === 'location') {
        await this.api.setLocation(id, await readJson(req));
        return send(res, 200, { saved: true });
      }
      if (m === 'POST' && what === 'zones') {
        await this.api.setZones(id, await readJson(req));
        return send(res, 200, { saved: true });
      }
    }
    const inc = /^\/api\/approvals\/([0-9a-f-]{36})$/.exec(p);
    if (inc && m === 'POST') {
      await this.api.decide(inc[1]!, await readJson(req), req.socket.remoteAddress ?? '?');
      return send(res, 200, { submitted: true });
    }
    send(res, 404, { error: 'not found' });
  }

  private async liveView(req: IncomingMessage, res: ServerResponse, id: string, role: string | null) {
    const cam = this.opts.cameras.get(id);
    if (!cam || !this.live) return send(res, 404, { error: 'no such camera' });
    if (this.live.count() >= MAX_LIVE_VIEWERS) {
      return send(res, 503, { error: `${MAX_LIVE_VIEWERS} live views are open already: close one first` });
    }
    // The sub-stream by default: smaller, and the camera already serves it to motion.
    const stream = role === 'main' ? cam.streams.main : cam.streams.sub;
    await this.live.serve(req, res, id, withCredentials(stream.uri, cam.credentials));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new ApiError(415, 'send application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'body too large');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'body is not JSON');
  }
}
