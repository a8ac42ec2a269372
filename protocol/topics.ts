/**
 * The MQTT topic map: the only place topic strings are written. Everything else names a
 * topic (`'health'`) and gets its string, schema, QoS, retain flag and direction here.
 *
 * Layout: `camconnect/v1/agents/{agentId}/{name}`. The agent id is one topic level, so
 * a broker ACL pattern (`camconnect/v1/agents/%u/#`) confines a device to its own prefix.
 * Topic rules (MQTT 5 §4.7, MQTT-4.7.3-1..3): names are non-empty UTF-8, contain no NUL
 * and never the wildcards `+` and `#`; `$`-prefixed topics belong to the broker.
 */
import type { z } from 'zod';
import { ID_PATTERN } from './schemas/common.js';
import { CamerasPayload } from './schemas/cameras.js';
import { HealthPayload } from './schemas/health.js';
import { MotionPayload } from './schemas/motion.js';
import { ReplyPayload } from './schemas/replies.js';
import { RequestPayload } from './schemas/requests.js';
import { StatusPayload } from './schemas/status.js';

export const TOPIC_ROOT = 'camconnect/v1/agents';

export type Direction = 'agent→bridge' | 'bridge→agent';
export type QoS = 0 | 1 | 2;

export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  retained: boolean;
  qos: QoS;
  direction: Direction;
}

/**
 * QoS and retention per topic, and why:
 * - status: retained so a subscriber sees the current state at once; the last will is `offline`.
 * - health: QoS 0, not retained: superseded every 30 s, and a retained one would outlive the device.
 * - cameras: retained inventory, replaced whole on change.
 * - motion, replies: QoS 1, must arrive (the outbox holds them while the link is down).
 * - requests: QoS 1 on a persistent session; never retained (it would replay on reconnect).
 */
export const TOPICS = {
  status: { schema: StatusPayload, retained: true, qos: 1, direction: 'agent→bridge' },
  health: { schema: HealthPayload, retained: false, qos: 0, direction: 'agent→bridge' },
  cameras: { schema: CamerasPayload, retained: true, qos: 1, direction: 'agent→bridge' },
  motion: { schema: MotionPayload, retained: false, qos: 1, direction: 'agent→bridge' },
  requests: { schema: RequestPayload, retained: false, qos: 1, direction: 'bridge→agent' },
  replies: { schema: ReplyPayload, retained: false, qos: 1, direction: 'agent→bridge' },
} as const satisfies Record<string, TopicSpec>;

export type TopicMap = typeof TOPICS;
export type TopicName = keyof TopicMap;
/** Topic names that flow in direction D. */
export type TopicsFrom<D extends Direction> = {
  [K in TopicName]: TopicMap[K]['direction'] extends D ? K : never;
}[TopicName];
/** What a publisher must pass for topic T (schemas have no transforms: input = output). */
export type TopicPayload<T extends TopicName> = z.input<TopicMap[T]['schema']>;
/** What a subscriber gets after validation. */
export type TopicMessage<T extends TopicName> = z.output<TopicMap[T]['schema']>;

export const TOPIC_NAMES: readonly TopicName[] = Object.freeze(Object.keys(TOPICS) as TopicName[]);

export function isTopicName(name: string): name is TopicName {
  return Object.hasOwn(TOPICS, name);
}

export function isValidAgentId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** `camconnect/v1/agents/{agentId}/{name}`; throws on an agent id that is not one safe level. */
export function topicFor(name: TopicName, agentId: string): string {
  if (!isValidAgentId(agentId)) throw new RangeError(`invalid agent id ${JSON.stringify(agentId)}`);
  return `${TOPIC_ROOT}/${agentId}/${name}`;
}

/**
 * Parses a concrete topic name from the broker. Strict: anything not exactly
 * `camconnect/v1/agents/{valid id}/{known name}` is null (including wildcards, empty or
 * over-long ids, extra levels and trailing slashes), so a message on an odd topic is
 * never attributed to a device.
 */
export function parseTopic(topic: string): { agentId: string; name: TopicName } | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length).split('/');
  if (rest.length !== 2) return null;
  const [agentId, name] = rest as [string, string];
  if (!isValidAgentId(agentId) || !isTopicName(name)) return null;
  return { agentId, name };
}

/** A filter matching topic `name` of every agent: `camconnect/v1/agents/+/{name}`. */
export function subscriptionFilter(name: TopicName): string {
  return `${TOPIC_ROOT}/+/${name}`;
}

/** Valid MQTT 5 share name (MQTT-4.8.2-1/2): non-empty, no `/`, `+`, `#` or NUL. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be refused
const SHARE_NAME = /^[^/+#\u0000]{1,64}$/;

/**
 * MQTT 5 shared subscription (§4.8.2) `$share/{group}/camconnect/v1/agents/+/{name}`: the
 * broker gives each message to one member of the group, so bridge instances split ingest.
 */
export function sharedSubscriptionFilter(group: string, name: TopicName): string {
  if (!SHARE_NAME.test(group)) throw new RangeError(`invalid share group ${JSON.stringify(group)}`);
  return `$share/${group}/${subscriptionFilter(name)}`;
}

export interface Subscription {
  filter: string;
  qos: QoS;
}

/**
 * What a bridge instance subscribes to. With a `group`, high-volume topics are shared so
 * each message is processed once across instances. Retained topics (status, cameras) stay
 * unshared: MQTT 5 §4.8.2 says retained messages are not sent to a shared subscription
 * when it is made, so a shared subscriber would never learn the current state. They are
 * small, and the bridge's upserts by agent id are idempotent, so every instance taking
 * them is harmless.
 */
export function bridgeSubscriptions(group?: string): Subscription[] {
  return TOPIC_NAMES.filter((name) => TOPICS[name].direction === 'agent→bridge').map((name) => {
    const spec = TOPICS[name];
    const shared = group !== undefined && !spec.retained;
    return {
      filter: shared ? sharedSubscriptionFilter(group, name) : subscriptionFilter(name),
      qos: spec.qos,
    };
  });
}

/** What an agent subscribes to: its own `requests`, nothing else. */
export function agentSubscriptions(agentId: string): Subscription[] {
  return [{ filter: topicFor('requests', agentId), qos: TOPICS.requests.qos }];
}

/**
 * A topic with a broker ACL substitution in place of the agent id, for Mosquitto
 * `pattern` lines: `%u` is the user name, `%c` the client id (mosquitto.conf(5)).
 */
export function aclTopicPattern(name: TopicName, placeholder: '%u' | '%c'): string {
  return `${TOPIC_ROOT}/${placeholder}/${name}`;
}

/** MQTT publish options for a topic (as MQTT.js takes them). */
export function publishOptions(name: TopicName): { qos: QoS; retain: boolean } {
  return { qos: TOPICS[name].qos, retain: TOPICS[name].retained };
}
