/**
 * RTSP method handlers (RFC 2326 §10) and the session state machine
 * (Appendix A.2: Init -> Ready on SETUP, Ready <-> Playing on PLAY/PAUSE,
 * any -> Init on TEARDOWN). Pure request -> response functions over a
 * ServerContext, so the socket code stays in connection.ts.
 *
 * Status codes: 404 unknown path; 401 + WWW-Authenticate without valid
 * credentials (OPTIONS is open, as on most cameras); 454 unknown session;
 * 455 PLAY/SETUP in the wrong state; 459 a session used for another stream;
 * 461 no usable transport; 505 not RTSP/1.0; 551 a Require'd option.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import type { Authenticator } from './auth.js';
import type { ResponseInit, RtspRequest } from './message.js';
import { parseTransport, TRACK_CONTROL } from './sdp.js';
import type { RtspSession, SessionTransport } from './session.js';
import { TcpTransport, UdpTransport } from './session.js';
import type { LiveStream } from './stream.js';
import type { UdpPair } from './udp.js';

export const PUBLIC_METHODS = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER, TEARDOWN';

export interface ServerContext {
  readonly log: Logger;
  readonly auth: Authenticator | undefined;
  readonly udp: UdpPair | undefined;
  readonly sessionTimeoutSec: number;
  now(): number;
  findStream(cameraId: string, role: string): LiveStream | undefined;
  session(id: string): RtspSession | undefined;
  createSession(stream: LiveStream, transport: SessionTransport, connectionId: number): RtspSession;
  closeSession(id: string, reason: string): void;
  /** Called after PLAY, so the server's ticker runs while anything plays. */
  playing(): void;
  describe(stream: LiveStream, localHost: string): string;
}

/** What a handler needs to know about the connection a request came in on. */
export interface ConnectionInfo {
  readonly id: number;
  readonly socket: Socket;
  /** Reserves an interleaved channel pair on this connection (the requested one if free). */
  allocChannels(requested?: [number, number]): [number, number] | undefined;
}

interface Target {
  stream: LiveStream;
  /** rtsp://host:port/camK/role/ as the client addressed us, without credentials. */
  base: string;
}

type Resolved = Target | { status: number };

/** Maps a request URI to a stream: /camK/role, /camK/role/ and /camK/role/trackID=0 are accepted. */
function resolve(ctx: ServerContext, uri: string): Resolved {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { status: 400 };
  }
  if (url.protocol !== 'rtsp:') return { status: 400 };
  const parts = url.pathname.split('/').filter((p) => p.length > 0);
  const [cameraId, role, ...rest] = parts;
  const stream = cameraId && role ? ctx.findStream(cameraId, role) : undefined;
  if (!stream || (rest.length > 0 && !(rest.length === 1 && rest[0] === TRACK_CONTROL)))
    return { status: 404 };
  return { stream, base: `rtsp://${url.host}/${cameraId}/${role}/` };
}

function sessionId(req: RtspRequest): string | undefined {
  return req.headers.get('session')?.split(';')[0]?.trim();
}

