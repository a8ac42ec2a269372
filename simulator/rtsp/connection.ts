/**
 * One client TCP connection: frames the byte stream (RTSP requests and
 * interleaved RTCP from the client), answers each request in order, and
 * owns the interleaved channel numbers handed out on it.
 *
 * A parse error is answered (400) and the connection closed: after a framing
 * error the byte stream cannot be resynchronised. Closing the connection ends
 * its TCP sessions; UDP sessions outlive it until TEARDOWN or timeout, as
 * RFC 2326 §3.9 intends (a session is not a connection).
 */
import type net from 'node:net';
import type { Logger } from '../../lib/log.js';
import type { ConnectionInfo, ServerContext } from './handlers.js';
import { handleRequest } from './handlers.js';
import type { RtspRequest } from './message.js';
import { formatResponse, RtspParseError, RtspParser } from './message.js';

export interface ConnectionHooks {
  /** Interleaved data from the client on `channel` (RTCP receiver reports). */
  onInterleaved(conn: RtspConnection, channel: number): void;
  onClose(conn: RtspConnection): void;
}

export class RtspConnection implements ConnectionInfo {
  private readonly parser = new RtspParser();
  private readonly channels = new Set<number>();
  private closed = false;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly ctx: ServerContext,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
    readonly serverHeader: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug('rtsp: connection error', { conn: id, err: err.message }));
    socket.on('close', () => {
      this.closed = true;
      this.hooks.onClose(this);
    });
  }

  allocChannels(requested?: [number, number]): [number, number] | undefined {
    if (requested && !this.channels.has(requested[0]) && !this.channels.has(requested[1])) {
      this.channels.add(requested[0]).add(requested[1]);
      return requested;
    }
    for (let c = 0; c + 1 <= 255; c += 2) {
      if (!this.channels.has(c) && !this.channels.has(c + 1)) {
        this.channels.add(c).add(c + 1);
        return [c, c + 1];
      }
    }
    return undefined;
  }

  private onData(chunk: Buffer): void {
    let messages;
    try {
      messages = this.parser.push(chunk);
    } catch (err) {
      if (!(err instanceof RtspParseError)) throw err;
      this.log.debug('rtsp: unparseable input, closing', { conn: this.id, err: err.message });
      this.socket.end(formatResponse({ status: err.status, headers: { Server: this.serverHeader } }));
      return;
    }
    for (const m of messages) {
      if (this.closed) return;
      if (m.kind === 'interleaved') this.hooks.onInterleaved(this, m.channel);
      else this.respond(m.request);
    }
  }

  private respond(req: RtspRequest): void {
    let res;
    try {
      res = handleRequest(this.ctx, this, req);
    } catch (err) {
      // A bug in a handler answers 500 for that request; the server and other clients carry on.
      this.log.error('rtsp: handler failed', { method: req.method, err: (err as Error).message });
      res = { status: 500, cseq: req.cseq };
    }
    res.headers = { Server: this.serverHeader, ...res.headers };
    this.log.debug('rtsp', { conn: this.id, method: req.method, uri: req.uri, status: res.status });
    this.socket.write(formatResponse(res));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
