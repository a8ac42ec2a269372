/**
 * SOAP 1.2 over HTTP to an ONVIF device, with the two authentication schemes ONVIF Core 5.12
 * names: WS-UsernameToken (PasswordDigest) first, HTTP Digest (RFC 7616) when the device
 * answers 401 with a challenge. Every call has a deadline and can be aborted, and every failure
 * becomes a CameraError naming the camera and the operation.
 *
 * Why not the `onvif` npm client: its requests cannot be aborted (PullMessages holds a socket
 * for 80 s whatever we ask), a response of the wrong shape throws inside its XML callback,
 * credentials are put into the XML unescaped and hashed as ASCII, and it returns untyped data.
 * The handful of Profile S operations the agent needs are simple enough to own.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { CameraError } from './errors.js';
import { MalformedXmlError, child, esc, parseXml, text, type XmlNode } from './xml.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface SoapClientOptions {
  /** The camera's name, for error messages. */
  camera: string;
  credentials?: Credentials;
  /** Default deadline per call. */
  timeoutMs?: number;
  /** Camera clock minus agent clock (ms): the UsernameToken's Created must be in the camera's time. */
  clockOffsetMs?: () => number;
  now?: () => number;
}

export interface SoapCallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** false for the calls ONVIF allows before authentication (GetSystemDateAndTime, Core 5.9.4). */
  authenticate?: boolean;
  /** The SOAP action URI; default `${ns}/${operation}`. */
  actionUri?: string;
  /** Add WS-Addressing Action and To headers (event subscriptions need them, Core 9.1). */
  addressing?: boolean;
}

const ENV = 'http://www.w3.org/2003/05/soap-envelope';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const UT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const MAX_BODY = 4 * 1024 * 1024;

