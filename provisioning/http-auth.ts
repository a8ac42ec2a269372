/**
 * GET with HTTP authentication, for camera snapshot URIs: Digest (RFC 7616; MD5 or SHA-256,
 * qop=auth) preferred, Basic (RFC 7617) only when the camera offers nothing else. ONVIF Core
 * §5.12 has devices protect HTTP with Digest; some cameras serve snapshots with Basic only.
 *
 * The password is used to compute the Authorization header and nowhere else: errors name the
 * status code and the scheme, never the credentials or the header.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Credentials {
  username: string;
  password: string;
}

interface Challenge {
  scheme: 'digest' | 'basic';
  params: Record<string, string>;
}

/** Splits a WWW-Authenticate value (several challenges may be comma-joined) into challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const starts = [...header.matchAll(/(?:^|,)\s*(Digest|Basic)\s+/gi)];
  starts.forEach((m, i) => {
    const from = (m.index ?? 0) + m[0].length;
    const to = starts[i + 1]?.index ?? header.length;
    const params: Record<string, string> = {};
    for (const p of header
      .slice(from, to)
      .matchAll(/([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    }
    out.push({ scheme: m[1]!.toLowerCase() as Challenge['scheme'], params });
  });
  return out;
}

const HASHES: Record<string, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

/** The Authorization header for a Digest challenge (RFC 7616 §3.4.1, qop=auth, nc=1). */
export function digestAuthorization(
  c: Record<string, string>,
  creds: Credentials,
  method: string,
  uri: string,
): string {
  const algorithm = (c['algorithm'] ?? 'MD5').toUpperCase();
  const alg = HASHES[algorithm];
  if (!alg) throw new Error(`the camera asks for Digest algorithm ${algorithm}, which is not supported`);
  const h = (s: string) => createHash(alg).update(s).digest('hex');
  const realm = c['realm'] ?? '';
  const nonce = c['nonce'] ?? '';
  const qops = (c['qop'] ?? '').split(',').map((q) => q.trim());
  const ha1 = h(`${creds.username}:${realm}:${creds.password}`);
  const ha2 = h(`${method}:${uri}`);
  const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(creds.username)}`,
    `realm=${q(realm)}`,
    `nonce=${q(nonce)}`,
    `uri=${q(uri)}`,
    `algorithm=${algorithm}`,
  ];
  if (qops.includes('auth')) {
    const nc = '00000001';
    const cnonce = randomBytes(12).toString('hex');
    parts.push(
      `qop=auth`,
      `nc=${nc}`,
      `cnonce=${q(cnonce)}`,
      `response=${q(h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`))}`,
    );
  } else {
    // RFC 2069 compatibility (no qop), still met on older cameras.
    parts.push(`response=${q(h(`${ha1}:${nonce}:${ha2}`))}`);
  }
  if (c['opaque'] !== undefined) parts.push(`opaque=${q(c['opaque'])}`);
  return `Digest ${parts.join(', ')}`;
}

export class HttpFetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpFetchError';
  }
}

async function body(res: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new HttpFetchError(`the answer is ${declared} bytes, more than ${maxBytes}`);
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > maxBytes) throw new HttpFetchError(`the answer is more than ${maxBytes} bytes`);
  return buf;
}

/**
 * GETs `url`, answering one authentication challenge. Digest is tried first; a stale nonce
 * (RFC 7616 §3.3, `stale=true`) is retried once with the fresh challenge.
 */
export async function getWithHttpAuth(
  url: string,
  creds: Credentials | undefined,
  opts: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const target = new URL(url);
  const uri = `${target.pathname}${target.search}`;
  const get = (authorization?: string) =>
    fetch(target, {
      headers: authorization ? { authorization } : {},
      redirect: 'error',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  let res = await get();
  // First 401: answer the challenge. Second 401: retry only if the nonce was stale (RFC 7616 §3.3).
  for (let attempt = 0; res.status === 401; attempt++) {
    await res.arrayBuffer(); // drain the 401 body so the connection can be reused
    if (!creds) {
      throw new HttpFetchError(
        'the camera wants a user name and password for snapshots, and none is stored for it',
        401,
      );
    }
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
    const digest = challenges.find(
      (c) => c.scheme === 'digest' && HASHES[(c.params['algorithm'] ?? 'MD5').toUpperCase()],
    );
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (attempt > 1 || (attempt === 1 && digest?.params['stale']?.toLowerCase() !== 'true')) {
      throw new HttpFetchError('the camera refused the stored user name and password (401)', 401);
    }
    if (digest) res = await get(digestAuthorization(digest.params, creds, 'GET', uri));
    else if (basic)
      res = await get(
        `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`,
      );
    else
      throw new HttpFetchError(
        'the camera offers no authentication scheme this agent speaks (Digest or Basic)',
        401,
      );
  }
  if (!res.ok) {
    await res.arrayBuffer();
    throw new HttpFetchError(`the camera answered ${res.status} ${res.statusText}`, res.status);
  }
  return body(res, maxBytes);
}
