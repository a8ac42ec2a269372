/**
 * RTSP 1.0 server (RFC 2326) for simulated cameras: serves pre-encoded H.264
 * loops over RTP (RFC 6184) interleaved on TCP or over UDP, no live encode.
 *
 * API (used by simulator/fleet.ts and cli/sim.ts):
 *
 *   const server = new RtspServer({
 *     host: '127.0.0.1',          // default; listen address for RTSP and RTP/UDP
 *     port: 0,                    // 0 = ephemeral; read back with server.port()
 *     cameras: [{ id: 'cam1', timeline, main: encoded.main, sub: encoded.sub }],
 *     auth: { username, password, mode: 'digest' },   // optional; 'basic' | 'digest'
 *     log,                        // optional Logger
 *   });
 *   await server.start(signal);   // loads and packetizes every stream, then listens
 *   server.url('cam1', 'main');   // rtsp://127.0.0.1:PORT/cam1/main (no credentials in it)
 *   server.health();              // { state, sessions, playing, bytesSent, framesDropped, ... }
 *   await server.stop();
 *
 * Paths: /camK/main and /camK/sub; the SDP's track control is `trackID=0`.
 * Every session of a camera plays that camera's SceneTimeline (the same one
 * its ONVIF event source reads), starting at the next keyframe: a client sees
 * what a live camera would show at that moment, not the start of the loop.
 *
 * One ticker per server drives every playing session: ticks are scheduled
 * from a fixed origin (origin + k * period), never by setInterval, so there is
 * no drift, and each session sends whatever frames its timeline says are due.
 * The ticker only runs while some session plays.
 */
import net from 'node:net';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import { VERSION } from '../../lib/version.js';
import type { EncodedStream } from '../encode.js';
import { DEFAULT_MTU } from '../rtp.js';
import type { SceneTimeline } from '../scenes.js';
import type { AuthConfig } from './auth.js';
import { Authenticator } from './auth.js';
import { RtspConnection } from './connection.js';
import type { ServerContext } from './handlers.js';
import { sdpForStream } from './sdp.js';
import type { ServeCounters, SessionTransport } from './session.js';
import { RtspSession, UdpTransport } from './session.js';
import type { LoadedMedia } from './stream.js';
import { LiveStream, loadMedia } from './stream.js';
import { FrameTicker } from './ticker.js';
import { UdpPair } from './udp.js';

export interface RtspCamera {
  /** Path segment, e.g. 'cam1'. */
  id: string;
  timeline: SceneTimeline;
  main: EncodedStream;
  sub: EncodedStream;
}

export interface RtspServerOptions {
  host?: string;
  port?: number;
  cameras: RtspCamera[];
  auth?: AuthConfig;
  log?: Logger;
  /** Idle timeout of UDP sessions, announced in the Session header (RFC 2326 §12.37). Default 60. */
  sessionTimeoutSec?: number;
  /** Bound on a TCP client's unsent bytes before frames are dropped to the next keyframe. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Serve RTP over UDP too (binds a port pair). Default true. */
  udp?: boolean;
  mtu?: number;
  clock?: Clock;
}

export type StreamRole = 'main' | 'sub';

export class RtspServer implements Service {
  readonly name = 'rtsp-server';
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly streams = new Map<string, LiveStream>();
  private readonly sessions = new Map<string, RtspSession>();
  private readonly connections = new Set<RtspConnection>();
  private readonly counters: ServeCounters = {
    bytesSent: 0,
    packetsSent: 0,
    framesSent: 0,
    framesDropped: 0,
  };
  private server: net.Server | undefined;
  private udp: UdpPair | undefined;
  private listenPort: number | undefined;
  private reaper: NodeJS.Timeout | undefined;
  private nextConnId = 1;
  private state: Health['state'] = 'stopped';
  private mediaBytes = 0;
  private readonly ticker: FrameTicker;
  private readonly auth: Authenticator | undefined;
  private ctx: ServerContext | undefined;

