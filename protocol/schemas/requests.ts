/**
 * `requests` (bridge → agent, not retained, QoS 1 with a persistent session): signed
 * incident requests and small commands, discriminated by `type`.
 *
 * Not retained: a retained request would be replayed to the agent on every reconnect.
 * QoS 1 on a persistent session delivers what was sent while the agent was away; the
 * incident's nonce makes a duplicate delivery harmless. The broker ACL lets only the
 * bridge write here, but the agent trusts only signatures for anything that moves video.
 *
 * Adding a command: add a member to the union; an older agent answers an unknown `type`
 * with an `unsupported` error reply, and the bridge treats that as "not supported yet".
 *
 * Deliberately absent: any command that approves an upload on the owner's behalf. The
 * owner's `approve` policy exists to hold the requester (the RTCC, i.e. this bridge) to
 * the owner's decision, so approval is given only on the appliance itself (issue 8).
 */
import { z } from 'zod';
import { SignedIncident } from '../incident.js';
import { CameraId, Uuid, requestEnvelopeFields, safeText } from './common.js';

/** Liveness and round-trip check; answered with `ack`. */
export const PingRequest = z.strictObject({ ...requestEnvelopeFields, type: z.literal('ping') });

/** A signed incident request; answered with `incident-status` replies, or `error`. */
export const IncidentCommand = z.strictObject({
  ...requestEnvelopeFields,
  type: z.literal('incident'),
  incident: SignedIncident,
});

/**
 * The RTCC withdraws an incident: stop uploads not yet finished and release holds. It can
 * only reduce what leaves the premises, so it needs no signature of its own.
 */
export const CancelIncidentRequest = z.strictObject({
  ...requestEnvelopeFields,
  type: z.literal('cancel-incident'),
  incidentId: Uuid,
  reason: safeText(200).optional(),
});

/** SHA-256 as lowercase hex. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be lowercase hex SHA-256');

/**
 * The bridge's receipt for one camera's evidence package: the agent may release the hold
 * and forget the upload job once it is `verified` (or retry when `rejected`).
 */
export const EvidenceReceiptRequest = z.strictObject({
  ...requestEnvelopeFields,
  type: z.literal('evidence-receipt'),
  incidentId: Uuid,
  cameraId: CameraId,
  status: z.enum(['received', 'verified', 'rejected']),
  /** Hash of the package as stored by the bridge. */
  packageSha256: Sha256Hex.optional(),
  detail: safeText(300).optional(),
});

export const RequestPayload = z.discriminatedUnion('type', [
  PingRequest,
  IncidentCommand,
  CancelIncidentRequest,
  EvidenceReceiptRequest,
]);
export type RequestPayload = z.infer<typeof RequestPayload>;
export type RequestType = RequestPayload['type'];
export type RequestOf<T extends RequestType> = Extract<RequestPayload, { type: T }>;
