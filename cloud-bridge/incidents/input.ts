/**
 * The incident API's request body and the configured limits. The protocol's schema bounds any
 * geofence to a city; the bridge's limits are the RTCC's policy (800 m, 12 h by default) and
 * are checked here so the operator gets a clear 422 before anything is signed.
 */
import { z } from 'zod';
import { AreaSchema } from '../../protocol/incident.js';
import { enclosingCircle } from '../../protocol/geofence.js';
import { safeText } from '../../protocol/schemas/common.js';
import type { Limits } from '../config.js';

/** Epoch milliseconds or an ISO 8601 date-time with an offset (what a form or curl sends). */
const Instant = z.union([z.int().min(0), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

export const IncidentInput = z.strictObject({
  caseNumber: safeText(64),
  reason: safeText(500),
  area: AreaSchema,
  from: Instant,
  to: Instant,
});
export type IncidentInput = z.output<typeof IncidentInput>;

/** Parses and checks a body against the limits; the error lists every problem found. */
export function parseIncidentInput(body: unknown, limits: Limits): z.ZodSafeParseResult<IncidentInput> {
  return IncidentInput.superRefine((v, ctx) => {
    if (v.from >= v.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be after from' });
    if (v.to - v.from > limits.maxWindowMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `the window may be at most ${limits.maxWindowMs / 3600_000} h (got ${((v.to - v.from) / 3600_000).toFixed(2)} h)`,
      });
    }
    const radius = enclosingCircle(v.area).radiusM;
    if (radius > limits.maxRadiusM) {
      ctx.addIssue({
        code: 'custom',
        path: v.area.kind === 'circle' ? ['area', 'radiusM'] : ['area', 'points'],
        message: `the area may have a radius of at most ${limits.maxRadiusM} m (got ${Math.round(radius)} m)`,
      });
    }
  }).safeParse(body);
}
