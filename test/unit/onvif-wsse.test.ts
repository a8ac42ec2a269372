import { randomBytes } from 'node:crypto';
import onvif from 'onvif';
import { describe, expect, it } from 'vitest';
import { parseSoapRequest } from '../../simulator/onvif/soap.js';
import {
  CREATED_WINDOW_MS,
  UsernameTokenVerifier,
  passwordDigest,
  readUsernameToken,
  usernameTokenHeader,
  type UsernameToken,
} from '../../simulator/onvif/wsse.js';

const account = { username: 'admin', password: 'userpassword' };
const T0 = Date.parse('2010-09-16T07:50:45Z');

function token(
  opts: { created?: string; nonce?: Buffer; password?: string; type?: 'digest' | 'text' } = {},
): UsernameToken {
  const nonce = opts.nonce ?? randomBytes(16);
  const created = opts.created ?? new Date(T0).toISOString();
  const type = opts.type ?? 'digest';
  const pw = opts.password ?? account.password;
  return {
    username: 'admin',
    password: type === 'digest' ? passwordDigest(nonce, created, pw) : pw,
    type,
    nonce: nonce.toString('base64'),
    created,
  };
}

describe('WS-UsernameToken PasswordDigest (WSS UsernameToken Profile 1.0 §3.1)', () => {
  it('matches the worked example in the ONVIF Application Programmer’s Guide §6.1.1.3', () => {
    const nonce = Buffer.from('LKqI6G/AikKCQrN0zqZFlg==', 'base64');
    expect(passwordDigest(nonce, '2010-09-16T07:50:45Z', 'userpassword')).toBe(
      'tuOSpGlFlIXsozq4HFNeeGeFLEI=',
    );
  });

  it('agrees with the digest the onvif npm client computes itself', () => {
    const cam = new onvif.Cam({
      hostname: '127.0.0.1',
      username: 'u',
      password: 's3cret&<x>',
      autoconnect: false,
    });
    // The client's own (private) implementation: an independent computation of the same formula.
    const ref = (
      cam as unknown as { _passwordDigest(): { passdigest: string; nonce: string; timestamp: string } }
    )._passwordDigest();
    expect(passwordDigest(Buffer.from(ref.nonce, 'base64'), ref.timestamp, 's3cret&<x>')).toBe(
      ref.passdigest,
    );
  });
});

describe('UsernameTokenVerifier', () => {
  it('accepts a fresh digest and a password text token', () => {
    const v = new UsernameTokenVerifier(account, () => T0);
    expect(v.verify(token())).toEqual({ ok: true, username: 'admin' });
    expect(v.verify(token({ type: 'text' }))).toEqual({ ok: true, username: 'admin' });
  });

  it('rejects a wrong password, an unknown user and a missing token', () => {
    const v = new UsernameTokenVerifier(account, () => T0);
    expect(v.verify(token({ password: 'nope' }))).toMatchObject({ ok: false, why: 'bad-password' });
    expect(v.verify({ ...token(), username: 'root' })).toMatchObject({ ok: false, why: 'unknown-user' });
    expect(v.verify(undefined)).toMatchObject({ ok: false, why: 'no-token' });
  });

  it('rejects a Created outside ±5 minutes of the device clock, offset included', () => {
    const offset = 3600_000; // the device clock runs an hour ahead of real time
    const v = new UsernameTokenVerifier(account, () => T0 + offset);
    const at = (ms: number) => token({ created: new Date(ms).toISOString() });
    expect(v.verify(at(T0))).toMatchObject({ ok: false, why: 'stale' }); // real time: an hour off the device
    expect(v.verify(at(T0 + offset - CREATED_WINDOW_MS - 1000))).toMatchObject({ ok: false, why: 'stale' });
    expect(v.verify(at(T0 + offset + CREATED_WINDOW_MS + 1000))).toMatchObject({ ok: false, why: 'stale' });
    expect(v.verify(at(T0 + offset - CREATED_WINDOW_MS + 1000))).toMatchObject({ ok: true });
    expect(v.verify(at(T0 + offset + 60_000))).toMatchObject({ ok: true });
  });

  it('rejects a replayed nonce, but only once it was accepted', () => {
    let now = T0;
    const v = new UsernameTokenVerifier(account, () => now);
    const nonce = randomBytes(16);
    expect(v.verify(token({ nonce, password: 'wrong' }))).toMatchObject({ ok: false, why: 'bad-password' });
    const good = token({ nonce });
    expect(v.verify(good)).toMatchObject({ ok: true });
    expect(v.verify(good)).toMatchObject({ ok: false, why: 'replay' });
    now += 2 * CREATED_WINDOW_MS; // later the same header is refused as stale instead
    expect(v.verify(good)).toMatchObject({ ok: false, why: 'stale' });
  });

  it('refuses a digest without nonce or Created, which could be replayed forever', () => {
    const v = new UsernameTokenVerifier(account, () => T0);
    const { nonce: _n, ...noNonce } = token();
    const { created: _c, ...noCreated } = token();
    expect(v.verify(noNonce)).toMatchObject({ ok: false, why: 'malformed' });
    expect(v.verify(noCreated)).toMatchObject({ ok: false, why: 'malformed' });
  });
});

describe('readUsernameToken', () => {
  it('reads the token whatever the prefixes (default namespaces, as the onvif client sends)', () => {
    const nonce = Buffer.from('LKqI6G/AikKCQrN0zqZFlg==', 'base64');
    const xml =
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>' +
      '<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">' +
      '<UsernameToken><Username>admin</Username>' +
      '<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">tuOSpGlFlIXsozq4HFNeeGeFLEI=</Password>' +
      '<Nonce EncodingType="x">LKqI6G/AikKCQrN0zqZFlg==</Nonce>' +
      '<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2010-09-16T07:50:45Z</Created>' +
      '</UsernameToken></Security></s:Header><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>';
    const t = readUsernameToken(parseSoapRequest(xml).header);
    expect(t).toEqual({
      username: 'admin',
      password: 'tuOSpGlFlIXsozq4HFNeeGeFLEI=',
      type: 'digest',
      nonce: nonce.toString('base64'),
      created: '2010-09-16T07:50:45Z',
    });
    expect(new UsernameTokenVerifier(account, () => T0).verify(t)).toMatchObject({ ok: true });
  });

  it('round-trips the header we build (wsse:/wsu: prefixes) and defaults Type to text', () => {
    const nonce = randomBytes(16);
    const created = new Date(T0).toISOString();
    const xml = (header: string) =>
      `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header>${header}</e:Header><e:Body><X/></e:Body></e:Envelope>`;
    const digest = readUsernameToken(
      parseSoapRequest(xml(usernameTokenHeader('admin', 'a&b', { nonce, created }))).header,
    );
    expect(digest).toMatchObject({ type: 'digest', password: passwordDigest(nonce, created, 'a&b') });
    const noType = xml(
      '<Security><UsernameToken><Username>admin</Username><Password>a&amp;b</Password></UsernameToken></Security>',
    );
    expect(readUsernameToken(parseSoapRequest(noType).header)).toMatchObject({
      type: 'text',
      password: 'a&b',
    });
  });
});
