/**
 * A bare RTSP/1.0 client for tests that need to see status codes and headers
 * exactly (ffmpeg and GStreamer hide them behind their own error handling).
 * One request at a time on one connection; interleaved binary data that
 * arrives between responses is counted and skipped.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

export class RawRtspClient {
  private buf = Buffer.alloc(0);
  private cseq = 0;
  private waiter: (() => void) | undefined;
  private closed = false;
  /** Bytes of interleaved ('$') data received so far. */
  interleavedBytes = 0;
  /** The first interleaved packets received (at most 5000), by channel. */
  readonly packets: { channel: number; data: Buffer }[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRtspClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(new RawRtspClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Sends a request; CSeq is added. Resolves with the response (rejects if the server closes first). */
  async request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    return this.readResponse();
  }

  /** Writes raw bytes (for malformed-input tests). */
  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  async readResponse(): Promise<RawResponse> {
    for (;;) {
      const res = this.tryParse();
      if (res) return res;
      if (this.closed) throw new Error('connection closed before a response');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  private tryParse(): RawResponse | undefined {
    while (this.buf[0] === 0x24 && this.buf.length >= 4) {
      const len = this.buf.readUInt16BE(2);
      if (this.buf.length < 4 + len) return undefined;
      this.interleavedBytes += len;
      if (this.packets.length < 5000) {
        this.packets.push({ channel: this.buf[1]!, data: Buffer.from(this.buf.subarray(4, 4 + len)) });
      }
      this.buf = this.buf.subarray(4 + len);
    }
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || this.buf[0] === 0x24) return undefined;
    const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const len = Number(headers.get('content-length') ?? 0);
    if (this.buf.length < end + 4 + len) return undefined;
    const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + len);
    const status = Number(/^RTSP\/1\.0 (\d{3})/.exec(head[0] ?? '')?.[1] ?? NaN);
    return { status, headers, body };
  }

  /** Waits until at least `bytes` of interleaved data have arrived. Only while no response is pending:
   * a response parsed here would be discarded. */
  async waitInterleaved(bytes: number): Promise<void> {
    await this.waitFor(() => this.interleavedBytes >= bytes);
  }

  /** Waits until `done()` holds, re-checking as data arrives (same caveat as waitInterleaved). */
  async waitFor(done: () => boolean): Promise<void> {
    for (;;) {
      this.tryParse();
      if (done()) return;
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
