/**
 * `replies` (agent → bridge, not retained, QoS 1): answers to `requests`, correlated by
 * `requestId` and ordered by `seq`. Replies are never dropped by the outbox (issue 5).
 */
import { z } from 'zod';
import { IncidentRejectReason } from '../incident-verify.js';
import { MAX_CAMERAS_PER_AGENT } from './health.js';
import { CameraId, Interval, NonNegative, Percent, Uuid, replyEnvelopeFields, safeText } from './common.js';

/** Error codes: the incident gate's reasons plus transport and processing failures. */
export const ErrorCode = z.enum([
  ...IncidentRejectReason.options,
  /** Payload over the size limit; it was not parsed. */
  'too-large',
  /** Not JSON, or JSON that does not match the schema. */
  'invalid',
  /** A well-formed request of a `type` this agent does not know. */
  'unsupported',
  /** The incident id is unknown to this agent (cancel, receipt). */
  'unknown-incident',
  'busy',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const AckReply = z.strictObject({
  ...replyEnvelopeFields,
  type: z.literal('ack'),
  detail: safeText(200).optional(),
});

/**
 * An error answer. `requestId` is null when the request was too malformed to carry one;
 * the message is for humans and is redacted by the builder (envelope.ts).
 */
export const ErrorReply = z.strictObject({
  ...replyEnvelopeFields,
  requestId: Uuid.nullable(),
  type: z.literal('error'),
  code: ErrorCode,
  message: safeText(500),
});

const MAX_GAPS = 1000;
/** What the agent holds of the requested window: covered span and the gaps inside it. */
const coverage = { covered: Interval, gaps: z.array(Interval).max(MAX_GAPS) };

/**
 * Per-camera state of an incident. States that must not reveal anything more (declined,
 * awaiting the owner, no footage) carry nothing but the state: the schema enforces that
 * "declined" tells the RTCC only "declined" (issue 8).
 */
export const CameraIncidentState = z.discriminatedUnion('state', [
  z.strictObject({ cameraId: CameraId, state: z.literal('declined') }),
  z.strictObject({ cameraId: CameraId, state: z.literal('awaiting-approval') }),
  z.strictObject({ cameraId: CameraId, state: z.literal('no-footage') }),
  z.strictObject({ cameraId: CameraId, state: z.literal('accepted'), ...coverage }),
  z.strictObject({
    cameraId: CameraId,
    state: z.literal('uploading'),
    ...coverage,
    percent: Percent,
    bytesSent: NonNegative.optional(),
    bytesTotal: NonNegative.optional(),
  }),
  z.strictObject({ cameraId: CameraId, state: z.literal('received'), ...coverage }),
  z.strictObject({ cameraId: CameraId, state: z.literal('verified'), ...coverage }),
  z.strictObject({ cameraId: CameraId, state: z.literal('failed'), detail: safeText(300) }),
]);
export type CameraIncidentState = z.infer<typeof CameraIncidentState>;
export type CameraIncidentStateName = CameraIncidentState['state'];

/**
 * `in-progress` while any camera can still change, `done` when all are final,
 * `no-cameras-in-area` when no camera of this agent is inside the geofence.
 */
export const IncidentOutcome = z.enum(['in-progress', 'done', 'no-cameras-in-area']);

export const IncidentStatusReply = z
  .strictObject({
    ...replyEnvelopeFields,
    type: z.literal('incident-status'),
    incidentId: Uuid,
    outcome: IncidentOutcome,
    cameras: z.array(CameraIncidentState).max(MAX_CAMERAS_PER_AGENT),
  })
  .refine((r) => r.outcome !== 'no-cameras-in-area' || r.cameras.length === 0, {
    message: 'no-cameras-in-area lists no cameras',
    path: ['cameras'],
  });

export const ReplyPayload = z.discriminatedUnion('type', [AckReply, ErrorReply, IncidentStatusReply]);
export type ReplyPayload = z.infer<typeof ReplyPayload>;
export type ReplyType = ReplyPayload['type'];
export type ReplyOf<T extends ReplyType> = Extract<ReplyPayload, { type: T }>;
