/**
 * One RTSP session (RFC 2326 §3.9): a client's view of one camera stream,
 * over TCP interleaved channels or UDP ports.
 *
 * Invariants:
 * - Playback starts at a keyframe: on PLAY the session waits for the next
 *   keyframe of the live timeline, so a decoder never gets a P-frame first.
 * - Sequence numbers count only packets actually sent: frames dropped for a
 *   slow reader leave no gap, the receiver just sees a jump in RTP time and a
 *   fresh keyframe.
 * - A TCP reader's unsent bytes stay below `maxQueuedBytes` plus one frame:
 *   past it, frames are dropped up to the next keyframe, and sending resumes
 *   only at a keyframe once the queue has drained to a quarter of the bound.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { PacketizedFrame } from '../rtp.js';
import { INTERLEAVED_PREFIX, buildSenderReport, interleave, stampFrame } from '../rtp.js';
import { LiveStream } from './stream.js';
import type { UdpPair } from './udp.js';

export interface SessionTransport {
  readonly kind: 'tcp' | 'udp';
  /** Transport header value (without ssrc) for the SETUP response. */
  readonly header: string;
  /** Sends a stamped frame; returns bytes handed to the socket. */
  send(frame: PacketizedFrame, seq: number, timestamp: number, ssrc: number): number;
  sendRtcp(packet: Buffer): void;
  /** Bytes waiting in user space for the socket (0 for UDP, which never queues). */
  queued(): number;
  /** Groups the writes of one tick into as few syscalls as possible. */
  batch(fn: () => void): void;
}

export class TcpTransport implements SessionTransport {
  readonly kind = 'tcp';
  readonly header: string;
  constructor(
    private readonly socket: net.Socket,
    readonly channels: [number, number],
  ) {
    this.header = `RTP/AVP/TCP;unicast;interleaved=${channels[0]}-${channels[1]}`;
  }
  send(frame: PacketizedFrame, seq: number, timestamp: number, ssrc: number): number {
    const buf = stampFrame(frame, { channel: this.channels[0], seq, timestamp, ssrc });
    this.socket.write(buf);
    return buf.length;
  }
  sendRtcp(packet: Buffer): void {
    this.socket.write(interleave(this.channels[1], packet));
  }
  queued(): number {
    return this.socket.writableLength;
  }
  batch(fn: () => void): void {
    // cork/uncork: the SR and the frame's packets leave in one writev (one syscall per tick).
    this.socket.cork();
    try {
      fn();
    } finally {
      this.socket.uncork();
    }
  }
}

export class UdpTransport implements SessionTransport {
  readonly kind = 'udp';
  readonly header: string;
  /** Last send error, kept for health; UDP errors (client gone) are not fatal to the server. */
  lastError: Error | undefined;
  private readonly onSent = (err: Error | null): void => {
    if (err) this.lastError = err;
  };
  constructor(
    private readonly pair: UdpPair,
    readonly address: string,
    readonly clientPorts: [number, number],
  ) {
    const [a, b] = pair.ports;
    this.header = `RTP/AVP;unicast;client_port=${clientPorts[0]}-${clientPorts[1]};server_port=${a}-${b}`;
  }
  send(frame: PacketizedFrame, seq: number, timestamp: number, ssrc: number): number {
    const buf = stampFrame(frame, { channel: 0, seq, timestamp, ssrc });
    for (let i = 0; i < frame.offsets.length; i++) {
      const at = frame.offsets[i]! + INTERLEAVED_PREFIX;
      this.pair.sendRtp(buf, at, frame.lengths[i]!, this.clientPorts[0], this.address, this.onSent);
    }
    return buf.length - INTERLEAVED_PREFIX * frame.offsets.length;
  }
  sendRtcp(packet: Buffer): void {
    this.pair.sendRtcp(packet, this.clientPorts[1], this.address, this.onSent);
  }
  queued(): number {
    return 0;
  }
  batch(fn: () => void): void {
    fn();
  }
}

/** Server-wide totals, shared by every session. */
export interface ServeCounters {
  bytesSent: number;
  packetsSent: number;
  framesSent: number;
  framesDropped: number;
}

