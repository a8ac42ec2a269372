/**
 * The enrollment QR payload, format v1: `CC1:` followed by unpadded base64url (RFC 4648 §5) of
 * a compact binary record, signed by the bridge's Ed25519 key (RFC 8032) under the enrollment
 * domain label (protocol/signing.ts).
 *
 * Why binary and not JSON: a QR code's capacity decides how dense (and how hard to scan) the
 * symbol is. JSON with field names, a base64 signature and decimal coordinates is ~330 characters
 * (QR version 13 at ECC M); this record is ~150 bytes, ~200 characters with the prefix: version
 * 10 at ECC M (57x57 modules; ISO/IEC 18004:2015 Table 7 gives 213 bytes in byte mode for 10-M),
 * which scans from a phone screen or a 3 cm printed label. ECC level M restores ~15% of damaged
 * codewords (ISO/IEC 18004 §6.5.1): enough for glare on a laminated label without growing the
 * symbol to Q's version 12.
 *
 * Layout (big-endian), `n` and `m` being UTF-8 byte lengths:
 *
 *   0    1  flags: bits 0-1 sharing policy (0 auto, 1 approve, 2 never); bits 2-7 zero
 *   1    4  expiry, Unix seconds (uint32: good until 2106)
 *   5    4  latitude, degrees x 1e7 (int32; 1e-7 degrees is ~1 cm)
 *   9    4  longitude, degrees x 1e7 (int32; 180e7 < 2^31)
 *   13  16  one-time token (128 random bits)
 *   29   1  n, then n bytes: bridge URL (at most 96 bytes)
 *   ..   1  m, then m bytes: site name (at most 48 bytes)
 *   ..  64  Ed25519 signature over ASCII("CC1:") ‖ bytes[0 .. end of site name]
 *
 * The prefix is signed too, so the signature binds the format version without spending a byte
 * on it. The address of the site is not in the QR (it is long and the device does not need it
 * to scan): the bridge keeps it with the token and returns it at enrollment.
 */
import type { KeyObject } from 'node:crypto';
import { SIGNING_DOMAINS, keyIdOf, signBytes, verifyBytes } from '../protocol/signing.js';
import { EnrollmentError } from './errors.js';

export const PAYLOAD_PREFIX = 'CC1:';
export const POLICIES = ['auto', 'approve', 'never'] as const;
export type Policy = (typeof POLICIES)[number];

export const TOKEN_BYTES = 16;
export const MAX_URL_BYTES = 96;
export const MAX_SITE_BYTES = 48;
const SIG_BYTES = 64;
const FIXED = 1 + 4 + 4 + 4 + TOKEN_BYTES;
/** Shortest possible record: empty URL and site are refused later, but parse this far. */
const MIN_BYTES = FIXED + 1 + 1 + SIG_BYTES;

export interface EnrollmentPayload {
  bridgeUrl: string;
  /** The one-time token, 16 bytes as unpadded base64url (22 characters). Secret. */
  token: string;
  site: string;
  lat: number;
  lon: number;
  policy: Policy;
  /** Epoch milliseconds, whole seconds (the wire has second resolution). */
  expiresAt: number;
}

/** A decoded payload whose signature has not been checked yet. */
export interface DecodedPayload {
  payload: EnrollmentPayload;
  /** The bytes the signature covers (prefix included). */
  signed: Buffer;
  signature: Buffer;
}

function fail(message: string): never {
  throw new EnrollmentError('malformed', message);
}

/** Checks what the encoder would refuse, with a message that names the field. */
export function validatePayloadFields(p: EnrollmentPayload): void {
  const urlBytes = Buffer.byteLength(p.bridgeUrl, 'utf8');
  const siteBytes = Buffer.byteLength(p.site, 'utf8');
  if (!/^https?:\/\/[^\s/@]+/i.test(p.bridgeUrl))
    throw new RangeError('bridge URL must be http(s):// without credentials');
  if (urlBytes > MAX_URL_BYTES)
    throw new RangeError(`bridge URL is ${urlBytes} bytes; at most ${MAX_URL_BYTES} fit the QR code`);
  if (siteBytes === 0 || siteBytes > MAX_SITE_BYTES) {
    throw new RangeError(
      `site name must be 1-${MAX_SITE_BYTES} bytes for the QR code (put details in the address)`,
    );
  }
  if (!(Math.abs(p.lat) <= 90) || !(Math.abs(p.lon) <= 180)) throw new RangeError('lat/lon out of range');
  if (!POLICIES.includes(p.policy)) throw new RangeError(`policy must be one of ${POLICIES.join(', ')}`);
  const token = Buffer.from(p.token, 'base64url');
  if (token.length !== TOKEN_BYTES || token.toString('base64url') !== p.token)
    throw new RangeError('token must be 16 bytes of base64url');
  if (!Number.isInteger(p.expiresAt / 1000) || p.expiresAt < 0 || p.expiresAt / 1000 > 0xffff_ffff) {
    throw new RangeError('expiry must be whole seconds between 1970 and 2106');
  }
}

