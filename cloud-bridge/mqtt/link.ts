/**
 * The bridge's MQTT connection: subscribes to what agents publish and publishes requests to
 * them. The only place in cloud-bridge/ that imports MQTT.js; topics, payload checks and
 * publish options all come from protocol/.
 *
 * Scale-out: with a share group, high-volume topics are subscribed as MQTT 5 shared
 * subscriptions (`$share/{group}/...`, MQTT 5 §4.8.2), so the broker hands each message to one
 * instance of the group; retained topics stay unshared (see protocol/topics.ts for why).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { decodeMessage, outgoing, type BridgePublisher, type IncomingMessage } from '../../protocol/codec.js';
import {
  TOPIC_NAMES,
  TOPICS,
  parseTopic,
  sharedSubscriptionFilter,
  subscriptionFilter,
  type Subscription,
  type TopicsFrom,
} from '../../protocol/topics.js';
import type { TopicPayload } from '../../protocol/topics.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { redactUrl } from '../../lib/redact.js';
import type { BridgeMetrics } from '../metrics.js';
import { IngestRefused } from '../registry/ingest-store.js';

/** MQTT 5 subscription identifiers (§3.8.2.1.2): which subscription delivered a message. */
const SNAPSHOT_SUB = 1;
const SHARED_SUB = 2;

/**
 * What to subscribe to. Alone (no group): every agent→bridge topic, plain. In a group, every
 * instance must process each message once, retained ones included, yet still learn the retained
 * state (status, cameras) when it starts, which a shared subscription never sends (MQTT 5
 * §4.8.2). So: every agent→bridge topic shared (identifier 2) for live traffic, plus the retained
 * topics unshared (identifier 1) only for the retained snapshot sent on subscribing. See
 * takeShared for how the two are told apart. (protocol's bridgeSubscriptions() instead leaves
 * retained topics unshared, which makes every instance store every status and inventory.)
 */
export function subscriptionPlan(group?: string): { id: number | undefined; subs: Subscription[] }[] {
  const names = TOPIC_NAMES.filter((n) => TOPICS[n].direction === 'agent→bridge');
  if (group === undefined) {
    return [
      { id: undefined, subs: names.map((n) => ({ filter: subscriptionFilter(n), qos: TOPICS[n].qos })) },
    ];
  }
  return [
    {
      id: SHARED_SUB,
      subs: names.map((n) => ({ filter: sharedSubscriptionFilter(group, n), qos: TOPICS[n].qos })),
    },
    {
      id: SNAPSHOT_SUB,
      subs: names
        .filter((n) => TOPICS[n].retained)
        .map((n) => ({ filter: subscriptionFilter(n), qos: TOPICS[n].qos })),
    },
  ];
}

/**
 * In a group: take a message that came through the shared subscription (this instance was
 * chosen for it), or a retained message from the snapshot subscription (RETAIN is 1 only for
 * messages sent because a subscription was made, MQTT 5 §3.3.1.3, with Retain As Published
 * off). A live message that arrives only through the snapshot subscription was shared out to
 * some instance already: drop it here.
 */
export function takeShared(packet: Pick<IPublishPacket, 'retain' | 'properties'>): boolean {
  const raw = packet.properties?.subscriptionIdentifier;
  const ids = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (ids.includes(SHARED_SUB)) return true;
  return ids.includes(SNAPSHOT_SUB) && packet.retain;
}

export interface MessageSink {
  /** Stores one decoded message. Throwing counts an error; it never stops ingest. */
  handle(msg: IncomingMessage, receivedAt: number): Promise<void>;
}

export interface LinkOptions {
  /** Resolved lazily: the embedded broker's port is known only after it starts. */
  url: () => string;
  /** 5 for a real broker (needed for shared subscriptions); 4 (3.1.1) for aedes. */
  protocolVersion: 4 | 5;
  shareGroup?: string;
  /** A stable id gives a persistent session (QoS 1 messages wait while the bridge restarts). */
  instanceId?: string;
  now: () => number;
  /**
   * Messages handled at once across devices (default 512); each device's messages stay in
   * order. High: health and motion are batched by the sink, so this bounds memory, not the
   * number of database statements.
   */
  concurrency?: number;
}

export class BridgeLink implements Service, BridgePublisher {
  readonly name = 'mqtt-link';
  private client: MqttClient | undefined;
  private state: Health['state'] = 'stopped';
  private readonly chains = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  /** Messages handled by this instance (the scale test sums these across instances). */
  handled = 0;