export interface SessionOptions {
  maxQueuedBytes: number;
  cname: string;
  counters: ServeCounters;
}

const SR_INTERVAL_MS = 1000;

export class RtspSession {
  readonly id = randomBytes(8).toString('hex');
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private seq = randomBytes(2).readUInt16BE(0);
  private readonly tsBase = randomBytes(4).readUInt32BE(0);
  state: 'ready' | 'playing' | 'paused' = 'ready';
  lastSeenMs: number;
  private nextFrame = 0;
  private dropping = false;
  private lastSrMs = -Infinity;
  private packets = 0;
  private octets = 0;

  constructor(
    readonly stream: LiveStream,
    public transport: SessionTransport,
    /** The RTSP connection that created it; TCP sessions live and die with it. */
    readonly connectionId: number,
    private readonly opts: SessionOptions,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
  }

  touch(nowMs: number): void {
    this.lastSeenMs = nowMs;
  }

  /** Starts (or resumes) at the next keyframe; returns what RTP-Info announces (RFC 2326 §12.33). */
  play(nowMs: number): { seq: number; rtptime: number } {
    // PLAY while playing changes nothing on a live stream (no seeking): no gap, no restart.
    if (this.state === 'playing') {
      return { seq: this.seq, rtptime: this.stream.frameRtpTime(this.tsBase, this.nextFrame) };
    }
    this.nextFrame = this.stream.nextKeyframe(this.stream.frameAt(nowMs));
    this.dropping = false;
    this.state = 'playing';
    return { seq: this.seq, rtptime: this.stream.frameRtpTime(this.tsBase, this.nextFrame) };
  }

  pause(): void {
    if (this.state === 'playing') this.state = 'paused';
  }

  /** Sends every frame that has become due since the last tick, and an SR when one is due. */
  tick(nowMs: number): void {
    if (this.state !== 'playing') return;
    const due = this.stream.frameAt(nowMs);
    if (due < this.nextFrame) return;
    // After a long stall (a blocked event loop), rejoin live at a keyframe instead of bursting.
    if (due - this.nextFrame > 2 * this.stream.media.fps) {
      this.nextFrame = this.stream.nextKeyframe(due);
      if (due < this.nextFrame) return;
    }
    this.transport.batch(() => {
      if (nowMs - this.lastSrMs >= SR_INTERVAL_MS) this.sendReport(nowMs);
      for (let a = this.nextFrame; a <= due; a++) this.sendFrame(a);
    });
    this.nextFrame = due + 1;
  }

  private sendFrame(a: number): void {
    const frame = this.stream.frame(a);
    const c = this.opts.counters;
    const queued = this.transport.queued();
    if (this.dropping) {
      if (!frame.keyframe || queued > this.opts.maxQueuedBytes / 4) {
        c.framesDropped++;
        return;
      }
      this.dropping = false;
    } else if (queued > this.opts.maxQueuedBytes) {
      this.dropping = true;
      c.framesDropped++;
      return;
    }
    const n = frame.offsets.length;
    c.bytesSent += this.transport.send(frame, this.seq, this.stream.frameRtpTime(this.tsBase, a), this.ssrc);
    this.seq = (this.seq + n) & 0xffff;
    this.packets += n;
    this.octets += frame.payloadBytes;
    c.packetsSent += n;
    c.framesSent++;
  }

  /** RFC 3550 §6.4.1: NTP time of now and the RTP time of the same instant on the media clock. */
  private sendReport(nowMs: number): void {
    const packet = buildSenderReport({
      ssrc: this.ssrc,
      wallMs: nowMs,
      rtpTimestamp: LiveStream.rtpTime(this.tsBase, nowMs),
      packetCount: this.packets,
      octetCount: this.octets,
      cname: this.opts.cname,
    });
    this.transport.sendRtcp(packet);
    this.lastSrMs = nowMs;
  }

  /** Transport header for the SETUP response, with our SSRC (RFC 2326 §12.39). */
  transportHeader(): string {
    return `${this.transport.header};ssrc=${this.ssrc.toString(16).toUpperCase().padStart(8, '0')}`;
  }

  close(): void {
    this.state = 'ready';
  }
}
