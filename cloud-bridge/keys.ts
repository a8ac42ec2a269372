/**
 * The RTCC signing key. It lives in the data folder as a PKCS#8 PEM file with mode 0600, created
 * on first start. `wx` (O_EXCL) makes creation atomic: two instances sharing a data folder cannot
 * both write a key, and the loser reads the winner's. Several instances on different hosts must
 * share the same key file (a secret mount), since agents trust one RTCC public key.
 * The private key is never logged or returned by any API; only the public key is published.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface RtccKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Raw 32-byte Ed25519 public key, unpadded base64url (the wire form). */
  publicKeyB64u: string;
  file: string;
}

export const KEY_FILE = 'rtcc-ed25519.pem';

export function loadOrCreateRtccKey(dataDir: string): RtccKey {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, KEY_FILE);
  try {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A key readable by others is a key others may have: tighten it rather than refuse to start.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x) throw new Error('could not export the RTCC public key');
  return { privateKey, publicKey, publicKeyB64u: jwk.x, file };
}