/** Base64(SHA-1(nonce + created + password)), WSS UsernameToken Profile 1.0 §3.1, UTF-8 bytes. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

export class SoapClient {
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: SoapClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  get camera(): string {
    return this.opts.camera;
  }

  /**
   * Sends `<operation xmlns=ns>inner</operation>` to `url` and returns the response element
   * (the first child of the SOAP Body).
   */
  async call(
    url: string,
    ns: string,
    operation: string,
    inner: string,
    o: SoapCallOptions = {},
  ): Promise<XmlNode> {
    const action = o.actionUri ?? `${ns}/${operation}`;
    const creds = o.authenticate === false ? undefined : this.opts.credentials;
    const headers: string[] = [];
    if (creds) headers.push(this.usernameToken(creds));
    if (o.addressing) {
      const wsa = 'xmlns:wsa="http://www.w3.org/2005/08/addressing"';
      headers.push(`<wsa:Action ${wsa}>${esc(action)}</wsa:Action><wsa:To ${wsa}>${esc(url)}</wsa:To>`);
    }
    const body =
      `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${ENV}"><s:Header>${headers.join('')}</s:Header>` +
      `<s:Body><${operation} xmlns="${ns}">${inner}</${operation}></s:Body></s:Envelope>`;

    const deadline = AbortSignal.timeout(Math.max(1, Math.round(o.timeoutMs ?? this.timeoutMs)));
    const signal = o.signal ? AbortSignal.any([deadline, o.signal]) : deadline;
    const send = (authorization?: string) =>
      this.post(url, action, body, authorization, signal, deadline, operation);
    let res = await send();
    if (res.status === 401 && creds) {
      // The device wants HTTP Digest instead of (or as well as) the UsernameToken.
      const auth = digestAuthorization(res.wwwAuthenticate, creds, url);
      if (auth) res = await send(auth);
    }
    return this.interpret(res, operation);
  }

  private usernameToken(c: Credentials): string {
    const nonce = randomBytes(16);
    const created = new Date(this.now() + (this.opts.clockOffsetMs?.() ?? 0)).toISOString();
    return (
      `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}" s:mustUnderstand="true"><wsse:UsernameToken>` +
      `<wsse:Username>${esc(c.username)}</wsse:Username>` +
      `<wsse:Password Type="${UT}#PasswordDigest">${passwordDigest(nonce, created, c.password)}</wsse:Password>` +
      `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">` +
      `${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
    );
  }

  private async post(
    url: string,
    action: string,
    body: string,
    authorization: string | undefined,
    signal: AbortSignal,
    deadline: AbortSignal,
    operation: string,
  ): Promise<HttpReply> {
    const cam = this.opts.camera;
    try {
      return await httpPost(url, body, signal, {
        'Content-Type': `application/soap+xml; charset=utf-8; action="${action}"`,
        ...(authorization ? { Authorization: authorization } : {}),
      });
    } catch (err) {
      if (err instanceof MalformedXmlError) throw new CameraError(cam, 'malformed', operation, err.message);
      if (deadline.aborted) throw new CameraError(cam, 'timeout', operation, 'no answer in time');
      if (signal.aborted) throw new CameraError(cam, 'aborted', operation, 'stopped by the agent');
      const e = err as NodeJS.ErrnoException;
      throw new CameraError(cam, 'network', operation, e.code ?? e.message);
    }
  }

  private interpret(res: { status: number; body: string }, operation: string): XmlNode {
    const cam = this.opts.camera;
    let doc: Record<string, XmlNode> | undefined;
    try {
      doc = res.body.trimStart().startsWith('<') ? parseXml(res.body) : undefined;
    } catch (err) {
      if (!(err instanceof MalformedXmlError)) throw err;
      if (res.status >= 200 && res.status < 300)
        throw new CameraError(cam, 'malformed', operation, err.message, res.status);
    }
    const bodyEl = child(doc?.['Envelope'], 'Body');
    const fault = child(bodyEl, 'Fault');
    if (fault !== undefined) {
      const subcodes: string[] = [];
      for (let sub = child(child(fault, 'Code'), 'Subcode'); sub !== undefined; sub = child(sub, 'Subcode')) {
        const v = text(sub, 'Value');
        if (v) subcodes.push(v);
      }
      const reason = text(fault, 'Reason', 'Text') ?? text(fault, 'faultstring') ?? 'no reason given';
      const isAuth =
        res.status === 401 || subcodes.some((s) => /NotAuthorized|FailedAuthentication/i.test(s));
      const codes = subcodes.length ? ` [${subcodes.join(' / ')}]` : '';
      throw new CameraError(
        cam,
        isAuth ? 'auth' : 'fault',
        operation,
        isAuth
          ? `user name or password rejected (${reason})`
          : `SOAP fault${codes}: ${reason} (HTTP ${res.status})`,
        res.status,
        subcodes,
      );
    }
    if (res.status === 401)
      throw new CameraError(cam, 'auth', operation, 'user name or password rejected (HTTP 401)', 401);
    if (res.status < 200 || res.status >= 300) {
      throw new CameraError(cam, 'http', operation, `HTTP ${res.status} without a SOAP fault`, res.status);
    }
    const first =
      bodyEl && typeof bodyEl === 'object' ? Object.keys(bodyEl).find((k) => !k.startsWith('@_')) : undefined;
    if (!first)
      throw new CameraError(cam, 'malformed', operation, 'no SOAP Body in the response', res.status);
    return child(bodyEl, first) ?? '';
  }
}

/**
 * An RFC 7616 Authorization header for the strongest Digest challenge offered (SHA-256, then
 * MD5), qop=auth; undefined when the device offered no Digest challenge.
 */
export function digestAuthorization(
  header: string,
  c: Credentials,
  url: string,
  method = 'POST',
): string | undefined {
  const challenges = header
    .split(/,\s*(?=(?:Digest|Basic|Bearer)\s)/i)
    .filter((h) => /^Digest\s/i.test(h.trim()))
    .map((h) => parseParams(h.trim().slice(7)));
  const pick =
    challenges.find((p) => (p['algorithm'] ?? '').toUpperCase() === 'SHA-256') ??
    challenges.find((p) => ['', 'MD5'].includes((p['algorithm'] ?? '').toUpperCase()));
  if (!pick?.['nonce'] || pick['realm'] === undefined) return undefined;
  const alg = (pick['algorithm'] ?? 'MD5').toUpperCase() === 'SHA-256' ? 'SHA-256' : 'MD5';
  const h = (s: string) =>
    createHash(alg === 'SHA-256' ? 'sha256' : 'md5')
      .update(s, 'utf8')
      .digest('hex');
  const u = new URL(url);
  const uri = u.pathname + u.search;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const ha1 = h(`${c.username}:${pick['realm']}:${c.password}`);
  const ha2 = h(`${method}:${uri}`);
  const qop = (pick['qop'] ?? '')
    .split(',')
    .map((q) => q.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const response = qop
    ? h(`${ha1}:${pick['nonce']}:${nc}:${cnonce}:${qop}:${ha2}`)
    : h(`${ha1}:${pick['nonce']}:${ha2}`);
  const q = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const parts = [
    `username=${q(c.username)}`,
    `realm=${q(pick['realm'])}`,
    `nonce=${q(pick['nonce'])}`,
    `uri=${q(uri)}`,
    `algorithm=${alg}`,
    `response=${q(response)}`,
    ...(qop ? [`qop=${qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`] : []),
    ...(pick['opaque'] !== undefined ? [`opaque=${q(pick['opaque'])}`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}

function parseParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return out;
}

interface HttpReply {
  status: number;
  /** WWW-Authenticate, several headers joined with ", " as Node does. */
  wwwAuthenticate: string;
  body: string;
}

/**
 * One POST with node:http(s). Not fetch: fetch refuses the "bad ports" of the Fetch standard
 * (554, 5060, 6000...), which protect browsers, not an NVR talking to cameras on its LAN.
 */
function httpPost(
  url: string,
  body: string,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) }, signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            res.destroy();
            reject(new MalformedXmlError(`response larger than ${MAX_BODY} bytes`));
          } else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const w = res.headers['www-authenticate'];
          resolve({
            status: res.statusCode ?? 0,
            wwwAuthenticate: Array.isArray(w) ? w.join(', ') : (w ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
