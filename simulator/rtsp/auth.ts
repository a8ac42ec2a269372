/**
 * RTSP authentication as IP cameras do it: HTTP Basic (RFC 7617) or Digest
 * (RFC 2617 §3.2, MD5) over the RTSP request (RFC 2326 §D.2 reuses HTTP's).
 *
 * Digest nonces are stateless: hex(issue time) + HMAC(server secret, time),
 * so any nonce this server issued verifies without a table, and an old one is
 * answered with `stale=true` (RFC 2617 §3.2.1) instead of a hard failure.
 * Both response forms are accepted: with qop=auth (cnonce, nc) and without
 * (the RFC 2069 form, which GStreamer sends even when qop is offered).
 * Passwords and Authorization headers are never logged or put in errors.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseParams } from './message.js';

export interface AuthConfig {
  username: string;
  password: string;
  mode: 'basic' | 'digest';
  /** Digest only: offer qop="auth" in the challenge (default true). */
  digestQop?: boolean;
  realm?: string;
}

export type AuthResult = 'ok' | 'missing' | 'bad' | 'stale';

export const DEFAULT_REALM = 'CamConnect';
/** A nonce older than this is stale: the client must retry with a fresh one. */
export const NONCE_TTL_MS = 10 * 60 * 1000;

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

export interface DigestInput {
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: string | undefined;
  nc?: string | undefined;
  cnonce?: string | undefined;
}

/** request-digest of RFC 2617 §3.2.2.1 (algorithm MD5; qop "auth" or absent). */
export function digestResponse(d: DigestInput): string {
  const ha1 = md5(`${d.username}:${d.realm}:${d.password}`);
  const ha2 = md5(`${d.method}:${d.uri}`);
  if (d.qop) return md5(`${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`);
  return md5(`${ha1}:${d.nonce}:${ha2}`);
}

/** Equal-time comparison, so response checks leak nothing through timing. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

export type ParsedAuthorization =
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'digest'; params: Map<string, string> }
  | { scheme: 'other' };

export function parseAuthorization(header: string): ParsedAuthorization {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!m) return { scheme: 'other' };
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') {
    const text = Buffer.from(m[2]!.trim(), 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return { scheme: 'other' };
    return { scheme: 'basic', username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (scheme === 'digest') return { scheme: 'digest', params: parseParams(m[2]!, ',') };
  return { scheme: 'other' };
}

export class Authenticator {
  private readonly secret = randomBytes(32);
  readonly realm: string;

  constructor(
    private readonly cfg: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.realm = cfg.realm ?? DEFAULT_REALM;
  }

  private sign(issued: string): string {
    return createHmac('sha256', this.secret).update(issued).digest('hex').slice(0, 24);
  }

  newNonce(): string {
    const issued = Math.floor(this.now()).toString(16).padStart(12, '0');
    return issued + this.sign(issued);
  }

  /** 'ok' for a nonce this server issued within the TTL, 'stale' if older, 'bad' if forged. */
  private checkNonce(nonce: string): AuthResult {
    const issued = nonce.slice(0, 12);
    if (!/^[0-9a-f]{12}$/.test(issued) || !safeEqual(nonce.slice(12), this.sign(issued))) return 'bad';
    const age = this.now() - parseInt(issued, 16);
    return age >= 0 && age <= NONCE_TTL_MS ? 'ok' : 'stale';
  }

  /** The WWW-Authenticate header value for a 401 (RFC 2617 §3.2.1 / RFC 7617 §2). */
  challenge(stale = false): string {
    if (this.cfg.mode === 'basic') return `Basic realm="${this.realm}"`;
    const qop = this.cfg.digestQop === false ? '' : ', qop="auth"';
    return `Digest realm="${this.realm}", nonce="${this.newNonce()}", algorithm=MD5${qop}${stale ? ', stale=TRUE' : ''}`;
  }

  check(method: string, header: string | undefined): AuthResult {
    if (header === undefined) return 'missing';
    const auth = parseAuthorization(header);
    if (this.cfg.mode === 'basic') {
      if (auth.scheme !== 'basic') return 'bad';
      const okUser = safeEqual(auth.username, this.cfg.username);
      const okPass = safeEqual(auth.password, this.cfg.password);
      return okUser && okPass ? 'ok' : 'bad';
    }
    if (auth.scheme !== 'digest') return 'bad';
    const p = auth.params;
    const [username, realm, nonce, uri, response] = ['username', 'realm', 'nonce', 'uri', 'response'].map(
      (k) => p.get(k),
    );
    if (!username || !nonce || !uri || !response || realm !== this.realm) return 'bad';
    const algorithm = p.get('algorithm');
    if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') return 'bad';
    const qop = p.get('qop');
    if (qop !== undefined && qop !== 'auth') return 'bad';
    // The digest covers the client's `uri` field; clients differ in whether it is the absolute
    // request URI or a base URL, so the field is taken as given rather than compared.
    const expected = digestResponse({
      username,
      realm,
      password: this.cfg.password,
      method,
      uri,
      nonce,
      qop,
      nc: p.get('nc'),
      cnonce: p.get('cnonce'),
    });
    if (!safeEqual(username, this.cfg.username) || !safeEqual(response.toLowerCase(), expected)) return 'bad';
    return this.checkNonce(nonce);
  }
}
