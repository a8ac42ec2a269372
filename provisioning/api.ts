/**
 * The enrollment HTTP contract between `camconnect provision` / `camconnect agent enroll` and
 * the bridge, as zod schemas both sides validate with (the bridge's OpenAPI document is
 * generated from them too).
 *
 *   POST /api/enrollment-tokens   (operator)  EnrollmentTokenRequest  -> EnrollmentTokenResponse
 *   POST /api/enroll              (the one-time token is the credential) EnrollRequest -> EnrollResponse
 *   POST /api/devices/{id}/revoke (operator)  -> RevokeResponse
 */
import { z } from 'zod';
import { AgentId, Latitude, Longitude, safeText } from '../protocol/schemas/common.js';
import { KeyId, SignatureValue } from '../protocol/signing.js';
import { MAX_SITE_BYTES, MAX_URL_BYTES, POLICIES } from './payload.js';

export const ENROLL_PATH = '/api/enroll';
export const TOKENS_PATH = '/api/enrollment-tokens';
export const revokePath = (agentId: string) => `/api/devices/${encodeURIComponent(agentId)}/revoke`;
/** What the device signs with its new key to prove it holds it (see EnrollRequest.proof). */
export const PROOF_PURPOSE = 'camconnect-enroll-request';

const utf8Max = (max: number) => (s: string) => Buffer.byteLength(s, 'utf8') <= max;
const RawKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a raw 32-byte key in unpadded base64url');
const Policy = z.enum(POLICIES);

export const EnrollmentTokenRequest = z.strictObject({
  site: safeText(200).refine(utf8Max(MAX_SITE_BYTES), {
    message: `must be at most ${MAX_SITE_BYTES} bytes to fit the QR code`,
  }),
  address: safeText(500).optional(),
  lat: Latitude,
  lon: Longitude,
  policy: Policy,
  /** The URL devices reach the bridge at (what the QR names); the bridge's configured public URL wins. */
  bridgeUrl: z
    .url({ protocol: /^https?$/ })
    .refine(utf8Max(MAX_URL_BYTES), { message: `must be at most ${MAX_URL_BYTES} bytes to fit the QR code` })
    .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), { message: 'must not contain credentials' })
    .optional(),
  /** Token lifetime; 24 h by default, at most 7 days (a short-lived secret). */
  ttlHours: z.number().positive().max(168).optional(),
});
export type EnrollmentTokenRequest = z.infer<typeof EnrollmentTokenRequest>;

export const EnrollmentTokenResponse = z.object({
  /** Id of the token row (for the audit trail); not the token. */
  id: z.string(),
  /** The signed QR payload text (`CC1:...`). Holds the token: show it as a QR code, never log it. */
  payload: z.string(),
  expiresAt: z.int(),
  bridgeUrl: z.string(),
});
export type EnrollmentTokenResponse = z.infer<typeof EnrollmentTokenResponse>;

export const EnrollRequest = z.strictObject({
  v: z.literal(1),
  /** The 16-byte one-time token from the QR, base64url. */
  token: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be the 22-character token from the QR code'),
  /** The device's new Ed25519 public key (raw, base64url). */
  publicKey: RawKey,
  /**
   * Ed25519 signature by the device key over the canonical JSON {purpose, token, publicKey}
   * (enrollment domain): the bridge registers only a key whose private half the caller holds,
   * so nobody can enroll a device under someone else's public key.
   */
  proof: SignatureValue,
  agentVersion: safeText(64).optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z.object({
  agentId: AgentId,
  mqtt: z.object({
    url: z.string(),
    username: z.string(),
    /** Returned once; the bridge keeps only a hash (embedded broker) or gave it to Mosquitto. */
    password: z.string(),
    clientId: AgentId,
    caPem: z.string().optional(),
  }),
  rtcc: z.object({ alg: z.literal('Ed25519'), publicKey: RawKey, keyId: KeyId }),
  site: z.object({
    name: z.string(),
    address: z.string().nullable(),
    lat: z.number(),
    lon: z.number(),
    policy: Policy,
  }),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

export const RevokeResponse = z.object({
  agentId: AgentId,
  revokedAt: z.int(),
  /** Connections the embedded broker closed; Mosquitto disconnects by itself (dynsec deleteClient). */
  disconnected: z.int(),
  broker: z.enum(['embedded', 'dynsec', 'none']),
});
export type RevokeResponse = z.infer<typeof RevokeResponse>;

export const RtccKeyResponse = z.object({ alg: z.literal('Ed25519'), publicKey: RawKey, keyId: KeyId });
