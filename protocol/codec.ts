/**
 * Encoding and decoding of topic payloads: JSON (UTF-8, RFC 8259 §8.1) validated by the
 * topic's schema on both ends, and the typed publisher interface the link implements.
 *
 * Decoding treats every byte as hostile: the size is checked before anything is decoded
 * or parsed (a 100 MB message costs nothing), invalid UTF-8 is refused rather than
 * replaced, and failures are values, not exceptions, so one bad message cannot crash a
 * consumer. Encoding failures are programming errors and throw.
 */
import type { z } from 'zod';
import { SCHEMA_VERSION, Uuid } from './schemas/common.js';
import { RequestPayload } from './schemas/requests.js';
import { ReplyPayload } from './schemas/replies.js';
import {
  TOPICS,
  parseTopic,
  publishOptions,
  topicFor,
  type Direction,
  type QoS,
  type TopicMessage,
  type TopicName,
  type TopicPayload,
  type TopicsFrom,
} from './topics.js';

/** Default payload limit: far above any real payload (a 256-camera health is ~100 KiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

export type DecodeErrorCode = 'too-large' | 'invalid' | 'unsupported';

export interface DecodeError {
  code: DecodeErrorCode;
  message: string;
  /** The request id if one could be read, so an error reply can still be correlated. */
  requestId: string | null;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CodecOptions {
  maxBytes?: number;
}

/** Publishing side of the link: payload types are checked against the topic at compile time. */
export interface TypedPublisher<D extends Direction = Direction> {
  publish<T extends TopicsFrom<D>>(name: T, payload: TopicPayload<T>): Promise<void>;
}
/** What an agent may publish: only agent→bridge topics under its own prefix. */
export type AgentPublisher = TypedPublisher<'agent→bridge'>;
/** What the bridge publishes: bridge→agent topics, addressed to one agent. */
export interface BridgePublisher {
  publish<T extends TopicsFrom<'bridge→agent'>>(
    agentId: string,
    name: T,
    payload: TopicPayload<T>,
  ): Promise<void>;
}

/** Reads a short summary of zod issues: paths and messages, never the offending values. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > max ? ` (+${error.issues.length - max} more)` : '';
  const text = parts.join('; ') + more;
  // Key names come from the sender: bound what ends up in logs and replies.
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Known discriminators of the union topics, to tell "unsupported" from "invalid". */
const KNOWN_TYPES: Partial<Record<TopicName, ReadonlySet<string>>> = {
  requests: new Set(RequestPayload.options.map((o) => o.shape.type.value)),
  replies: new Set(ReplyPayload.options.map((o) => o.shape.type.value)),
};

/** The request id of a parsed but possibly invalid message, if it has a well-formed one. */
export function extractRequestId(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as { requestId?: unknown }).requestId;
  // The same rule as the reply schema, so an error reply quoting it always validates.
  return Uuid.safeParse(id).success ? (id as string) : null;
}

/** Validates and serializes a payload for its topic. Throws ProtocolError when invalid. */
export function encode<T extends TopicName>(
  name: T,
  payload: TopicPayload<T>,
  options: CodecOptions = {},
): Buffer {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const result = TOPICS[name].schema.safeParse(payload);
  if (!result.success) throw new ProtocolError('invalid', `${name}: ${describeIssues(result.error)}`);
  const bytes = Buffer.from(JSON.stringify(result.data), 'utf8');
  if (bytes.length > maxBytes)
    throw new ProtocolError('too-large', `${name}: ${bytes.length} bytes > ${maxBytes}`);
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks size, UTF-8, JSON and the topic's schema, in that order. Never throws. */
export function decode<T extends TopicName>(
  name: T,
  bytes: Uint8Array | string,
  options: CodecOptions = {},
): DecodeResult<TopicMessage<T>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  const fail = (code: DecodeErrorCode, message: string, requestId: string | null = null) =>
    ({ ok: false, error: { code, message: `${name}: ${message}`, requestId } }) as const;
  if (size > maxBytes) return fail('too-large', `${size} bytes exceeds the ${maxBytes}-byte limit`);

  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : utf8.decode(bytes));
  } catch (error) {
    // Both TextDecoder (TypeError) and JSON.parse (SyntaxError) land here; the reason is enough.
    return fail('invalid', error instanceof TypeError ? 'payload is not valid UTF-8' : 'payload is not JSON');
  }
  const requestId = extractRequestId(value);
  const version = (value as { v?: unknown } | null)?.v;
  // A different version is a newer (or older) sender, not garbage: say so distinctly.
  if (version !== undefined && version !== SCHEMA_VERSION) {
    return fail(
      'unsupported',
      `schema version ${String(JSON.stringify(version)).slice(0, 20)} is not ${SCHEMA_VERSION}`,
      requestId,
    );
  }
  const type = (value as { type?: unknown } | null)?.type;
  const known = KNOWN_TYPES[name];
  if (known && typeof type === 'string' && !known.has(type)) {
    return fail('unsupported', `unknown type ${JSON.stringify(type.slice(0, 40))}`, requestId);
  }
  const result = TOPICS[name].schema.safeParse(value);
  if (!result.success) return fail('invalid', describeIssues(result.error), requestId);
  return { ok: true, value: result.data as TopicMessage<T> };
}

/** A decoded message with the agent and topic it came from, discriminated by `name`. */
export type IncomingMessage = {
  [K in TopicName]: { agentId: string; name: K; value: TopicMessage<K> };
}[TopicName];

/** Decodes a message straight from the broker: topic first, then payload. */
export function decodeMessage(
  topic: string,
  bytes: Uint8Array | string,
  options: CodecOptions = {},
): DecodeResult<IncomingMessage> {
  const parsed = parseTopic(topic);
  if (!parsed) {
    return { ok: false, error: { code: 'invalid', message: 'not a camconnect topic', requestId: null } };
  }
  const result = decode(parsed.name, bytes, options);
  if (!result.ok) return result;
  return {
    ok: true,
    value: { agentId: parsed.agentId, name: parsed.name, value: result.value } as IncomingMessage,
  };
}

/** Everything MQTT.js needs to publish one message. */
export interface OutgoingMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** Topic, encoded payload and publish options for one agent's topic. */
export function outgoing<T extends TopicName>(
  name: T,
  agentId: string,
  payload: TopicPayload<T>,
  options: CodecOptions = {},
): OutgoingMessage {
  return { topic: topicFor(name, agentId), payload: encode(name, payload, options), ...publishOptions(name) };
}

/**
 * The agent's MQTT last will: a retained `offline` status with reason `lost`, published by
 * the broker when the connection dies without a clean disconnect (MQTT 5 §3.1.2.5).
 */
export function lastWill(
  agentId: string,
  info: { agentVersion: string; startedAt: number; now: number },
): OutgoingMessage {
  return outgoing('status', agentId, {
    v: 1,
    ts: info.now,
    state: 'offline',
    agentVersion: info.agentVersion,
    startedAt: info.startedAt,
    reason: 'lost',
  });
}
