/**
 * RTSP/1.0 message framing (RFC 2326 §6, §7) on a TCP byte stream that also
 * carries interleaved binary data (§10.12: '$', channel, 16-bit length).
 *
 * Bounds: a request head may be at most MAX_HEAD bytes and a body at most
 * MAX_BODY, so a client cannot make the server buffer without limit; a
 * violation is a parse error after which the connection is closed.
 */

export const MAX_HEAD = 16 * 1024;
export const MAX_BODY = 64 * 1024;

export interface RtspRequest {
  method: string;
  uri: string;
  version: string;
  /** Header names in lower case; a repeated header keeps the values joined by ", " (RFC 2616 §4.2). */
  headers: Map<string, string>;
  body: Buffer;
  /** CSeq, echoed verbatim in the response (§12.17). */
  cseq: string | undefined;
}

export type Incoming =
  { kind: 'request'; request: RtspRequest } | { kind: 'interleaved'; channel: number; data: Buffer };

export class RtspParseError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RtspParseError';
  }
}

export const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
  551: 'Option not supported',
};

function parseHead(head: string): Omit<RtspRequest, 'body'> {
  const lines = head.split(/\r?\n/);
  const m = /^([A-Z_]+) (\S+) (RTSP\/\d\.\d)$/.exec(lines[0] ?? '');
  if (!m) throw new RtspParseError(`bad request line`, 400);
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`); // folded continuation line
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RtspParseError(`bad header line`, 400);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    last = name;
  }
  return { method: m[1]!, uri: m[2]!, version: m[3]!, headers, cseq: headers.get('cseq') };
}

/** Incremental parser: push() bytes as they arrive, get back every complete message. */
export class RtspParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Incoming[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Incoming[] = [];
    for (;;) {
      const msg = this.next();
      if (!msg) break;
      out.push(msg);
    }
    return out;
  }

  private next(): Incoming | undefined {
    const b = this.buf;
    if (b.length === 0) return undefined;
    if (b[0] === 0x24) {
      if (b.length < 4) return undefined;
      const len = b.readUInt16BE(2);
      if (b.length < 4 + len) return undefined;
      const data = Buffer.from(b.subarray(4, 4 + len));
      this.buf = b.subarray(4 + len);
      return { kind: 'interleaved', channel: b[1]!, data };
    }
    // Some clients send a bare CRLF between messages as a keep-alive; skip it.
    if (b[0] === 0x0d || b[0] === 0x0a) {
      this.buf = b.subarray(1);
      return this.next();
    }
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) {
      if (b.length > MAX_HEAD) throw new RtspParseError('request head too large', 400);
      return undefined;
    }
    if (end > MAX_HEAD) throw new RtspParseError('request head too large', 400);
    const head = parseHead(b.subarray(0, end).toString('latin1'));
    const lenText = head.headers.get('content-length') ?? '0';
    const len = /^\d+$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len <= MAX_BODY)) throw new RtspParseError('bad or too large Content-Length', 400);
    const total = end + 4 + len;
    if (b.length < total) return undefined;
    const body = Buffer.from(b.subarray(end + 4, total));
    this.buf = b.subarray(total);
    return { kind: 'request', request: { ...head, body } };
  }
}

export interface ResponseInit {
  status: number;
  cseq?: string | undefined;
  headers?: Record<string, string | number | undefined>;
  body?: string;
}

/** Serializes a response; CSeq first, then the given headers, then Content-Length when there is a body. */
export function formatResponse(r: ResponseInit): Buffer {
  const lines = [`RTSP/1.0 ${r.status} ${REASONS[r.status] ?? 'Unknown'}`];
  if (r.cseq !== undefined) lines.push(`CSeq: ${r.cseq}`);
  for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) lines.push(`${k}: ${v}`);
  const body = r.body ?? '';
  if (body.length > 0) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

/** Splits a parameter list like `a=1;b="x;y";c` into a map (quoted values may contain separators). */
export function parseParams(text: string, sep: ';' | ','): Map<string, string> {
  const out = new Map<string, string>();
  const re =
    sep === ';'
      ? /\s*([^=;\s]+)(?:=("[^"]*"|[^;]*))?\s*(?:;|$)/gy
      : /\s*([^=,\s]+)(?:=("[^"]*"|[^,]*))?\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const raw = (m[2] ?? '').trim();
    out.set(m[1]!.toLowerCase(), raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    if (m[0].length === 0) break;
  }
  return out;
}
