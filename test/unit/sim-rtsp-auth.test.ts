import { describe, expect, it } from 'vitest';
import {
  Authenticator,
  digestResponse,
  NONCE_TTL_MS,
  parseAuthorization,
} from '../../simulator/rtsp/auth.js';
import { parseParams } from '../../simulator/rtsp/message.js';

const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** What a client sends back for a challenge, computed the way RFC 2617 §3.2.2 says. */
function digestHeader(
  challenge: string,
  method: string,
  uri: string,
  user: string,
  pass: string,
  withQop: boolean,
) {
  const c = parseParams(challenge.replace(/^Digest\s+/, ''), ',');
  const realm = c.get('realm')!;
  const nonce = c.get('nonce')!;
  const qop = withQop ? 'auth' : undefined;
  const nc = '00000001';
  const cnonce = 'abcdef0123456789';
  const response = digestResponse({
    username: user,
    realm,
    password: pass,
    method,
    uri,
    nonce,
    qop,
    nc,
    cnonce,
  });
  const extra = withQop ? `, qop=auth, nc=${nc}, cnonce="${cnonce}"` : '';
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}"${extra}`;
}

describe('digest computation', () => {
  it('matches the RFC 2617 §3.5 example (qop=auth)', () => {
    expect(
      digestResponse({
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('uses MD5(HA1:nonce:HA2) without qop (RFC 2069 form)', () => {
    // Expected value from an independent computation: md5(md5("u:r:p") + ":n:" + md5("DESCRIBE:rtsp://h/x")).
    const d = { username: 'u', realm: 'r', password: 'p', method: 'DESCRIBE', uri: 'rtsp://h/x', nonce: 'n' };
    expect(digestResponse(d)).toBe('d43942a69cea5a6702fa9c0d7a6b6c77');
  });
});

describe('Authorization parsing', () => {
  it('parses Basic and quoted Digest parameters (commas inside quotes kept)', () => {
    expect(parseAuthorization(basic('admin', 'pa:ss'))).toEqual({
      scheme: 'basic',
      username: 'admin',
      password: 'pa:ss',
    });
    const d = parseAuthorization('Digest username="a", uri="rtsp://h/x?a=1,b=2", nc=00000001');
    expect(d.scheme).toBe('digest');
    if (d.scheme === 'digest') expect(d.params.get('uri')).toBe('rtsp://h/x?a=1,b=2');
    expect(parseAuthorization('Bearer x').scheme).toBe('other');
  });
});

describe('Authenticator', () => {
  it('Basic: accepts the right pair only', () => {
    const a = new Authenticator({ username: 'admin', password: 'secret', mode: 'basic' });
    expect(a.challenge()).toBe('Basic realm="CamConnect"');
    expect(a.check('DESCRIBE', basic('admin', 'secret'))).toBe('ok');
    expect(a.check('DESCRIBE', basic('admin', 'wrong'))).toBe('bad');
    expect(a.check('DESCRIBE', basic('root', 'secret'))).toBe('bad');
    expect(a.check('DESCRIBE', undefined)).toBe('missing');
  });

  for (const withQop of [true, false]) {
    it(`Digest ${withQop ? 'with' : 'without'} qop: accepts the right password, rejects a wrong one`, () => {
      const a = new Authenticator({ username: 'admin', password: 'secret', mode: 'digest' });
      const ch = a.challenge();
      expect(ch).toMatch(/^Digest realm="CamConnect", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"$/);
      const uri = 'rtsp://127.0.0.1:554/cam1/main';
      expect(a.check('DESCRIBE', digestHeader(ch, 'DESCRIBE', uri, 'admin', 'secret', withQop))).toBe('ok');
      expect(a.check('DESCRIBE', digestHeader(ch, 'DESCRIBE', uri, 'admin', 'nope', withQop))).toBe('bad');
      // The method is part of the digest: a DESCRIBE response does not authorise a PLAY.
      expect(a.check('PLAY', digestHeader(ch, 'DESCRIBE', uri, 'admin', 'secret', withQop))).toBe('bad');
    });
  }

  it('can leave qop out of the challenge', () => {
    const a = new Authenticator({ username: 'u', password: 'p', mode: 'digest', digestQop: false });
    expect(a.challenge()).not.toContain('qop');
  });

  it('rejects a nonce it did not issue and marks an expired one stale', () => {
    let now = 1_000_000;
    const a = new Authenticator({ username: 'u', password: 'p', mode: 'digest' }, () => now);
    const ch = a.challenge();
    const forged = ch.replace(/nonce="([0-9a-f]{12})[0-9a-f]+"/, 'nonce="$1000000000000000000000000"');
    expect(a.check('SETUP', digestHeader(forged, 'SETUP', 'rtsp://h/c', 'u', 'p', true))).toBe('bad');
    const good = digestHeader(ch, 'SETUP', 'rtsp://h/c', 'u', 'p', true);
    expect(a.check('SETUP', good)).toBe('ok');
    now += NONCE_TTL_MS + 1;
    expect(a.check('SETUP', good)).toBe('stale');
    expect(a.challenge(true)).toContain('stale=TRUE');
    // Another server instance (another secret) does not accept this one's nonces.
    const other = new Authenticator({ username: 'u', password: 'p', mode: 'digest' }, () => 1_000_000);
    expect(other.check('SETUP', good)).toBe('bad');
  });
});
