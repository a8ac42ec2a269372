/**
 * The device side of enrollment: QR payload in, enrolled state out.
 *
 *   1. parse the payload (prefix, layout) and check its expiry on the device's clock
 *   2. check the bridge it names: the one this device was told to expect (if any), over HTTPS
 *      unless on loopback (the token and the MQTT password travel in these bodies)
 *   3. make sure the state can be written later, before the one-time token is spent
 *   4. fetch the bridge's public key from that URL and verify the payload's signature with it
 *      (a tampered payload, or one signed by another bridge, stops here)
 *   5. generate the device's Ed25519 key pair (RFC 8032); the private key never leaves the box
 *   6. POST the token, the public key and a proof of possession to the bridge
 *   7. write the state file, atomically, mode 0600, only now that the bridge confirmed
 *
 * Trust: the QR code is the root of trust (whoever holds the label chooses the bridge; that is
 * what a technician's enrollment means). `expectBridge` pins the bridge for fleets preconfigured
 * at the factory. The bridge enforces expiry and single use authoritatively; the device's check
 * allows 5 minutes of clock skew and exists to give a clear message without a network round trip.
 *
 * Every failure before step 7 leaves nothing on disk, and every failure before step 6 leaves
 * the token unspent, so enrolling again works. A failure between 6 and 7 (the answer is lost
 * or the disk fills) leaves a device registered on the bridge that nobody holds the keys of:
 * the operator revokes it and issues a new code; step 3 makes the disk case unlikely.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  exportPrivateKeyRaw,
  exportPublicKeyRaw,
  importPublicKeyRaw,
  keyIdOf,
  signCanonical,
  SIGNING_DOMAINS,
} from '../protocol/signing.js';
import {
  assertStateWritable,
  enrolledStatePath,
  loadEnrolledState,
  writeEnrolledState,
  type EnrolledState,
} from './agent-state.js';
import { PROOF_PURPOSE } from './api.js';
import { enrollDevice, fetchBridgeKey } from './bridge-client.js';
import { EnrollmentError } from './errors.js';
import { decodePayload, verifyPayload, type EnrollmentPayload } from './payload.js';

export const CLOCK_SKEW_MS = 5 * 60_000;

export interface EnrollOptions {
  /** The QR code's text (`CC1:...`). */
  payloadText: string;
  /** The agent's data folder; the state goes to `<dataDir>/enrollment.json`. */
  dataDir: string;
  /** Refuse a code that names any other bridge (compared as URL origin + path). */
  expectBridge?: string;
  /** Allow http:// to a non-loopback bridge (labs only). */
  allowInsecureHttp?: boolean;
  /** Replace an existing enrollment. */
  force?: boolean;
  agentVersion?: string;
  now?: () => number;
  timeoutMs?: number;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function sameBridge(a: string, b: string): boolean {
  const norm = (s: string) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch (err) {
      throw new EnrollmentError(
        'wrong-bridge',
        `the expected bridge "${s}" is not a URL (${(err as Error).name})`,
      );
    }
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`.toLowerCase();
  };
  return norm(a) === norm(b);
}

/** Steps 1-2: what can be checked without the network. Returns the parsed payload. */
export function checkPayloadOffline(
  text: string,
  o: Pick<EnrollOptions, 'expectBridge' | 'allowInsecureHttp' | 'now'> = {},
) {
  const decoded = decodePayload(text);
  const p = decoded.payload;
  const now = (o.now ?? Date.now)();
  if (now > p.expiresAt + CLOCK_SKEW_MS) {
    throw new EnrollmentError(
      'expired',
      `this enrollment code expired at ${new Date(p.expiresAt).toISOString()}; ask the RTCC for a new one`,
    );
  }
  let url: URL;
  try {
    url = new URL(p.bridgeUrl);
  } catch (err) {
    throw new EnrollmentError(
      'malformed',
      `the enrollment code names an invalid bridge URL (${(err as Error).name})`,
    );
  }
  if (o.expectBridge && !sameBridge(p.bridgeUrl, o.expectBridge)) {
    throw new EnrollmentError(
      'wrong-bridge',
      `this enrollment code is for the bridge at ${p.bridgeUrl}, not ${o.expectBridge}`,
    );
  }
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname) && !o.allowInsecureHttp) {
    throw new EnrollmentError(
      'insecure-bridge',
      `the bridge URL ${p.bridgeUrl} is plain http: enrollment needs https (or --allow-http in a lab)`,
    );
  }
  return decoded;
}

export async function enrollAgent(o: EnrollOptions): Promise<EnrolledState> {
  const now = o.now ?? Date.now;
  const file = enrolledStatePath(o.dataDir);
  const existing = await loadEnrolledState(file);
  if (existing && !o.force) {
    throw new EnrollmentError(
      'already-enrolled',
      `this device is already enrolled as ${existing.agentId} with ${existing.bridge.url}; use --force to enroll again (ask the RTCC to revoke the old identity)`,
    );
  }
  const decoded = checkPayloadOffline(o.payloadText, o);
  const p: EnrollmentPayload = decoded.payload;
  try {
    await assertStateWritable(file);
  } catch (err) {
    throw new EnrollmentError(
      'state',
      `cannot write the enrollment state in ${o.dataDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }

  const call = { timeoutMs: o.timeoutMs ?? 30_000 };
  const key = await fetchBridgeKey(p.bridgeUrl, call);
  const bridgeKey = importPublicKeyRaw(key.publicKey);
  if (key.keyId !== keyIdOf(bridgeKey) || !verifyPayload(decoded, bridgeKey)) {
    throw new EnrollmentError(
      'bad-signature',
      `the enrollment code was not signed by the bridge at ${p.bridgeUrl}: it was altered, or it comes from another bridge`,
    );
  }

  const device = generateKeyPairSync('ed25519');
  const publicKey = exportPublicKeyRaw(device.publicKey);
  const proof = signCanonical(
    SIGNING_DOMAINS.enrollment,
    { purpose: PROOF_PURPOSE, token: p.token, publicKey },
    device.privateKey,
  ).sig;
  const answer = await enrollDevice(
    p.bridgeUrl,
    { v: 1, token: p.token, publicKey, proof, ...(o.agentVersion ? { agentVersion: o.agentVersion } : {}) },
    call,
  );
  if (answer.rtcc.publicKey !== key.publicKey) {
    throw new EnrollmentError(
      'bad-signature',
      'the bridge enrolled this device with a different RTCC key than the one that signed the code; not saving it',
    );
  }

  const state: EnrolledState = {
    version: 1,
    agentId: answer.agentId,
    enrolledAt: now(),
    bridge: { url: p.bridgeUrl, rtccPublicKey: answer.rtcc.publicKey, rtccKeyId: answer.rtcc.keyId },
    site: answer.site,
    device: { publicKey, privateKey: exportPrivateKeyRaw(device.privateKey) },
    mqtt: {
      url: answer.mqtt.url,
      username: answer.mqtt.username,
      password: answer.mqtt.password,
      clientId: answer.mqtt.clientId,
      ...(answer.mqtt.caPem ? { caPem: answer.mqtt.caPem } : {}),
    },
  };
  try {
    await writeEnrolledState(file, state);
  } catch (err) {
    throw new EnrollmentError(
      'state',
      `the bridge enrolled this device as ${answer.agentId}, but the state could not be saved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ask the RTCC to revoke ${answer.agentId} and issue a new code`,
    );
  }
  return state;
}