  constructor(private readonly opts: RtspServerOptions) {
    this.log = (opts.log ?? silentLogger).child({ part: 'rtsp' });
    this.clock = opts.clock ?? systemClock;
    this.ticker = new FrameTicker(this.clock, (now) => this.tick(now));
    this.auth = opts.auth ? new Authenticator(opts.auth, () => this.clock.now()) : undefined;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.state !== 'stopped') throw new Error('RtspServer already started');
    this.state = 'starting';
    try {
      await this.loadStreams(signal);
      signal.throwIfAborted();
      const host = this.opts.host ?? '127.0.0.1';
      if (this.opts.udp !== false) {
        this.udp = await UdpPair.open(host, {
          onRtcp: (from) => this.onUdpRtcp(from.address, from.port),
          onError: (err) => this.log.warn('rtsp: udp socket error', { err: err.message }),
        });
      }
      signal.throwIfAborted();
      this.ctx = this.context();
      this.listenPort = await this.listen(host, this.opts.port ?? 0);
      const timeoutMs = this.ctx.sessionTimeoutSec * 1000;
      this.reaper = setInterval(() => this.reap(timeoutMs), Math.min(5000, timeoutMs / 2));
      this.reaper.unref();
      this.state = 'ok';
      this.log.info('rtsp server listening', { port: this.listenPort, cameras: this.opts.cameras.length });
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async loadStreams(signal: AbortSignal): Promise<void> {
    // Cameras sharing a scene share its packetized frames: one copy per file, not per camera.
    const byFile = new Map<string, Promise<LoadedMedia>>();
    const load = (s: EncodedStream): Promise<LoadedMedia> => {
      let p = byFile.get(s.h264Path);
      if (!p) byFile.set(s.h264Path, (p = loadMedia(s, this.opts.mtu ?? DEFAULT_MTU)));
      return p;
    };
    const fps: number[] = [];
    for (const cam of this.opts.cameras) {
      if (!/^[A-Za-z0-9_-]+$/.test(cam.id)) throw new Error(`bad camera id "${cam.id}"`);
      for (const role of ['main', 'sub'] as const) {
        signal.throwIfAborted();
        const stream = new LiveStream(cam.id, role, cam.timeline, await load(cam[role]));
        this.streams.set(stream.path, stream);
        fps.push(stream.media.fps);
      }
    }
    const all = await Promise.all(byFile.values());
    this.mediaBytes = all.reduce((n, m) => n + m.bytes, 0);
    const first = this.opts.cameras[0]?.timeline;
    // Ticks on the first camera's frame grid (+2 ms so its frame is due when the timer fires).
    this.ticker.setGrid(first ? first.epochMs - first.phaseSec * 1000 + 2 : 0, 1000 / Math.max(1, ...fps));
  }

  private listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      this.server = server;
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error('rtsp: server error', { err: err.message }));
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (!this.ctx) {
      socket.destroy(); // stopping
      return;
    }
    const conn = new RtspConnection(
      this.nextConnId++,
      socket,
      this.ctx,
      { onInterleaved: (c) => this.touchConnection(c.id), onClose: (c) => this.dropConnection(c) },
      this.log,
      `CamConnect-Sim/${VERSION}`,
    );
    this.connections.add(conn);
  }

  private context(): ServerContext {
    return {
      log: this.log,
      auth: this.auth,
      udp: this.udp,
      sessionTimeoutSec: this.opts.sessionTimeoutSec ?? 60,
      now: () => this.clock.now(),
      findStream: (cameraId, role) => this.streams.get(`${cameraId}/${role}`),
      session: (id) => this.sessions.get(id),
      createSession: (stream, transport, connId) => this.createSession(stream, transport, connId),
      closeSession: (id, reason) => this.closeSession(id, reason),
      playing: () => this.ticker.ensureRunning(),
      describe: (stream, localHost) => sdpForStream(stream, localHost),
    };
  }

  private createSession(stream: LiveStream, transport: SessionTransport, connId: number): RtspSession {
    const maxQueuedBytes = this.opts.maxQueuedBytes ?? 1024 * 1024;
    const opts = { maxQueuedBytes, cname: `${stream.path}@camconnect-sim`, counters: this.counters };
    const session = new RtspSession(stream, transport, connId, opts, this.clock.now());
    this.sessions.set(session.id, session);
    this.log.debug('rtsp: session created', { session: session.id, path: stream.path, via: transport.kind });
    return session;
  }

  /** A closed connection ends its TCP sessions; its UDP sessions live on until TEARDOWN or timeout. */
  private dropConnection(c: RtspConnection): void {
    this.connections.delete(c);
    for (const s of [...this.sessions.values()]) {
      if (s.connectionId === c.id && s.transport.kind === 'tcp') this.closeSession(s.id, 'connection closed');
    }
  }

  private closeSession(id: string, reason: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.close();
    this.sessions.delete(id);
    this.log.debug('rtsp: session closed', { session: id, path: s.stream.path, reason });
  }

  /** One tick: every playing session sends what its timeline says is due. */
  private tick(now: number): boolean {
    let playing = 0;
    for (const s of this.sessions.values()) {
      if (s.state !== 'playing') continue;
      playing++;
      s.tick(now);
    }
    return playing > 0 && this.state === 'ok';
  }

  private touchConnection(connId: number): void {
    const now = this.clock.now();
    for (const s of this.sessions.values()) if (s.connectionId === connId) s.touch(now);
  }

  private onUdpRtcp(address: string, port: number): void {
    const now = this.clock.now();
    for (const s of this.sessions.values()) {
      const t = s.transport;
      if (t instanceof UdpTransport && t.address === address && t.clientPorts[1] === port) s.touch(now);
    }
  }

  /** Ends UDP sessions whose client has sent neither a request nor RTCP within the timeout (§12.37). */
  private reap(timeoutMs: number): void {
    const now = this.clock.now();
    for (const s of [...this.sessions.values()]) {
      if (s.transport.kind === 'udp' && now - s.lastSeenMs > timeoutMs) this.closeSession(s.id, 'timeout');
    }
  }

  async stop(): Promise<void> {
    this.ticker.stop();
    if (this.reaper) clearInterval(this.reaper);
    this.reaper = undefined;
    for (const id of [...this.sessions.keys()]) this.closeSession(id, 'server stopping');
    for (const c of this.connections) c.close();
    this.connections.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.udp?.close();
    this.udp = undefined;
    this.streams.clear();
    this.ctx = undefined;
    this.state = 'stopped';
  }

  health(): Health {
    const sessions = [...this.sessions.values()];
    return {
      state: this.state,
      port: this.listenPort,
      cameras: this.opts.cameras.length,
      sessions: sessions.length,
      playing: sessions.filter((s) => s.state === 'playing').length,
      mediaBytes: this.mediaBytes,
      ...this.counters,
    };
  }

  port(): number {
    if (this.listenPort === undefined) throw new Error('RtspServer not started');
    return this.listenPort;
  }

  /** The camera's stream URL, without credentials (callers add them when they need to). */
  url(cameraId: string, role: StreamRole): string {
    const host = this.opts.host ?? '127.0.0.1';
    const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return `rtsp://${net.isIPv6(shown) ? `[${shown}]` : shown}:${this.port()}/${cameraId}/${role}`;
  }
}
