/**
 * Building blocks shared by every topic's schema.
 *
 * Conventions of the wire contract (v1):
 * - Every payload carries `v: 1` (the schema version) and `ts`, the sender's wall-clock time.
 * - All times are integer milliseconds since the Unix epoch (UTC). One representation
 *   means no time-zone or precision ambiguity, exact serialization under RFC 8785
 *   (integers below 2^53 print identically everywhere) and no parsing on the hot
 *   ingest path; it is also what `Clock.now()` returns.
 * - Objects are strict: an unknown key is an error, not silently dropped, so a typo or a
 *   leaked secret (`password`, `url`) is rejected at both ends. Adding a field means a
 *   new schema version, and the bridge is upgraded before the agents.
 * - No defaults and no transforms: what is validated is exactly what is sent, so input
 *   and output types coincide and signatures cover what the receiver acts on.
 */
import { z } from 'zod';

/** The schema version every v1 payload carries. */
export const SCHEMA_VERSION = 1 as const;
export const Version = z.literal(SCHEMA_VERSION);

/** Latest instant a JS Date can hold (ECMA-262 §21.4.1.1): 8.64e15 ms. */
const MAX_EPOCH_MS = 8.64e15;

/**
 * Epoch milliseconds. Deliberately permissive (0 is allowed): an appliance with no RTC
 * boots in 1970, and its health must still reach the RTCC, which is how anyone learns
 * that its clock is wrong. Decisions that depend on time (incident validity) check it.
 */
export const EpochMs = z.int().min(0).max(MAX_EPOCH_MS);
export type EpochMs = z.infer<typeof EpochMs>;

/** A half-open interval [from, to) in epoch ms with from < to. */
export const Interval = z
  .strictObject({ from: EpochMs, to: EpochMs })
  .refine((i) => i.from < i.to, { message: 'interval must have from < to' });
export type Interval = z.infer<typeof Interval>;

/**
 * Identifier syntax shared by agents, cameras and episodes: safe as one MQTT topic level
 * (no '/', '+', '#', NUL: MQTT-4.7.1, MQTT-4.7.3), as a file name and as a URL segment.
 */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const Id = z.string().regex(ID_PATTERN, 'must match [A-Za-z0-9_-]{1,64}');
export const AgentId = Id;
export const CameraId = Id;

/** RFC 9562 UUID (randomUUID() produces version 4). */
export const Uuid = z.uuid();

/** A URL with user info (`scheme://user:pass@host`): never allowed in free text. */
const URL_WITH_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@/i;
// Control characters (C0, DEL, C1) have no business in names and break log lines.
const CONTROL = /\p{Cc}/u;

/**
 * Human text (names, reasons, messages): bounded, no control characters, and no URL that
 * embeds credentials, so a camera named after its RTSP URL cannot leak its password.
 */
export function safeText(max: number, min = 1) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters' })
    .refine((s) => !URL_WITH_USERINFO.test(s), { message: 'must not contain a URL with credentials' });
}

/** WGS 84 latitude and longitude in degrees. */
export const Latitude = z.number().min(-90).max(90);
export const Longitude = z.number().min(-180).max(180);
export const LatLon = z.strictObject({ lat: Latitude, lon: Longitude });
export type LatLon = z.infer<typeof LatLon>;

/** Compass heading in degrees clockwise from true north, [0, 360). */
export const Heading = z.number().min(0).lt(360);
/** Horizontal field of view of a camera, degrees (0, 360]. */
export const FieldOfView = z.number().gt(0).max(360);

/** An installed camera position: where it is and, optionally, where it looks. */
export const CameraLocation = z.strictObject({
  lat: Latitude,
  lon: Longitude,
  heading: Heading.optional(),
  fovDeg: FieldOfView.optional(),
});
export type CameraLocation = z.infer<typeof CameraLocation>;

/** Unpadded base64url (RFC 4648 §5), as used for keys, signatures and nonces. */
export const BASE64URL = /^[A-Za-z0-9_-]*$/;
export function base64url(minChars: number, maxChars: number) {
  return z.string().min(minChars).max(maxChars).regex(BASE64URL, 'must be unpadded base64url');
}

/** A non-negative finite number (bytes, rates, counts that may be fractional). */
export const NonNegative = z.number().min(0);
export const NonNegativeInt = z.int().min(0);
/** A percentage, 0..100 inclusive. */
export const Percent = z.number().min(0).max(100);

/**
 * Fields every `requests` message carries. `requestId` is a fresh UUID per message: the
 * agent's replies quote it, and the incident inside (if any) has its own signed id.
 */
export const requestEnvelopeFields = { v: Version, ts: EpochMs, requestId: Uuid };

/**
 * Fields every `replies` message carries. `seq` counts up per request id, so the bridge
 * keeps the newest state even when QoS 1 or the outbox delivers a reply twice or late.
 */
export const replyEnvelopeFields = { v: Version, ts: EpochMs, requestId: Uuid, seq: NonNegativeInt };
