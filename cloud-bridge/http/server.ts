/**
 * The bridge's HTTP server: the API (/api), the tus evidence receiver (/uploads), Prometheus
 * metrics (/metrics), a health probe (/healthz) and the dashboard (everything else, GET).
 * Every /api call is written to the audit table with who made it and the status it got.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZodError } from 'zod';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import type { Db } from '../db/db.js';
import type { BridgeMetrics } from '../metrics.js';
import { UPLOAD_PATH } from '../evidence/receiver.js';
import type { Principal } from './auth.js';
import { HttpError, sendJson, sendProblem, zodProblem } from './problem.js';
import type { Router } from './router.js';

export interface HttpDeps {
  host: string;
  port: number;
  db: Db;
  router: Router;
  metrics: BridgeMetrics;
  log: Logger;
  now: () => number;
  uploads: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Serves a dashboard asset; false when there is none at this path. */
  dashboard: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<boolean>;
  health: () => Health;
}

export class HttpService implements Service {
  readonly name = 'http';
  private server: Server | undefined;
  private state: Health['state'] = 'stopped';

  constructor(private readonly d: HttpDeps) {}

  /** The base URL once listening, e.g. http://127.0.0.1:41234 */
  get url(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new Error('the HTTP server is not listening');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}`;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.state = 'starting';
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    // Uploads of large clips are slow on a site's uplink: no overall request timeout, but a
    // client that sends no headers for a minute is dropped.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      server.once('error', reject);
      server.listen(this.d.port, this.d.host, () => {
        signal.removeEventListener('abort', onAbort);
        server.off('error', reject);
        resolve();
      });
    });
    this.state = 'ok';
    this.d.log.info('bridge HTTP listening', { url: this.url });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bridge.invalid');
    const method = req.method ?? 'GET';
    const pathname = url.pathname;
    let routeName = 'unmatched';
    let principal: Principal | undefined;
    try {
      if (pathname === UPLOAD_PATH || pathname.startsWith(`${UPLOAD_PATH}/`)) {
        routeName = UPLOAD_PATH;
        await this.d.uploads(req, res);
        return;
      }
      if (pathname === '/metrics' && method === 'GET') {
        routeName = '/metrics';
        const body = await this.d.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.d.metrics.registry.contentType });
        res.end(body);
        return;
      }
      if (pathname === '/healthz' && method === 'GET') {
        routeName = '/healthz';
        const h = this.d.health();
        sendJson(res, h.state === 'ok' ? 200 : 503, h);
        return;
      }
      if (pathname.startsWith('/api/')) {
        const matched = this.d.router.match(method, pathname);
        if (!matched) throw new HttpError(404, 'not-found', `no API route ${pathname}`);
        routeName = matched.route.path;
        principal = await this.d.router.run(matched, req, res, url, this.d.db);
        return;
      }
      if ((method === 'GET' || method === 'HEAD') && (await this.d.dashboard(req, res, pathname))) {
        routeName = 'dashboard';
        return;
      }
      throw new HttpError(404, 'not-found', `nothing at ${pathname}`);
    } catch (err) {
      this.fail(res, routeName, err);
    } finally {
      this.d.metrics.apiRequests.inc({ method, route: routeName, status: String(res.statusCode) });
      if (pathname.startsWith('/api/')) await this.audit(req, method, pathname, res.statusCode, principal);
    }
  }

  private fail(res: ServerResponse, route: string, err: unknown): void {
    const httpErr =
      err instanceof HttpError ? err : err instanceof ZodError ? zodProblem(err, 'the request') : undefined;
    if (httpErr) {
      this.d.metrics.apiErrors.inc({ route, reason: httpErr.kind });
      sendProblem(
        res,
        httpErr.toProblem(),
        httpErr.status === 401 ? { 'www-authenticate': 'Bearer realm="camconnect"' } : {},
      );
      return;
    }
    this.d.metrics.apiErrors.inc({ route, reason: 'internal' });
    this.d.log.error('API request failed', { route, error: (err as Error).message });
    sendProblem(res, {
      type: 'urn:camconnect:problem:internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'the bridge could not complete the request; see its log',
    });
  }

  private async audit(
    req: IncomingMessage,
    method: string,
    path: string,
    status: number,
    p: Principal | undefined,
  ): Promise<void> {
    try {
      // The path only: query strings are not logged (nothing secret goes there, but nothing needs to).
      await this.d.db.query(
        'INSERT INTO audit (at, token_id, role, method, path, status, remote) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [
          this.d.now(),
          p?.tokenId ?? null,
          p?.role ?? null,
          method,
          path.slice(0, 500),
          status,
          req.socket.remoteAddress ?? null,
        ],
      );
    } catch (err) {
      this.d.log.error('could not write the audit log', { error: (err as Error).message });
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    this.state = 'stopped';
  }

  health(): Health {
    return { state: this.state };
  }
}
