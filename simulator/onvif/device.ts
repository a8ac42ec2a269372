/**
 * A simulated ONVIF camera (ONVIF Core + Profile S) over HTTP on loopback.
 *
 * Public API (composed by simulator/fleet.ts and cli/sim.ts):
 *
 *   const dev = new OnvifDevice({
 *     host: '127.0.0.1',            // default; port 0 (default) = ephemeral
 *     camera: { id, name, manufacturer?, model?, serial, hardwareId?, timeline,
 *               streams: { main: { uri, width, height, fps, kbps, gop? }, sub: {...} },
 *               snapshot: (atMs) => Promise<Buffer> },   // the JPEG shown at atMs
 *     auth: { username, password },  // optional: then every call but GetSystemDateAndTime needs it
 *     clockOffsetSec: 0,             // the device clock runs this far from real time
 *     faults: { mode: 'none' },      // 'soap-fault' | 'timeout' | 'malformed-xml' | 'http-500'
 *     clock, log,                    // optional (lib/clock.ts, lib/log.ts)
 *   });
 *   await dev.start(signal); dev.xaddr(); dev.port(); dev.uuid; dev.scopes();
 *   dev.faults = { mode: 'timeout' };   // at runtime
 *   await dev.stop();
 *
 * Endpoints: POST /onvif/device_service, /onvif/media_service, /onvif/events_service
 * (and /onvif/events_service/pullpoint/ID per subscription); GET /onvif/snapshot.jpg.
 *
 * Authentication (ONVIF Core 5.12): SOAP calls accept a WS-UsernameToken
 * (digest or text; a bad one is HTTP 400 + ter:NotAuthorized) or HTTP Digest
 * (no or bad credentials: HTTP 401 with a challenge, body ter:NotAuthorized).
 * The snapshot takes HTTP Digest or Basic, so the URI GetSnapshotUri returns is
 * plain (no token in it to leak into logs) and any ordinary HTTP client with
 * the camera's credentials can fetch it.
 */
import http from 'node:http';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Health, HealthState, Service } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { PATHS, defaultScopes, handleDevice, stableUuid } from './device-service.js';
import { EventService } from './events.js';
import { injectFault, plain, readBody, send } from './faults.js';
import { HttpAuthenticator } from './http-auth.js';
import { handleMedia } from './media-service.js';
import { SoapFault, envelope, faults, parseSoapRequest, type SoapRequest } from './soap.js';
import type { FaultMode, OnvifCamera, OnvifDeviceOptions } from './types.js';
import { UsernameTokenVerifier, readUsernameToken } from './wsse.js';

export { stableUuid };
export type { FaultMode, OnvifCamera, OnvifDeviceOptions, OnvifStream, DiscoverableDevice } from './types.js';

const PULLPOINT_PREFIX = `${PATHS.events}/pullpoint/`;
const SOAP_PATHS = new Set<string>([PATHS.device, PATHS.media, PATHS.events]);

/** ter:NotAuthorized over HTTP 401: the client gets a Digest challenge to answer. */
class HttpAuthRequired extends SoapFault {
  constructor(readonly stale: boolean) {
    super(faults.notAuthorized().spec, 401);
  }
}

/** One simulated camera; the API is described at the top of this file. */
export class OnvifDevice implements Service {
  readonly name: string;
  readonly uuid: string;
  private readonly camera: OnvifCamera;
  private readonly host: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly offsetMs: number;
  private readonly events: EventService;
  private readonly wsse: UsernameTokenVerifier | undefined;
  private readonly httpAuth: HttpAuthenticator | undefined;
  private faultMode: FaultMode;
  private server: http.Server | undefined;
  private boundPort = 0;
  private state: HealthState = 'stopped';
  private detail: string | undefined;
  private readonly counters = { requests: 0, authFailures: 0 };

