import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HttpAuthenticator, NONCE_TTL_MS, parseAuthParams } from '../../simulator/onvif/http-auth.js';

const account = { username: 'admin', password: 'pw' };

/** An RFC 7616 §3.4.1 client, written out independently of the server code. */
function digestHeader(
  challenge: string,
  opts: { method: string; uri: string; nc: number; password?: string; username?: string },
): string {
  const c = parseAuthParams(challenge.replace(/^Digest\s+/i, ''));
  const alg = c['algorithm'] === 'SHA-256' ? 'sha256' : 'md5';
  const h = (s: string) => createHash(alg).update(s).digest('hex');
  const nc = opts.nc.toString(16).padStart(8, '0');
  const cnonce = 'abcdef0123456789';
  const ha1 = h(`${opts.username ?? 'admin'}:${c['realm']}:${opts.password ?? account.password}`);
  const response = h(`${ha1}:${c['nonce']}:${nc}:${cnonce}:auth:${h(`${opts.method}:${opts.uri}`)}`);
  return (
    `Digest username="${opts.username ?? 'admin'}", realm="${c['realm']}", nonce="${c['nonce']}", uri="${opts.uri}", ` +
    `algorithm=${c['algorithm']}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`
  );
}

describe('HTTP Digest (RFC 7616) and Basic (RFC 7617)', () => {
  it('offers SHA-256 then MD5, plus Basic when asked', () => {
    const a = new HttpAuthenticator(account, 'cam');
    const ch = a.challenges({ basic: true });
    expect(ch[0]).toMatch(/^Digest realm="cam", qop="auth", algorithm=SHA-256, nonce="[^"]+"$/);
    expect(ch[1]).toMatch(/algorithm=MD5/);
    expect(ch[2]).toMatch(/^Basic realm="cam"/);
  });

  it('accepts a correct digest in both algorithms and rejects a wrong password or uri', () => {
    const a = new HttpAuthenticator(account, 'cam');
    // Both challenges carry the same nonce, so the nonce-count keeps growing across them.
    for (const [i, ch] of a.challenges().slice(0, 2).entries()) {
      const nc = 10 * i + 1;
      expect(
        a.verify(
          digestHeader(ch, { method: 'GET', uri: '/onvif/snapshot.jpg', nc }),
          'GET',
          '/onvif/snapshot.jpg',
        ),
      ).toEqual({ ok: true, username: 'admin' });
      const wrong = digestHeader(ch, {
        method: 'GET',
        uri: '/onvif/snapshot.jpg',
        nc: nc + 1,
        password: 'x',
      });
      expect(a.verify(wrong, 'GET', '/onvif/snapshot.jpg')).toMatchObject({ ok: false, stale: false });
      const other = digestHeader(ch, { method: 'GET', uri: '/other', nc: nc + 2 });
      expect(a.verify(other, 'GET', '/onvif/snapshot.jpg')).toMatchObject({ ok: false });
    }
  });

  it('refuses a replayed nonce-count and a nonce it did not issue', () => {
    const a = new HttpAuthenticator(account, 'cam');
    const ch = a.challenges()[0]!;
    const first = digestHeader(ch, { method: 'POST', uri: '/x', nc: 1 });
    expect(a.verify(first, 'POST', '/x').ok).toBe(true);
    expect(a.verify(first, 'POST', '/x')).toMatchObject({ ok: false, why: 'replayed nonce-count' });
    expect(a.verify(digestHeader(ch, { method: 'POST', uri: '/x', nc: 2 }), 'POST', '/x').ok).toBe(true);
    const forged = digestHeader(ch.replace(/nonce="[^"]+"/, 'nonce="1.2.3"'), {
      method: 'POST',
      uri: '/x',
      nc: 1,
    });
    expect(a.verify(forged, 'POST', '/x')).toMatchObject({ ok: false, why: 'forged nonce' });
  });

  it('marks an expired nonce stale so the client can retry without asking the user', () => {
    let now = 1_000_000;
    const a = new HttpAuthenticator(account, 'cam', () => now);
    const ch = a.challenges()[0]!;
    now += NONCE_TTL_MS + 1;
    expect(a.verify(digestHeader(ch, { method: 'GET', uri: '/s', nc: 1 }), 'GET', '/s')).toMatchObject({
      ok: false,
      stale: true,
    });
  });

  it('takes Basic only where allowed', () => {
    const a = new HttpAuthenticator(account, 'cam');
    const basic = `Basic ${Buffer.from('admin:pw').toString('base64')}`;
    expect(a.verify(basic, 'GET', '/s', { basic: true }).ok).toBe(true);
    expect(a.verify(basic, 'GET', '/s').ok).toBe(false);
    expect(
      a.verify(`Basic ${Buffer.from('admin:no').toString('base64')}`, 'GET', '/s', { basic: true }).ok,
    ).toBe(false);
    expect(a.verify(undefined, 'GET', '/s')).toMatchObject({ ok: false, why: 'no-credentials' });
  });

  it('parses quoted, escaped and bare auth-params', () => {
    expect(parseAuthParams('realm="a, b", qop=auth, nc=00000001, x="q\\"d"')).toEqual({
      realm: 'a, b',
      qop: 'auth',
      nc: '00000001',
      x: 'q"d',
    });
  });
});
