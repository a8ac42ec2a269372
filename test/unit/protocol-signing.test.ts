import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../protocol/canonical.js';
import {
  createIncidentRequest,
  signIncident,
  type IncidentRequest,
  type SignedIncident,
} from '../../protocol/incident.js';
import { verifyIncident, type VerifyIncidentOptions } from '../../protocol/incident-verify.js';
import {
  SIGNING_DOMAINS,
  exportPrivateKeyPem,
  exportPrivateKeyRaw,
  exportPublicKeyPem,
  exportPublicKeyRaw,
  generateSigningKeyPair,
  importPrivateKeyPem,
  importPrivateKeyRaw,
  importPublicKeyPem,
  importPublicKeyRaw,
  keyIdOf,
  publicKeyOf,
  signCanonical,
  signBytes,
  verifyBytes,
  verifyCanonical,
} from '../../protocol/signing.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2025, 5, 1, 18, 0, 0);
const rtcc = generateSigningKeyPair();
const WASHINGTON_MONUMENT = { lat: 38.8895, lon: -77.0353 };

function request(overrides: Partial<IncidentRequest> = {}): IncidentRequest {
  const base = createIncidentRequest(
    {
      caseNumber: 'CCN 25-081234',
      reason: 'Armed robbery reported at 17:20 near 15th St NW',
      area: { kind: 'circle', center: WASHINGTON_MONUMENT, radiusM: 500 },
      from: NOW - 2 * HOUR,
      to: NOW - HOUR,
      issuer: 'DC RTCC',
    },
    { now: NOW },
  );
  return { ...base, ...overrides };
}

function options(overrides: Partial<VerifyIncidentOptions> = {}): VerifyIncidentOptions {
  return { now: NOW + MIN, seenNonce: () => false, ...overrides };
}

function reason(signed: unknown, opts = options()) {
  const verdict = verifyIncident(signed, rtcc.publicKey, opts);
  return verdict.ok ? 'ok' : verdict.reason;
}

