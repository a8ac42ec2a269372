import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../protocol/signing.js';
import { EnrollmentError } from '../../provisioning/errors.js';
import {
  decodePayload,
  encodePayload,
  PAYLOAD_PREFIX,
  POLICIES,
  verifyPayload,
  type EnrollmentPayload,
} from '../../provisioning/payload.js';
import { qrInfo } from '../../provisioning/qr.js';
import { checkPayloadOffline } from '../../provisioning/enroll.js';
import { SharingPolicy } from '../../cloud-bridge/registry/devices.js';

const bridge = generateSigningKeyPair();
const sample = (over: Partial<EnrollmentPayload> = {}): EnrollmentPayload => ({
  bridgeUrl: 'https://rtcc.springfield.gov',
  token: randomBytes(16).toString('base64url'),
  site: 'Maple Court Apartments',
  lat: 39.7817213,
  lon: -89.6501481,
  policy: 'approve',
  expiresAt: Math.floor(Date.now() / 1000 + 86_400) * 1000,
  ...over,
});

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EnrollmentError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('enrollment QR payload', () => {
  it('round-trips every field and verifies with the bridge key', () => {
    const p = sample();
    const text = encodePayload(p, bridge.privateKey);
    expect(text.startsWith(PAYLOAD_PREFIX)).toBe(true);
    const decoded = decodePayload(text);
    expect(decoded.payload).toEqual(p);
    expect(verifyPayload(decoded, bridge.publicKey)).toBe(true);
  });

  it('keeps lat/lon to 1e-7 degrees and each policy', () => {
    for (const policy of POLICIES) {
      const p = sample({ policy, lat: -33.8688197, lon: 151.2092955 });
      expect(decodePayload(encodePayload(p, bridge.privateKey)).payload).toMatchObject({
        policy,
        lat: -33.8688197,
        lon: 151.2092955,
      });
    }
    expect([...POLICIES]).toEqual(SharingPolicy.options);
  });

  it('fits QR version 10 at ECC M for a typical site, and the largest allowed one stays within version 13', () => {
    const text = encodePayload(sample(), bridge.privateKey);
    // 95 fixed bytes (with the two length bytes and the signature) + 28 (URL) + 22 (site) = 145
    // bytes -> 194 base64url characters + the 4-character prefix.
    expect(text.length).toBe(4 + Math.ceil((145 * 4) / 3));
    expect(qrInfo(text)).toMatchObject({ version: 10, ecc: 'M', modules: 57 });
    const big = encodePayload(
      sample({ bridgeUrl: `https://${'r'.repeat(88)}`, site: 's'.repeat(48) }),
      bridge.privateKey,
    );
    expect(qrInfo(big).version).toBeLessThanOrEqual(13);
  });

  it('refuses fields that do not fit the QR code', () => {
    expect(() => encodePayload(sample({ site: 'x'.repeat(49) }), bridge.privateKey)).toThrow(/site name/);
    expect(() =>
      encodePayload(sample({ bridgeUrl: `https://${'a'.repeat(90)}.example` }), bridge.privateKey),
    ).toThrow(/bridge URL/);
    expect(() => encodePayload(sample({ token: 'short' }), bridge.privateKey)).toThrow(/token/);
    expect(() => encodePayload(sample({ lat: 91 }), bridge.privateKey)).toThrow(/lat/);
  });

  it('detects a change to any byte (signature) and any truncation (layout)', () => {
    const text = encodePayload(sample(), bridge.privateKey);
    const bytes = Buffer.from(text.slice(4), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] = (copy[i] ?? 0) ^ 0x01;
      const tampered = PAYLOAD_PREFIX + copy.toString('base64url');
      let ok: boolean;
      try {
        ok = verifyPayload(decodePayload(tampered), bridge.publicKey);
      } catch (err) {
        expect(err).toBeInstanceOf(EnrollmentError);
        ok = false;
      }
      expect(ok, `byte ${i}`).toBe(false);
    }
    for (const n of [0, 10, 60, bytes.length - 1]) {
      expect(reason(() => decodePayload(PAYLOAD_PREFIX + bytes.subarray(0, n).toString('base64url')))).toBe(
        'malformed',
      );
    }
  });

  it('is not verified by another bridge key (a foreign QR)', () => {
    const other = generateSigningKeyPair();
    const decoded = decodePayload(encodePayload(sample(), other.privateKey));
    expect(verifyPayload(decoded, bridge.publicKey)).toBe(false);
  });

  it('tells a non-CamConnect code and an unknown version apart', () => {
    expect(reason(() => decodePayload('https://example.com/'))).toBe('not-camconnect');
    expect(reason(() => decodePayload('WIFI:S:cafe;T:WPA;P:hunter2;;'))).toBe('not-camconnect');
    expect(reason(() => decodePayload('CC2:AAAA'))).toBe('malformed');
    expect(reason(() => decodePayload('CC1:not base64!'))).toBe('malformed');
  });

  it('checks expiry (with 5 min of skew), the expected bridge and https before any network call', () => {
    const now = Date.now();
    const expired = encodePayload(
      sample({ expiresAt: Math.floor(now / 1000 - 600) * 1000 }),
      bridge.privateKey,
    );
    expect(reason(() => checkPayloadOffline(expired, { now: () => now }))).toBe('expired');
    const justNow = encodePayload(
      sample({ expiresAt: Math.floor(now / 1000 - 60) * 1000 }),
      bridge.privateKey,
    );
    expect(reason(() => checkPayloadOffline(justNow, { now: () => now }))).toBe('ok');
    const text = encodePayload(sample(), bridge.privateKey);
    expect(reason(() => checkPayloadOffline(text, { expectBridge: 'https://rtcc.springfield.gov/' }))).toBe(
      'ok',
    );
    expect(reason(() => checkPayloadOffline(text, { expectBridge: 'https://rtcc.shelbyville.gov' }))).toBe(
      'wrong-bridge',
    );
    const plain = encodePayload(sample({ bridgeUrl: 'http://rtcc.springfield.gov' }), bridge.privateKey);
    expect(reason(() => checkPayloadOffline(plain))).toBe('insecure-bridge');
    expect(reason(() => checkPayloadOffline(plain, { allowInsecureHttp: true }))).toBe('ok');
    const loop = encodePayload(sample({ bridgeUrl: 'http://127.0.0.1:8080' }), bridge.privateKey);
    expect(reason(() => checkPayloadOffline(loop))).toBe('ok');
  });
});