  constructor(private readonly opts: OnvifDeviceOptions) {
    this.camera = opts.camera;
    this.name = `onvif:${opts.camera.id}`;
    this.uuid = stableUuid(opts.camera.serial);
    this.host = opts.host ?? '127.0.0.1';
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? createLogger()).child({ component: 'onvif-device', camera: opts.camera.id });
    this.offsetMs = (opts.clockOffsetSec ?? 0) * 1000;
    this.faultMode = opts.faults?.mode ?? 'none';
    this.events = new EventService({
      timeline: opts.camera.timeline,
      realNow: () => this.clock.now(),
      offsetMs: () => this.offsetMs,
      subscriptionAddress: (id) => `${this.baseUrl()}${PULLPOINT_PREFIX}${id}`,
      log: this.log,
    });
    if (opts.auth) {
      this.wsse = new UsernameTokenVerifier(opts.auth, () => this.deviceNow());
      this.httpAuth = new HttpAuthenticator(opts.auth, `CamConnect-${opts.camera.id}`, () =>
        this.clock.now(),
      );
    }
  }

  get faults(): { mode: FaultMode } {
    return { mode: this.faultMode };
  }

  /** Changes fault injection at runtime; takes effect for the next request. */
  set faults(f: { mode: FaultMode }) {
    this.faultMode = f.mode;
    this.log.info('fault mode set', { mode: f.mode });
  }

  port(): number {
    return this.boundPort;
  }

  /** The device service URL, e.g. http://127.0.0.1:PORT/onvif/device_service. */
  xaddr(): string {
    return `${this.baseUrl()}${PATHS.device}`;
  }

  scopes(): string[] {
    return defaultScopes(this.camera);
  }

  private baseUrl(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}`;
  }

  private deviceNow(): number {
    return this.clock.now() + this.offsetMs;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.server) return;
    signal.throwIfAborted();
    this.state = 'starting';
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.internalError(res, err));
    });
    this.server = server;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('start aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        server.once('error', reject);
        server.listen(this.opts.port ?? 0, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.state = 'failed';
      this.detail = `cannot listen on ${this.host}:${this.opts.port ?? 0}: ${(err as Error).message}`;
      await this.stop();
      this.state = 'failed';
      throw err;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    this.events.start();
    this.state = 'ok';
    this.detail = undefined;
    this.log.info('onvif device listening', { xaddr: this.xaddr(), auth: Boolean(this.opts.auth) });
  }

  async stop(): Promise<void> {
    this.events.stop();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Held long polls and 'timeout'-mode requests would otherwise keep close() waiting.
        server.closeAllConnections();
      });
    }
    if (this.state !== 'failed') this.state = 'stopped';
  }

  health(): Health {
    const h: Health = {
      state: this.state,
      port: this.boundPort,
      faults: this.faultMode,
      pullPoints: this.events.pullPointCount(),
      ...this.counters,
    };
    if (this.detail) h.detail = this.detail;
    else if (this.state === 'ok' && this.faultMode !== 'none')
      h.detail = `injecting faults: ${this.faultMode}`;
    return h;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counters.requests++;
    const path = new URL(req.url ?? '/', 'http://device').pathname;
    if (path === PATHS.snapshot) return this.snapshot(req, res);
    if (!SOAP_PATHS.has(path) && !path.startsWith(PULLPOINT_PREFIX)) return plain(res, 404, 'not found');
    if (req.method !== 'POST') return plain(res, 405, 'SOAP endpoints take POST', { Allow: 'POST' });
    const body = await readBody(req);
    if (body === undefined) return plain(res, 413, 'request too large', { Connection: 'close' });
    if (injectFault(this.faultMode, res, 'soap')) return;

    let soap: SoapRequest;
    try {
      soap = parseSoapRequest(body);
      if (this.wsse && !(path === PATHS.device && soap.action === 'GetSystemDateAndTime'))
        this.authorize(req, soap);
      const ac = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) ac.abort();
      });
      const xml = await this.dispatch(path, soap, ac.signal);
      send(res, 200, envelope(xml));
    } catch (err) {
      if (!(err instanceof SoapFault)) throw err;
      const headers: http.OutgoingHttpHeaders = {};
      if (err instanceof HttpAuthRequired && this.httpAuth) {
        headers['WWW-Authenticate'] = this.httpAuth.challenges({ stale: err.stale });
      }
      send(res, err.httpStatus, err.toXml(), headers);
    }
  }

  private dispatch(path: string, soap: SoapRequest, signal: AbortSignal): Promise<string> | string {
    if (path.startsWith(PULLPOINT_PREFIX)) {
      return this.events.handleSubscription(path.slice(PULLPOINT_PREFIX.length), soap, signal);
    }
    if (path === PATHS.media) {
      return handleMedia(
        { camera: this.camera, snapshotUrl: () => `${this.baseUrl()}${PATHS.snapshot}` },
        soap,
      );
    }
    if (path === PATHS.events) return this.events.handleService(soap);
    return handleDevice(
      {
        camera: this.camera,
        baseUrl: () => this.baseUrl(),
        deviceNow: () => this.deviceNow(),
        scopes: () => this.scopes(),
        uuid: this.uuid,
      },
      soap,
    );
  }

  /** Throws ter:NotAuthorized: 400 for a rejected UsernameToken, 401 (with a challenge) otherwise (Core 5.12). */
  private authorize(req: http.IncomingMessage, soap: SoapRequest): void {
    const token = readUsernameToken(soap.header);
    if (token) {
      const v = this.wsse!.verify(token);
      if (v.ok) return;
      this.counters.authFailures++;
      this.log.debug('UsernameToken rejected', {
        why: v.why,
        action: soap.action,
        from: req.socket.remoteAddress,
      });
      throw faults.notAuthorized();
    }
    const v = this.httpAuth!.verify(req.headers.authorization, req.method ?? 'POST', req.url ?? '/');
    if (v.ok) return;
    this.counters.authFailures++;
    this.log.debug('HTTP authentication rejected', { why: v.why, action: soap.action });
    throw new HttpAuthRequired(v.stale);
  }

  private async snapshot(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET') return plain(res, 405, 'GET only', { Allow: 'GET' });
    if (injectFault(this.faultMode, res, 'snapshot')) return;
    if (this.httpAuth) {
      const v = this.httpAuth.verify(req.headers.authorization, 'GET', req.url ?? '/', { basic: true });
      if (!v.ok) {
        this.counters.authFailures++;
        return plain(res, 401, 'authentication required', {
          'WWW-Authenticate': this.httpAuth.challenges({ stale: v.stale, basic: true }),
        });
      }
    }
    let jpeg = await this.camera.snapshot(this.clock.now());
    if (this.faultMode === 'malformed-xml') jpeg = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    res.writeHead(200, {
      'Content-Type': 'image/jpeg',
      'Content-Length': jpeg.length,
      'Cache-Control': 'no-store',
    });
    res.end(jpeg);
  }

  private internalError(res: http.ServerResponse, err: unknown): void {
    this.log.error('request failed', { err: (err as Error).message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, 500, faults.actionFailed('Internal error').toXml());
  }
}