  constructor(
    private readonly opts: LinkOptions,
    private readonly sink: MessageSink,
    private readonly metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {}

  async start(signal: AbortSignal): Promise<void> {
    this.state = 'starting';
    const persistent = this.opts.instanceId !== undefined;
    const clientId = `camconnect-bridge-${this.opts.instanceId ?? randomBytes(6).toString('hex')}`;
    const options: IClientOptions = {
      clientId,
      protocolVersion: this.opts.protocolVersion,
      clean: !persistent,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(this.opts.protocolVersion === 5 && persistent
        ? { properties: { sessionExpiryInterval: 3600 } }
        : {}),
    };
    const url = this.opts.url();
    const client = await mqtt.connectAsync(url, options);
    this.client = client;
    if (signal.aborted) {
      await client.endAsync(true);
      signal.throwIfAborted();
    }
    client.on('message', (topic, payload, packet) => {
      if (this.opts.shareGroup && !takeShared(packet)) return;
      this.onMessage(topic, payload);
    });
    client.on('error', (err) => this.log.warn('mqtt error', { error: err.message }));
    client.on('offline', () => {
      this.state = 'degraded';
    });
    client.on('connect', () => {
      this.state = 'ok';
    });
    const plan = subscriptionPlan(this.opts.shareGroup);
    for (const { id, subs } of plan) {
      const granted = await client.subscribeAsync(
        Object.fromEntries(subs.map((s) => [s.filter, { qos: s.qos }])),
        id === undefined ? {} : { properties: { subscriptionIdentifier: id } },
      );
      const refused = granted.filter((g) => g.qos === 128 || g.qos > 2);
      if (refused.length > 0)
        throw new Error(`broker refused subscriptions: ${refused.map((g) => g.topic).join(', ')}`);
    }
    this.state = 'ok';
    this.log.info('mqtt connected', {
      url: redactUrl(url),
      clientId,
      shareGroup: this.opts.shareGroup ?? null,
    });
  }

  async publish<T extends TopicsFrom<'bridge→agent'>>(
    agentId: string,
    name: T,
    payload: TopicPayload<T>,
  ): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the MQTT link is not started');
    const msg = outgoing(name, agentId, payload);
    await client.publishAsync(msg.topic, msg.payload, { qos: msg.qos, retain: msg.retain });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const receivedAt = this.opts.now();
    // A zero-byte retained publish is how a retained message is cleared (MQTT 5 §3.3.1.3):
    // housekeeping, not a malformed message.
    if (payload.length === 0) return;
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      const name = parseTopic(topic)?.name ?? 'unknown';
      this.metrics.ingestErrors.inc({ topic: name, reason: decoded.error.code });
      this.log.warn('refused an MQTT message', {
        topic,
        code: decoded.error.code,
        error: decoded.error.message,
      });
      return;
    }
    const msg = decoded.value;
    // Per-device chains keep one agent's messages in arrival order; a global cap bounds the
    // number of database statements in flight.
    const prev = this.chains.get(msg.agentId) ?? Promise.resolve();
    const next = prev.then(() => this.run(msg, receivedAt));
    this.chains.set(msg.agentId, next);
    void next.then(() => {
      if (this.chains.get(msg.agentId) === next) this.chains.delete(msg.agentId);
    });
  }

  private async run(msg: IncomingMessage, receivedAt: number): Promise<void> {
    const limit = this.opts.concurrency ?? 512;
    while (this.inFlight >= limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      await this.sink.handle(msg, receivedAt);
      this.handled++;
      this.metrics.ingested.inc({ topic: msg.name });
    } catch (err) {
      const reason = err instanceof IngestRefused ? err.reason : 'store-failed';
      this.metrics.ingestErrors.inc({ topic: msg.name, reason });
      this.log.warn('could not store an MQTT message', {
        agent: msg.agentId,
        topic: msg.name,
        reason,
        error: (err as Error).message,
      });
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** Resolves when every message received so far has been handled (tests, clean shutdown). */
  async drain(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('message');
      await client.endAsync();
    }
    await this.drain();
    this.state = 'stopped';
  }

  health(): Health {
    return {
      state: this.state,
      handled: this.handled,
      inFlight: this.inFlight,
      shareGroup: this.opts.shareGroup,
    };
  }
}
