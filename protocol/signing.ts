/**
 * Ed25519 signatures (RFC 8032 §5.1, "pure" Ed25519) over RFC 8785 canonical JSON, with a
 * domain-separation label, for everything the system signs: incident requests (RTCC key),
 * evidence manifests (device key) and enrollment QR payloads (bridge key).
 *
 * Signed message = UTF-8(domain) ‖ 0x00 ‖ bytes. The label makes a signature for one
 * purpose useless for another: the bridge's key signs both incidents and QR payloads, and
 * without it a QR signature could be replayed as an incident whose JSON happens to parse.
 *
 * Key format: raw 32-byte keys in unpadded base64url (RFC 8032 §5.1.5 public key, §5.1.5
 * secret seed): compact enough for a QR code and an MQTT credential response. PEM
 * (SPKI/PKCS #8) import and export are provided for files and other tools (`openssl`).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from './canonical.js';
import { base64url } from './schemas/common.js';

/** Labels for each kind of signed document; never reuse one for another purpose. */
export const SIGNING_DOMAINS = {
  incident: 'camconnect/v1/incident-request',
  evidenceManifest: 'camconnect/v1/evidence-manifest',
  enrollment: 'camconnect/v1/enrollment',
} as const;
export type SigningDomain = (typeof SIGNING_DOMAINS)[keyof typeof SIGNING_DOMAINS];

/** 64-byte Ed25519 signature = 86 base64url characters. */
export const SignatureValue = base64url(86, 86);
/** Key id: first 96 bits of SHA-256 over the raw public key, base64url (16 characters). */
export const KeyId = base64url(16, 16);

export const Signature = z.strictObject({
  alg: z.literal('Ed25519'),
  keyId: KeyId,
  sig: SignatureValue,
});
export type Signature = z.infer<typeof Signature>;

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKeyPair(): SigningKeyPair {
  return generateKeyPairSync('ed25519');
}

function assertEd25519(key: KeyObject, type: 'public' | 'private'): void {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== type) {
    throw new TypeError(
      `expected an Ed25519 ${type} key, got ${key.asymmetricKeyType ?? key.type} ${key.type}`,
    );
  }
}

function rawFromJwk(key: KeyObject, field: 'x' | 'd'): string {
  const jwk = key.export({ format: 'jwk' });
  const value = jwk[field];
  if (typeof value !== 'string') throw new TypeError(`key has no ${field} component`);
  return value;
}

function decodeRaw32(text: string, what: string): Buffer {
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(text) ? Buffer.from(text, 'base64url') : undefined;
  if (bytes?.length !== 32) throw new TypeError(`${what} must be 32 bytes of unpadded base64url`);
  return bytes;
}

/** Raw 32-byte public key as base64url (43 characters). */
export function exportPublicKeyRaw(key: KeyObject): string {
  assertEd25519(key, 'public');
  return rawFromJwk(key, 'x');
}

export function importPublicKeyRaw(text: string): KeyObject {
  const x = decodeRaw32(text, 'public key').toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** Raw 32-byte private seed as base64url. Secret: store it mode 0600, never log it. */
export function exportPrivateKeyRaw(key: KeyObject): string {
  assertEd25519(key, 'private');
  return rawFromJwk(key, 'd');
}

// PKCS #8 DER prefix for an Ed25519 private key (RFC 8410 §7): the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function importPrivateKeyRaw(text: string): KeyObject {
  const seed = decodeRaw32(text, 'private key');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function exportPublicKeyPem(key: KeyObject): string {
  assertEd25519(key, 'public');
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

export function importPublicKeyPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  assertEd25519(key, 'public');
  return key;
}

export function exportPrivateKeyPem(key: KeyObject): string {
  assertEd25519(key, 'private');
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function importPrivateKeyPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  assertEd25519(key, 'private');
  return key;
}

/** The public half of a private key. */
export function publicKeyOf(privateKey: KeyObject): KeyObject {
  assertEd25519(privateKey, 'private');
  return createPublicKey(privateKey);
}

/** Stable short id of a public key (for key rotation and for naming the signer). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? publicKeyOf(key) : key;
  const raw = Buffer.from(exportPublicKeyRaw(pub), 'base64url');
  return createHash('sha256').update(raw).digest().subarray(0, 12).toString('base64url');
}

function message(domain: SigningDomain, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(domain, 'utf8'), Buffer.from([0]), bytes]);
}

/** Signs raw bytes under a domain label (for compact binary payloads such as the QR code). */
export function signBytes(domain: SigningDomain, bytes: Uint8Array, privateKey: KeyObject): Signature {
  assertEd25519(privateKey, 'private');
  // Ed25519 hashes internally (RFC 8032): node takes `null` as the digest algorithm.
  const sig = cryptoSign(null, message(domain, bytes), privateKey).toString('base64url');
  return { alg: 'Ed25519', keyId: keyIdOf(privateKey), sig };
}

/**
 * Checks a signature made by signBytes. Never throws: anything malformed is `false`. The
 * key is chosen by the caller from what it trusts; the keyId must match it.
 */
export function verifyBytes(
  domain: SigningDomain,
  bytes: Uint8Array,
  signature: Signature,
  publicKey: KeyObject,
): boolean {
  const parsed = Signature.safeParse(signature);
  if (!parsed.success || publicKey.asymmetricKeyType !== 'ed25519') return false;
  if (parsed.data.keyId !== keyIdOf(publicKey)) return false;
  const sig = Buffer.from(parsed.data.sig, 'base64url');
  return sig.length === 64 && cryptoVerify(null, message(domain, bytes), publicKey, sig);
}

/** Signs the RFC 8785 canonical form of a JSON value. Throws on values that are not JSON. */
export function signCanonical(domain: SigningDomain, value: unknown, privateKey: KeyObject): Signature {
  return signBytes(domain, canonicalBytes(value), privateKey);
}

/** Verifies signCanonical's signature; `false` for anything that is not JSON or not signed so. */
export function verifyCanonical(
  domain: SigningDomain,
  value: unknown,
  signature: Signature,
  publicKey: KeyObject,
): boolean {
  let bytes: Buffer;
  try {
    bytes = canonicalBytes(value);
  } catch (error) {
    // A value that cannot be canonicalized cannot carry a valid signature.
    if (error instanceof TypeError) return false;
    throw error;
  }
  return verifyBytes(domain, bytes, signature, publicKey);
}

/** Picks the trusted key whose id the signature names (supports key rotation). */
export function findKey(keys: KeyObject | readonly KeyObject[], keyId: string): KeyObject | undefined {
  const list = Array.isArray(keys) ? (keys as readonly KeyObject[]) : [keys as KeyObject];
  return list.find((k) => keyIdOf(k) === keyId);
}