function body(p: EnrollmentPayload): Buffer {
  validatePayloadFields(p);
  const url = Buffer.from(p.bridgeUrl, 'utf8');
  const site = Buffer.from(p.site, 'utf8');
  const out = Buffer.alloc(FIXED + 1 + url.length + 1 + site.length);
  out.writeUInt8(POLICIES.indexOf(p.policy), 0);
  out.writeUInt32BE(p.expiresAt / 1000, 1);
  out.writeInt32BE(Math.round(p.lat * 1e7), 5);
  out.writeInt32BE(Math.round(p.lon * 1e7), 9);
  Buffer.from(p.token, 'base64url').copy(out, 13);
  let o = FIXED;
  out.writeUInt8(url.length, o++);
  o += url.copy(out, o);
  out.writeUInt8(site.length, o++);
  site.copy(out, o);
  return out;
}

const signedBytes = (record: Buffer) => Buffer.concat([Buffer.from(PAYLOAD_PREFIX, 'ascii'), record]);

/** Builds and signs the payload text. Throws RangeError on a field that does not fit. */
export function encodePayload(p: EnrollmentPayload, bridgeKey: KeyObject): string {
  const record = body(p);
  const sig = Buffer.from(
    signBytes(SIGNING_DOMAINS.enrollment, signedBytes(record), bridgeKey).sig,
    'base64url',
  );
  return PAYLOAD_PREFIX + Buffer.concat([record, sig]).toString('base64url');
}

/** Parses the text without checking the signature (the key comes from the bridge it names). */
export function decodePayload(text: string): DecodedPayload {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PAYLOAD_PREFIX)) {
    if (/^CC\d+:/.test(trimmed))
      throw new EnrollmentError(
        'malformed',
        `enrollment code format ${trimmed.split(':')[0]} is not supported by this agent (it reads CC1)`,
      );
    throw new EnrollmentError(
      'not-camconnect',
      'this is not a CamConnect enrollment code (it should start with CC1:)',
    );
  }
  const b64 = trimmed.slice(PAYLOAD_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) fail('the enrollment code is damaged (characters outside base64url)');
  const bytes = Buffer.from(b64, 'base64url');
  if (bytes.length < MIN_BYTES) fail('the enrollment code is truncated');
  const flags = bytes.readUInt8(0);
  const policy = POLICIES[flags & 0b11];
  if (!policy || flags >> 2 !== 0) fail('the enrollment code has unknown flags');
  let o = FIXED;
  const urlLen = bytes.readUInt8(o++);
  if (o + urlLen + 1 + SIG_BYTES > bytes.length) fail('the enrollment code is truncated');
  const bridgeUrl = bytes.subarray(o, o + urlLen).toString('utf8');
  o += urlLen;
  const siteLen = bytes.readUInt8(o++);
  if (o + siteLen + SIG_BYTES !== bytes.length) fail('the enrollment code has the wrong length');
  const site = bytes.subarray(o, o + siteLen).toString('utf8');
  o += siteLen;
  const payload: EnrollmentPayload = {
    bridgeUrl,
    token: bytes.subarray(13, 13 + TOKEN_BYTES).toString('base64url'),
    site,
    lat: bytes.readInt32BE(5) / 1e7,
    lon: bytes.readInt32BE(9) / 1e7,
    policy,
    expiresAt: bytes.readUInt32BE(1) * 1000,
  };
  try {
    validatePayloadFields(payload);
  } catch (err) {
    fail(`the enrollment code is invalid: ${(err as Error).message}`);
  }
  return { payload, signed: signedBytes(bytes.subarray(0, o)), signature: Buffer.from(bytes.subarray(o)) };
}

/** True when the bridge key made this payload's signature (RFC 8032 §5.1.7 verification). */
export function verifyPayload(decoded: DecodedPayload, bridgeKey: KeyObject): boolean {
  const signature = {
    alg: 'Ed25519' as const,
    keyId: keyIdOf(bridgeKey),
    sig: decoded.signature.toString('base64url'),
  };
  return verifyBytes(SIGNING_DOMAINS.enrollment, decoded.signed, signature, bridgeKey);
}