describe('Ed25519 keys', () => {
  it('round-trips raw base64url and PEM keys, and keeps the key id', () => {
    const rawPub = exportPublicKeyRaw(rtcc.publicKey);
    expect(rawPub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(exportPublicKeyRaw(importPublicKeyRaw(rawPub))).toBe(rawPub);
    const rawPriv = exportPrivateKeyRaw(rtcc.privateKey);
    expect(exportPublicKeyRaw(publicKeyOf(importPrivateKeyRaw(rawPriv)))).toBe(rawPub);
    expect(exportPublicKeyRaw(importPublicKeyPem(exportPublicKeyPem(rtcc.publicKey)))).toBe(rawPub);
    expect(exportPrivateKeyRaw(importPrivateKeyPem(exportPrivateKeyPem(rtcc.privateKey)))).toBe(rawPriv);
    expect(keyIdOf(rtcc.publicKey)).toBe(keyIdOf(rtcc.privateKey));
    expect(keyIdOf(rtcc.publicKey)).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('rejects keys of the wrong size or type', () => {
    expect(() => importPublicKeyRaw('AAAA')).toThrow(/32 bytes/);
    expect(() => importPrivateKeyRaw(Buffer.alloc(31).toString('base64url'))).toThrow(/32 bytes/);
    expect(() => exportPublicKeyRaw(rtcc.privateKey)).toThrow(/public/);
  });

  it('matches RFC 8032 §7.1 test 1 (empty message), so raw seeds import as plain Ed25519', () => {
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const key = importPrivateKeyRaw(seed.toString('base64url'));
    expect(Buffer.from(exportPublicKeyRaw(publicKeyOf(key)), 'base64url').toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    const sig = sign(null, Buffer.alloc(0), key).toString('hex');
    expect(sig).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
        '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });
});

describe('canonical signatures', () => {
  it('verify whatever the key order, and fail on any change', () => {
    const doc = { b: 2, a: { y: [1, 2], x: 'é' } };
    const sig = signCanonical(SIGNING_DOMAINS.evidenceManifest, doc, rtcc.privateKey);
    const reordered = JSON.parse('{"a":{"x":"é","y":[1,2]},"b":2}') as unknown;
    expect(verifyCanonical(SIGNING_DOMAINS.evidenceManifest, reordered, sig, rtcc.publicKey)).toBe(true);
    expect(verifyCanonical(SIGNING_DOMAINS.evidenceManifest, { ...doc, b: 3 }, sig, rtcc.publicKey)).toBe(
      false,
    );
  });

  it('are bound to their domain: a QR signature is not an incident signature', () => {
    const doc = { hello: 'world' };
    const sig = signCanonical(SIGNING_DOMAINS.enrollment, doc, rtcc.privateKey);
    expect(verifyCanonical(SIGNING_DOMAINS.incident, doc, sig, rtcc.publicKey)).toBe(false);
    const bytes = Buffer.from('compact-qr-payload');
    const bsig = signBytes(SIGNING_DOMAINS.enrollment, bytes, rtcc.privateKey);
    expect(verifyBytes(SIGNING_DOMAINS.enrollment, bytes, bsig, rtcc.publicKey)).toBe(true);
    expect(verifyBytes(SIGNING_DOMAINS.evidenceManifest, bytes, bsig, rtcc.publicKey)).toBe(false);
  });

  it('fail with another key, a mangled signature or a non-JSON value, without throwing', () => {
    const other = generateSigningKeyPair();
    const sig = signCanonical(SIGNING_DOMAINS.incident, { a: 1 }, rtcc.privateKey);
    expect(verifyCanonical(SIGNING_DOMAINS.incident, { a: 1 }, sig, other.publicKey)).toBe(false);
    expect(verifyCanonical(SIGNING_DOMAINS.incident, { a: 1 }, { ...sig, sig: 'x' }, rtcc.publicKey)).toBe(
      false,
    );
    expect(verifyCanonical(SIGNING_DOMAINS.incident, { a: Number.NaN }, sig, rtcc.publicKey)).toBe(false);
  });
});

describe('verifyIncident', () => {
  const signed = (r = request()) => signIncident(r, rtcc.privateKey);

  it('accepts a fresh, authentic request within limits and returns it', () => {
    const s = signed();
    const verdict = verifyIncident(s, rtcc.publicKey, options());
    expect(verdict).toEqual({ ok: true, request: s.request, keyId: keyIdOf(rtcc.publicKey) });
  });

  it('survives a JSON round trip with reordered keys (what MQTT delivers)', () => {
    const s = signed();
    const reordered = JSON.parse(
      JSON.stringify({ signature: s.signature, request: { ...s.request } }),
    ) as unknown;
    expect(reason(reordered)).toBe('ok');
    expect(canonicalize((reordered as SignedIncident).request)).toBe(canonicalize(s.request));
  });

  it.each([
    ['caseNumber', { caseNumber: 'CCN 25-999999' }],
    ['radius', { area: { kind: 'circle', center: WASHINGTON_MONUMENT, radiusM: 501 } }],
    ['window start', { from: NOW - 3 * HOUR }],
    ['expiry', { expiresAt: NOW + 5 * HOUR }],
    ['nonce', { nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }],
  ] as const)('reports bad-signature when %s is tampered with', (_field, change) => {
    const s = signed();
    expect(reason({ ...s, request: { ...s.request, ...change } })).toBe('bad-signature');
  });

  it('reports bad-signature for a forged request signed by another key', () => {
    const mallory = generateSigningKeyPair();
    expect(reason(signIncident(request(), mallory.privateKey))).toBe('bad-signature');
    // Even when it claims the RTCC's key id.
    const forged = signIncident(request(), mallory.privateKey);
    forged.signature.keyId = keyIdOf(rtcc.publicKey);
    expect(reason(forged)).toBe('bad-signature');
  });

  it('picks the right key from a rotated set', () => {
    const next = generateSigningKeyPair();
    const s = signIncident(request(), next.privateKey);
    expect(verifyIncident(s, [rtcc.publicKey, next.publicKey], options()).ok).toBe(true);
  });

  it('reports expired and not-yet-valid, with the skew allowance', () => {
    const r = request({ issuedAt: NOW, expiresAt: NOW + HOUR });
    expect(reason(signed(r), options({ now: NOW + HOUR + 3 * MIN }))).toBe('expired');
    expect(reason(signed(r), options({ now: NOW + HOUR + MIN }))).toBe('ok'); // within 2 min skew
    expect(reason(signed(r), options({ now: NOW - 3 * MIN }))).toBe('not-yet-valid');
    expect(reason(signed(r), options({ now: NOW - MIN }))).toBe('ok');
  });

  it('reports replayed only for an authentic request whose nonce was seen', () => {
    const s = signed();
    const seen = new Set([s.request.nonce]);
    let asked = 0;
    const seenNonce = (n: string) => {
      asked++;
      return seen.has(n);
    };
    expect(reason(s, options({ seenNonce }))).toBe('replayed');
    const forged = { ...s, request: { ...s.request, caseNumber: 'other' } };
    asked = 0;
    expect(reason(forged, options({ seenNonce }))).toBe('bad-signature');
    expect(asked).toBe(0);
  });

  it('enforces the radius limit on circles and on polygons (enclosing circle)', () => {
    const big = request({ area: { kind: 'circle', center: WASHINGTON_MONUMENT, radiusM: 801 } });
    expect(reason(signed(big))).toBe('radius-over-limit');
    expect(reason(signed(big), options({ maxRadiusM: 1000 }))).toBe('ok');
    // A 2 km-long strip of the National Mall: far over 800 m though it is narrow.
    const strip = request({
      area: {
        kind: 'polygon',
        points: [
          { lat: 38.8915, lon: -77.05 },
          { lat: 38.8915, lon: -77.027 },
          { lat: 38.8875, lon: -77.027 },
          { lat: 38.8875, lon: -77.05 },
        ],
      },
    });
    expect(reason(signed(strip))).toBe('radius-over-limit');
  });

  it('enforces the window limit and refuses windows in the future', () => {
    expect(reason(signed(request({ from: NOW - 13 * HOUR, to: NOW - 30 * MIN })))).toBe('window-over-limit');
    expect(reason(signed(request({ from: NOW - 12 * HOUR, to: NOW })))).toBe('ok');
    expect(reason(signed(request({ from: NOW, to: NOW + HOUR })))).toBe('window-in-future');
  });

  it('reports malformed for shapes that fail the schema, and never throws', () => {
    const s = signed();
    expect(reason(null)).toBe('malformed');
    expect(reason('{"request":{}}')).toBe('malformed');
    expect(reason({ ...s, request: { ...s.request, from: s.request.to } })).toBe('malformed');
    expect(reason({ ...s, request: { ...s.request, extra: 'field' } })).toBe('malformed');
    expect(reason({ ...s, signature: { ...s.signature, alg: 'RS256' } })).toBe('malformed');
    expect(
      reason({
        ...s,
        request: { ...s.request, area: { kind: 'circle', center: { lat: 91, lon: 0 }, radiusM: 10 } },
      }),
    ).toBe('malformed');
  });

  it('reports malformed when the validity period is longer than allowed (bounds the nonce store)', () => {
    const r = request({ issuedAt: NOW, expiresAt: NOW + 25 * HOUR });
    expect(reason(signed(r))).toBe('malformed');
  });

  it('refuses to sign an invalid request', () => {
    expect(() => signIncident(request({ from: NOW, to: NOW - 1 }), rtcc.privateKey)).toThrow();
  });
});
