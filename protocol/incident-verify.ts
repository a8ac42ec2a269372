/**
 * The agent's gate for incident requests. A pure function: the clock, the limits and the
 * nonce store are passed in, so every decision is testable and nothing is remembered here.
 *
 * Order matters. Shape first (cheap, and nothing else makes sense on garbage), then the
 * signature (nothing unauthenticated may influence state or be told apart by its reply),
 * then time, then limits, and the nonce last: the nonce store is only consulted for
 * authentic, current, acceptable requests, so forged traffic cannot fill or probe it. The
 * caller records the nonce when it accepts, and may forget it after expiresAt + maxSkewMs,
 * which `maxValidityMs` bounds.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { enclosingCircle } from './geofence.js';
import { SignedIncident, type IncidentRequest } from './incident.js';
import { SIGNING_DOMAINS, findKey, verifyCanonical } from './signing.js';

export const IncidentRejectReason = z.enum([
  'malformed',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'replayed',
  'radius-over-limit',
  'window-over-limit',
  'window-in-future',
]);
export type IncidentRejectReason = z.infer<typeof IncidentRejectReason>;

export interface VerifyIncidentOptions {
  /** The verifier's wall clock, epoch ms. */
  now: number;
  /** Largest circle radius, or polygon enclosing-circle radius (default 800 m). */
  maxRadiusM?: number;
  /** Longest footage window (default 12 h). */
  maxWindowMs?: number;
  /** Tolerated clock difference between bridge and agent (default 2 min). */
  maxSkewMs?: number;
  /** Longest issuedAt..expiresAt validity (default 24 h); bounds the nonce store. */
  maxValidityMs?: number;
  /** True when this nonce was accepted before. */
  seenNonce: (nonce: string) => boolean;
}

export type IncidentVerdict =
  | { ok: true; request: IncidentRequest; keyId: string }
  | { ok: false; reason: IncidentRejectReason; detail: string };

const HOUR = 60 * 60 * 1000;

function reject(reason: IncidentRejectReason, detail: string): IncidentVerdict {
  return { ok: false, reason, detail };
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

/**
 * Verifies a signed incident request against the trusted RTCC key(s) and the limits.
 * Never throws; every failure is a reason the agent can put in its reply.
 */
export function verifyIncident(
  signed: unknown,
  trustedKeys: KeyObject | readonly KeyObject[],
  options: VerifyIncidentOptions,
): IncidentVerdict {
  const { now, maxRadiusM = 800, maxWindowMs = 12 * HOUR, maxSkewMs = 2 * 60 * 1000 } = options;
  const maxValidityMs = options.maxValidityMs ?? 24 * HOUR;

  const parsed = SignedIncident.safeParse(signed);
  if (!parsed.success) return reject('malformed', firstIssue(parsed.error));
  const { request, signature } = parsed.data;

  const key = findKey(trustedKeys, signature.keyId);
  if (!key) return reject('bad-signature', `unknown signing key ${signature.keyId}`);
  if (!verifyCanonical(SIGNING_DOMAINS.incident, request, signature, key)) {
    return reject('bad-signature', 'signature does not match the request');
  }

  if (request.expiresAt - request.issuedAt > maxValidityMs) {
    return reject(
      'malformed',
      `validity ${request.expiresAt - request.issuedAt} ms exceeds ${maxValidityMs} ms`,
    );
  }
  if (request.issuedAt > now + maxSkewMs) {
    return reject('not-yet-valid', `issued ${request.issuedAt - now} ms in the future`);
  }
  if (now >= request.expiresAt + maxSkewMs) {
    return reject('expired', `expired ${now - request.expiresAt} ms ago`);
  }

  const radius = enclosingCircle(request.area).radiusM;
  if (radius > maxRadiusM) {
    return reject('radius-over-limit', `radius ${Math.round(radius)} m exceeds ${maxRadiusM} m`);
  }
  const window = request.to - request.from;
  if (window > maxWindowMs)
    return reject('window-over-limit', `window ${window} ms exceeds ${maxWindowMs} ms`);
  if (request.to > now + maxSkewMs) {
    return reject('window-in-future', `window ends ${request.to - now} ms in the future`);
  }

  if (options.seenNonce(request.nonce)) return reject('replayed', `nonce ${request.nonce} already used`);
  return { ok: true, request, keyId: signature.keyId };
}
