/**
 * Request/reply envelope: every `requests` message has a fresh UUID `requestId`, every
 * `replies` message quotes it and numbers itself with `seq`. These builders stamp the
 * envelope (version, time from the caller's clock, ids) so callers only write the body.
 *
 * Correlation: the bridge keeps its pending requests by id and applies a reply only if
 * its `seq` is newer than the last one applied, because QoS 1 and the agent's outbox may
 * deliver a reply twice or after a newer one.
 */
import { randomUUID } from 'node:crypto';
import { redactText } from '../lib/redact.js';
import { SCHEMA_VERSION, requestEnvelopeFields, replyEnvelopeFields } from './schemas/common.js';
import { RequestPayload, type RequestOf, type RequestType } from './schemas/requests.js';
import { ReplyPayload, type ErrorCode, type ReplyOf, type ReplyType } from './schemas/replies.js';

export { requestEnvelopeFields, replyEnvelopeFields };

/** `Omit` that distributes over a union, so each member keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A request body: everything but the envelope. */
export type RequestBody<T extends RequestType = RequestType> = DistributiveOmit<
  RequestOf<T>,
  'v' | 'ts' | 'requestId'
>;
/** A reply body: everything but the envelope. */
export type ReplyBody<T extends ReplyType = ReplyType> = DistributiveOmit<
  ReplyOf<T>,
  'v' | 'ts' | 'requestId' | 'seq'
>;

export interface StampOptions {
  /** Wall-clock time, epoch ms (from the injected Clock). */
  now: number;
}

/** A fresh request id (UUID v4, RFC 9562). */
export function newRequestId(): string {
  return randomUUID();
}

/**
 * Wraps a body in a request envelope and validates it. Throws a ZodError when the body is
 * invalid: building a bad request is a bug in the caller.
 */
export function makeRequest<T extends RequestType>(
  body: RequestBody<T> & { type: T },
  options: StampOptions & { requestId?: string },
): RequestOf<T> {
  const request = {
    v: SCHEMA_VERSION,
    ts: options.now,
    requestId: options.requestId ?? newRequestId(),
    ...body,
  };
  return RequestPayload.parse(request) as RequestOf<T>;
}

export interface ReplyOptions extends StampOptions {
  /** Position of this reply among the replies to one request (0, 1, 2, ...). */
  seq: number;
}

/** Wraps a body in a reply envelope answering `requestId`, and validates it. */
export function makeReply<T extends ReplyType>(
  requestId: string,
  body: ReplyBody<T> & { type: T },
  options: ReplyOptions,
): ReplyOf<T> {
  const reply = { v: SCHEMA_VERSION, ts: options.now, requestId, seq: options.seq, ...body };
  return ReplyPayload.parse(reply) as ReplyOf<T>;
}

/** Replies carry at most this much human text. */
const MAX_MESSAGE = 500;
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/]*@/i;

/**
 * Makes free text safe for a reply: secrets redacted (lib/redact), URL user info removed
 * altogether (even `user:***@` is refused by the schema), control characters replaced,
 * and cut to length without splitting a surrogate pair.
 */
export function sanitizeMessage(message: string): string {
  let text = redactText(message);
  // Greedy up to the last '@' of the authority, so one pass cannot leave a new match;
  // loop anyway, bounded, in case of pathological nesting.
  const everywhere = new RegExp(URL_USERINFO.source, 'gi');
  for (let i = 0; i < 5 && URL_USERINFO.test(text); i++) text = text.replace(everywhere, '$1');
  if (URL_USERINFO.test(text)) return ''; // give up on the text rather than risk a leak
  text = text.replace(/\p{Cc}/gu, ' ').trim();
  if (text.length <= MAX_MESSAGE) return text;
  return `${text.slice(0, MAX_MESSAGE - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}

/**
 * An error reply. The message is redacted (URLs with passwords, `password=...` pairs,
 * auth headers) and cut to length, because error text often quotes what failed, and
 * secrets never go into MQTT payloads (DESIGN.md, security model). Control characters
 * are replaced so the schema's text rules always hold. `requestId` is null when the
 * request could not be read at all.
 */
export function errorReply(
  requestId: string | null,
  code: ErrorCode,
  message: string,
  options: StampOptions & { seq?: number },
): ReplyOf<'error'> {
  const text = sanitizeMessage(message) || code;
  const reply = {
    v: SCHEMA_VERSION,
    ts: options.now,
    requestId,
    seq: options.seq ?? 0,
    type: 'error',
    code,
    message: text,
  };
  return ReplyPayload.parse(reply) as ReplyOf<'error'>;
}

/** Whether a reply answers the given request. */
export function isReplyTo(reply: { requestId: string | null }, request: { requestId: string }): boolean {
  return reply.requestId !== null && reply.requestId === request.requestId;
}

/**
 * Keeps the newest reply per request: true when `incoming` should replace `current`
 * (no current one yet, or a higher `seq`). Duplicates and stragglers are ignored.
 */
export function isNewerReply(current: { seq: number } | undefined, incoming: { seq: number }): boolean {
  return current === undefined || incoming.seq > current.seq;
}
