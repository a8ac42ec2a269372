/**
 * HTTP authentication for the simulated device: Digest (RFC 7616, MD5 and
 * SHA-256, qop=auth) for SOAP and the snapshot, Basic (RFC 7617) for the
 * snapshot only. ONVIF Core 5.12 asks devices to support HTTP Digest next to
 * WS-UsernameToken; snapshot URIs are fetched by plain HTTP clients (curl
 * --digest, ffmpeg, browsers), which speak Digest or Basic but not SOAP.
 *
 * Nonces are stateless (issue time + HMAC under a per-process key), expire
 * after NONCE_TTL_MS (the client is told `stale=true` and retries), and each
 * nonce's nonce-count must grow, so a captured Authorization header cannot be
 * replayed.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_TTL_MS = 5 * 60_000;

type Algorithm = 'MD5' | 'SHA-256';
const HASH: Record<Algorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

export type HttpAuthVerdict = { ok: true; username: string } | { ok: false; stale: boolean; why: string };

function equal(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** Parses `k=v, k2="v, 2"` auth-params (RFC 7235 §2.1); keys lowercased. */
export function parseAuthParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m[0] === '') break;
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return out;
}

export class HttpAuthenticator {
  private readonly key = randomBytes(32);
  /** nonce → highest nonce-count accepted so far. */
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly account: { username: string; password: string },
    readonly realm: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** WWW-Authenticate values: SHA-256 first (RFC 7616 §3.7 lists preferred first), then MD5, then Basic if asked. */
  challenges(opts: { stale?: boolean; basic?: boolean } = {}): string[] {
    const nonce = this.newNonce();
    const stale = opts.stale ? ', stale=true' : '';
    const digest = (alg: Algorithm) =>
      `Digest realm="${this.realm}", qop="auth", algorithm=${alg}, nonce="${nonce}"${stale}`;
    const out = [digest('SHA-256'), digest('MD5')];
    if (opts.basic) out.push(`Basic realm="${this.realm}", charset="UTF-8"`);
    return out;
  }

  verify(
    header: string | undefined,
    method: string,
    uri: string,
    opts: { basic?: boolean } = {},
  ): HttpAuthVerdict {
    if (!header) return { ok: false, stale: false, why: 'no-credentials' };
    const sp = header.indexOf(' ');
    const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
    const rest = sp < 0 ? '' : header.slice(sp + 1);
    if (scheme === 'basic' && opts.basic) return this.verifyBasic(rest);
    if (scheme === 'digest') return this.verifyDigest(parseAuthParams(rest), method, uri);
    return { ok: false, stale: false, why: `unsupported scheme ${scheme}` };
  }

  private verifyBasic(b64: string): HttpAuthVerdict {
    const decoded = Buffer.from(b64.trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, stale: false, why: 'malformed basic credentials' };
    const userOk = equal(decoded.slice(0, colon), this.account.username);
    const passOk = equal(decoded.slice(colon + 1), this.account.password);
    return userOk && passOk
      ? { ok: true, username: this.account.username }
      : { ok: false, stale: false, why: 'bad credentials' };
  }

  private verifyDigest(p: Record<string, string>, method: string, uri: string): HttpAuthVerdict {
    const alg = (p['algorithm'] ?? 'MD5').toUpperCase() as Algorithm;
    const { username, realm, nonce, response, qop, nc, cnonce } = p;
    if (!HASH[alg] || !username || !nonce || !response || !nc || !cnonce || qop !== 'auth') {
      return { ok: false, stale: false, why: 'malformed digest credentials' };
    }
    if (realm !== this.realm || p['uri'] !== uri)
      return { ok: false, stale: false, why: 'realm or uri mismatch' };
    const age = this.nonceAge(nonce);
    if (age === undefined) return { ok: false, stale: false, why: 'forged nonce' };
    const h = (s: string) => createHash(HASH[alg]).update(s).digest('hex');
    const ha1 = h(`${this.account.username}:${this.realm}:${this.account.password}`);
    const expected = h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${h(`${method}:${uri}`)}`);
    if (!equal(username, this.account.username) || !equal(response.toLowerCase(), expected)) {
      return { ok: false, stale: false, why: 'bad credentials' };
    }
    // Right password on an expired nonce: RFC 7616 §3.3 says answer stale=true so the client
    // retries with a fresh nonce without asking the user again.
    if (age > NONCE_TTL_MS) return { ok: false, stale: true, why: 'stale nonce' };
    const count = parseInt(nc, 16);
    if (!(count > (this.counts.get(nonce) ?? 0)))
      return { ok: false, stale: false, why: 'replayed nonce-count' };
    this.counts.set(nonce, count);
    if (this.counts.size > 10_000) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    return { ok: true, username: this.account.username };
  }

  private newNonce(): string {
    const issued = this.now().toString(36);
    const salt = randomBytes(8).toString('hex');
    return `${issued}.${salt}.${this.mac(`${issued}.${salt}`)}`;
  }

  /** Milliseconds since the nonce was issued, or undefined if we did not issue it. */
  private nonceAge(nonce: string): number | undefined {
    const parts = nonce.split('.');
    if (parts.length !== 3) return undefined;
    const [issued, salt, mac] = parts as [string, string, string];
    if (!equal(mac, this.mac(`${issued}.${salt}`))) return undefined;
    return this.now() - parseInt(issued, 36);
  }

  private mac(s: string): string {
    return createHmac('sha256', this.key).update(s).digest('base64url');
  }
}