export function handleRequest(ctx: ServerContext, conn: ConnectionInfo, req: RtspRequest): ResponseInit {
  const base = { cseq: req.cseq };
  if (req.version !== 'RTSP/1.0') return { ...base, status: 505 };
  if (req.cseq === undefined) return { status: 400 };
  const require = req.headers.get('require');
  if (require) return { ...base, status: 551, headers: { Unsupported: require } };

  const sid = sessionId(req);
  const known = sid === undefined ? undefined : ctx.session(sid);
  // A TCP session belongs to its connection; elsewhere its id means nothing (no session hijack).
  const session =
    known && (known.transport.kind === 'udp' || known.connectionId === conn.id) ? known : undefined;
  if (sid !== undefined && !session) return { ...base, status: 454 };
  session?.touch(ctx.now());
  const sessionHeader = session ? { Session: session.id } : {};

  if (req.method === 'OPTIONS')
    return { ...base, status: 200, headers: { Public: PUBLIC_METHODS, ...sessionHeader } };

  if (ctx.auth) {
    const result = ctx.auth.check(req.method, req.headers.get('authorization'));
    if (result !== 'ok') {
      if (result === 'bad') ctx.log.warn('rtsp: rejected credentials', { method: req.method, path: req.uri });
      return {
        ...base,
        status: 401,
        headers: { 'WWW-Authenticate': ctx.auth.challenge(result === 'stale') },
      };
    }
  }

  switch (req.method) {
    case 'DESCRIBE': {
      const t = resolve(ctx, req.uri);
      if ('status' in t) return { ...base, status: t.status };
      return {
        ...base,
        status: 200,
        headers: { 'Content-Type': 'application/sdp', 'Content-Base': t.base },
        body: ctx.describe(t.stream, conn.socket.localAddress ?? '127.0.0.1'),
      };
    }
    case 'SETUP':
      return setup(ctx, conn, req, session);
    case 'PLAY': {
      if (!session) return { ...base, status: 455 };
      const t = resolve(ctx, req.uri);
      if ('status' in t) return { ...base, status: t.status };
      if (t.stream !== session.stream) return { ...base, status: 459 };
      const { seq, rtptime } = session.play(ctx.now());
      ctx.playing();
      const track = t.base + TRACK_CONTROL;
      return {
        ...base,
        status: 200,
        headers: {
          ...sessionHeader,
          Range: 'npt=now-',
          'RTP-Info': `url=${track};seq=${seq};rtptime=${rtptime}`,
        },
      };
    }
    case 'PAUSE':
      if (!session) return { ...base, status: 455 };
      session.pause();
      return { ...base, status: 200, headers: sessionHeader };
    case 'TEARDOWN':
      if (!session) return { ...base, status: 455 };
      ctx.closeSession(session.id, 'teardown');
      return { ...base, status: 200, headers: sessionHeader };
    case 'GET_PARAMETER':
      // Keep-alive (§10.8): an empty body asks for nothing; the session was touched above.
      return { ...base, status: 200, headers: sessionHeader };
    case 'ANNOUNCE':
    case 'RECORD':
    case 'SET_PARAMETER':
    case 'REDIRECT':
      return { ...base, status: 405, headers: { Allow: PUBLIC_METHODS } };
    default:
      return { ...base, status: 501, headers: { Public: PUBLIC_METHODS } };
  }
}

function setup(
  ctx: ServerContext,
  conn: ConnectionInfo,
  req: RtspRequest,
  session: RtspSession | undefined,
): ResponseInit {
  const base = { cseq: req.cseq };
  const t = resolve(ctx, req.uri);
  if ('status' in t) return { ...base, status: t.status };
  if (session && session.stream !== t.stream) return { ...base, status: 459 };
  if (session?.state === 'playing') return { ...base, status: 455 };
  const spec = parseTransport(req.headers.get('transport') ?? '');
  if (!spec) return { ...base, status: 461 };

  let transport: SessionTransport;
  if (spec.kind === 'tcp') {
    const channels = conn.allocChannels(spec.interleaved);
    if (!channels) return { ...base, status: 461 };
    transport = new TcpTransport(conn.socket, channels);
  } else {
    const address = conn.socket.remoteAddress;
    if (!ctx.udp || !address) return { ...base, status: 461 };
    // Media goes only to the address the request came from (no `destination=`): the server
    // must not be usable to send a stream at a third party (RFC 2326 §12.39, security note).
    transport = new UdpTransport(ctx.udp, address, spec.clientPorts);
  }
  let s = session;
  if (s) s.transport = transport;
  else s = ctx.createSession(t.stream, transport, conn.id);
  return {
    ...base,
    status: 200,
    headers: { Transport: s.transportHeader(), Session: `${s.id};timeout=${ctx.sessionTimeoutSec}` },
  };
}
