/**
 * Incident requests: what the RTCC asks for (a place, a time window, a case), signed with
 * the RTCC key by the bridge and checked by every agent before anything else happens.
 *
 * The signed document carries its own schema version and a nonce; the MQTT envelope
 * around it (request id, ts) is not signed and is only for correlation. The agent acts
 * on exactly the object whose canonical form was verified. Verification (the agent's
 * gate) is in incident-verify.ts.
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { enclosingCircle, type Area } from './geofence.js';
import {
  firstSelfIntersection,
  localProjection,
  openRing,
  projectionOriginFor,
  signedArea,
} from './geofence-plane.js';
import { EpochMs, LatLon, Uuid, Version, base64url, safeText } from './schemas/common.js';
import { SIGNING_DOMAINS, Signature, signCanonical } from './signing.js';

/** Sanity bound on any geofence, whatever limits a site configures: a city, not a state. */
export const MAX_AREA_RADIUS_M = 50_000;
export const MAX_POLYGON_POINTS = 100;

export const CircleAreaSchema = z.strictObject({
  kind: z.literal('circle'),
  center: LatLon,
  radiusM: z.number().gt(0).max(MAX_AREA_RADIUS_M),
});

/**
 * Explains why a ring is not a usable geofence, or returns null. Closed or open rings are
 * accepted; after dropping the closing vertex, 3..100 vertices, no repeated neighbours, a
 * non-zero area and no self-intersection (containment would depend on the fill rule).
 */
export function polygonProblem(points: readonly z.infer<typeof LatLon>[]): string | null {
  const ring = openRing(points);
  if (ring.length < 3) return 'a polygon needs at least 3 distinct vertices';
  if (ring.length > MAX_POLYGON_POINTS) return `a polygon may have at most ${MAX_POLYGON_POINTS} vertices`;
  const projection = localProjection(projectionOriginFor(ring));
  const plane = ring.map((p) => projection.toPlane(p));
  for (let i = 0; i < plane.length; i++) {
    const a = plane[i];
    const b = plane[(i + 1) % plane.length];
    if (a && b && Math.hypot(a.x - b.x, a.y - b.y) < 0.01) return `vertices ${i} and next coincide`;
  }
  const crossing = firstSelfIntersection(plane);
  if (crossing) return `polygon edges ${crossing[0]} and ${crossing[1]} intersect`;
  if (Math.abs(signedArea(plane)) < 1) return 'polygon has no area';
  const extent = enclosingCircle({ kind: 'polygon', points: ring }).radiusM;
  if (extent > MAX_AREA_RADIUS_M) return `polygon spans more than ${MAX_AREA_RADIUS_M} m`;
  return null;
}

export const PolygonAreaSchema = z
  .strictObject({
    kind: z.literal('polygon'),
    // One more than the vertex limit so that a closed ring of 100 vertices fits.
    points: z
      .array(LatLon)
      .min(3)
      .max(MAX_POLYGON_POINTS + 1),
  })
  .superRefine((area, ctx) => {
    const problem = polygonProblem(area.points);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['points'] });
  });

export const AreaSchema = z.discriminatedUnion('kind', [CircleAreaSchema, PolygonAreaSchema]);

export const IncidentRequest = z
  .strictObject({
    v: Version,
    /** Incident id, stable across every agent and every reply. */
    id: Uuid,
    caseNumber: safeText(64),
    reason: safeText(500),
    area: AreaSchema,
    /** Footage window [from, to), epoch ms. */
    from: EpochMs,
    to: EpochMs,
    issuedAt: EpochMs,
    expiresAt: EpochMs,
    /** At least 128 random bits; an agent accepts each nonce once. */
    nonce: base64url(22, 86),
    /** Who issued it (the RTCC or bridge name); shown to owners and in the audit log. */
    issuer: safeText(128),
  })
  .refine((r) => r.from < r.to, { message: 'from must be before to', path: ['to'] })
  .refine((r) => r.issuedAt < r.expiresAt, {
    message: 'issuedAt must be before expiresAt',
    path: ['expiresAt'],
  });
export type IncidentRequest = z.infer<typeof IncidentRequest>;

/** What travels: the request and the RTCC's signature over its canonical form. */
export const SignedIncident = z.strictObject({ request: IncidentRequest, signature: Signature });
export type SignedIncident = z.infer<typeof SignedIncident>;

// Compile-time guarantee that the wire schema and the geometry agree on what an area is.
const _areaMatches: (a: z.infer<typeof AreaSchema>) => Area = (a) => a;

export interface NewIncidentInput {
  caseNumber: string;
  reason: string;
  area: Area;
  from: number;
  to: number;
  issuer: string;
}

export interface NewIncidentOptions {
  now: number;
  /** How long agents may act on it (default 1 h: long enough for a reconnecting agent). */
  validityMs?: number;
  id?: string;
  nonce?: string;
}

/** Builds and validates a request; throws a ZodError naming what is wrong. */
export function createIncidentRequest(input: NewIncidentInput, options: NewIncidentOptions): IncidentRequest {
  return IncidentRequest.parse({
    v: 1,
    id: options.id ?? randomUUID(),
    ...input,
    issuedAt: options.now,
    expiresAt: options.now + (options.validityMs ?? 60 * 60 * 1000),
    nonce: options.nonce ?? randomBytes(16).toString('base64url'),
  });
}

/** Signs a request with the RTCC key (validating it first). */
export function signIncident(request: IncidentRequest, privateKey: KeyObject): SignedIncident {
  const valid = IncidentRequest.parse(request);
  return { request: valid, signature: signCanonical(SIGNING_DOMAINS.incident, valid, privateKey) };
}
