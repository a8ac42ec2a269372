/**
 * Evidence manifests (agent → bridge, over the tus upload, not MQTT) and the bridge's receipt.
 *
 * An evidence package is one camera's footage for one incident: the clip file(s) and a
 * manifest listing each file's name, size and SHA-256, signed with the device key (the key the
 * bridge registered at enrollment) over its RFC 8785 canonical form under the
 * `evidenceManifest` domain. The manifest also carries the SHA-256 of the exact signed
 * incident it answers, so a package cannot be moved to another incident.
 *
 * The package hash is SHA-256 over the canonical signed manifest: since the manifest lists
 * every file's hash, it commits to the whole package. The bridge's receipt names it, and
 * anyone holding the package can recompute it (`camconnect verify`).
 *
 * Added by the bridge (issue 6) as a new file; protocol/ had no manifest schema yet.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from './canonical.js';
import {
  AgentId,
  CameraId,
  CameraLocation,
  EpochMs,
  Interval,
  LatLon,
  NonNegativeInt,
  Uuid,
  Version,
  base64url,
  safeText,
} from './schemas/common.js';
import { Sha256Hex } from './schemas/requests.js';
import { SIGNING_DOMAINS, Signature, signCanonical, verifyCanonical } from './signing.js';
import type { SignedIncident } from './incident.js';

/** A file name inside a package: one safe path segment (also a URL segment and object key). */
export const EvidenceFileName = z
  .string()
  .regex(/^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/, 'must be a plain file name ([A-Za-z0-9._-], not . or ..)');

export const EvidenceFile = z.strictObject({
  name: EvidenceFileName,
  bytes: NonNegativeInt,
  sha256: Sha256Hex,
  /** e.g. video/mp4, video/mp2t; the dashboard plays what the browser can. */
  contentType: safeText(100).optional(),
  /** The footage span this file holds, epoch ms. */
  from: EpochMs.optional(),
  to: EpochMs.optional(),
});
export type EvidenceFile = z.infer<typeof EvidenceFile>;

export const MAX_FILES_PER_PACKAGE = 1000;

export const EvidenceManifest = z
  .strictObject({
    v: Version,
    incidentId: Uuid,
    deviceId: AgentId,
    cameraId: CameraId,
    /** SHA-256 of the canonical SignedIncident this package answers. */
    requestSha256: Sha256Hex,
    /** The footage actually covered (may be narrower than the requested window). */
    covered: Interval,
    createdAt: EpochMs,
    files: z.array(EvidenceFile).min(1).max(MAX_FILES_PER_PACKAGE),
    // Added by the agent (issue 8). Optional, so every manifest valid before stays valid and a
    // bridge reading an older agent's package is unaffected; all of them are covered by the
    // device signature like the fields above.
    /** The RTCC's case number, copied from the signed request, for whoever holds the package. */
    caseNumber: safeText(64).optional(),
    /** The window the request asked for; `covered` says what of it the camera holds. */
    requested: Interval.optional(),
    /** Spans inside the requested window with no footage (camera down, agent stopped, evicted). */
    gaps: z.array(Interval).max(1000).optional(),
    /** Where the site and the camera are installed (the basis of the geofence decision). */
    deviceLocation: LatLon.optional(),
    cameraLocation: CameraLocation.optional(),
    /** The agent software that made the package, e.g. `camconnect-edge 0.1.0`. */
    software: safeText(64).optional(),
    /**
     * The device's raw Ed25519 public key (RFC 8032 §5.1.5, base64url), so the package can be
     * checked offline. It proves integrity, not identity: compare its key id with the key the
     * bridge registered for the device (`camconnect verify --device-key`).
     */
    devicePublicKey: base64url(43, 43).optional(),
  })
  .refine((m) => new Set(m.files.map((f) => f.name)).size === m.files.length, {
    message: 'file names must be unique',
    path: ['files'],
  });
export type EvidenceManifest = z.infer<typeof EvidenceManifest>;

export const SignedEvidenceManifest = z.strictObject({ manifest: EvidenceManifest, signature: Signature });
export type SignedEvidenceManifest = z.infer<typeof SignedEvidenceManifest>;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a signed incident's canonical form (what a manifest's requestSha256 names). */
export function incidentSha256(signed: SignedIncident): string {
  return sha256Hex(canonicalBytes(signed));
}

/** Signs a manifest with the device key (validating it first). */
export function signEvidenceManifest(
  manifest: EvidenceManifest,
  deviceKey: KeyObject,
): SignedEvidenceManifest {
  const valid = EvidenceManifest.parse(manifest);
  return { manifest: valid, signature: signCanonical(SIGNING_DOMAINS.evidenceManifest, valid, deviceKey) };
}

/** Checks the device signature; false for anything malformed. Never throws. */
export function verifyEvidenceManifest(signed: SignedEvidenceManifest, devicePublicKey: KeyObject): boolean {
  return verifyCanonical(
    SIGNING_DOMAINS.evidenceManifest,
    signed.manifest,
    signed.signature,
    devicePublicKey,
  );
}

/** The package hash: SHA-256 over the canonical signed manifest (which lists every file's hash). */
export function packageSha256(signed: SignedEvidenceManifest): string {
  return sha256Hex(canonicalBytes(signed));
}

/** What the bridge stores beside a package and returns from the API. */
export const EvidenceReceipt = z.strictObject({
  v: Version,
  incidentId: Uuid,
  deviceId: AgentId,
  cameraId: CameraId,
  status: z.enum(['verified', 'rejected']),
  packageSha256: Sha256Hex,
  /** When the last byte arrived, and when the checks finished (bridge clock). */
  receivedAt: EpochMs,
  checkedAt: EpochMs,
  files: z.array(z.strictObject({ name: EvidenceFileName, bytes: NonNegativeInt, sha256: Sha256Hex })),
  signatureValid: z.boolean(),
  detail: safeText(300).optional(),
  /** The bridge that received it (its RTCC key id). */
  receiver: safeText(128),
});
export type EvidenceReceipt = z.infer<typeof EvidenceReceipt>;
