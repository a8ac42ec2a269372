/**
 * A simulated agent: a plain MQTT.js client that publishes protocol-encoded messages under its
 * own prefix, keeps a device key, answers incident requests, and uploads evidence with tus.
 * Tests use it in place of the real agent (issue 5/8); the bridge benchmark uses the payload
 * builders for its 10,000-agent load.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { decode, lastWill, outgoing } from '../../protocol/codec.js';
import { agentSubscriptions, topicFor, type TopicsFrom, type TopicPayload } from '../../protocol/topics.js';
import { exportPublicKeyRaw } from '../../protocol/signing.js';
import type { RequestPayload } from '../../protocol/schemas/requests.js';
import { camerasPayload, healthPayload, motionPayload, statusPayload, type SimCamera } from './payloads.js';

export interface SimAgentOptions {
  url: string;
  agentId: string;
  site: { lat: number; lon: number };
  cameras?: SimCamera[];
  protocolVersion?: 4 | 5;
  now?: () => number;
}

export class SimAgent {
  readonly agentId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly cameras: SimCamera[];
  readonly requests: RequestPayload[] = [];
  private client: MqttClient | undefined;
  private readonly waiters: ((r: RequestPayload) => boolean)[] = [];
  private seq = 0;
  private readonly now: () => number;

  constructor(private readonly opts: SimAgentOptions) {
    this.agentId = opts.agentId;
    const keys = generateKeyPairSync('ed25519');
    this.privateKey = keys.privateKey;
    this.publicKey = keys.publicKey;
    this.cameras = opts.cameras ?? [{ id: 'cam1', lat: opts.site.lat, lon: opts.site.lon }];
    this.now = opts.now ?? Date.now;
  }

  /** What provisioning would register for this device. */
  registration(policy: 'auto' | 'approve' | 'never' = 'auto') {
    return {
      id: this.agentId,
      publicKey: exportPublicKeyRaw(this.publicKey),
      siteName: `Site ${this.agentId}`,
      lat: this.opts.site.lat,
      lon: this.opts.site.lon,
      policy,
    };
  }

  async connect(): Promise<void> {
    const will = lastWill(this.agentId, {
      agentVersion: 'sim-1.0.0',
      startedAt: this.now(),
      now: this.now(),
    });
    const client = await mqtt.connectAsync(this.opts.url, {
      clientId: `sim-${this.agentId}`,
      protocolVersion: this.opts.protocolVersion ?? 4,
      clean: true,
      reconnectPeriod: 0,
      will: { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain },
    });
    this.client = client;
    client.on('message', (_topic, payload) => {
      const r = decode('requests', payload);
      if (!r.ok) return;
      this.requests.push(r.value);
      for (let i = this.waiters.length - 1; i >= 0; i--)
        if (this.waiters[i]?.(r.value)) this.waiters.splice(i, 1);
    });
    for (const s of agentSubscriptions(this.agentId)) await client.subscribeAsync(s.filter, { qos: s.qos });
  }

  async publish<T extends TopicsFrom<'agent→bridge'>>(name: T, payload: TopicPayload<T>): Promise<void> {
    if (!this.client) throw new Error('not connected');
    const m = outgoing(name, this.agentId, payload);
    await this.client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain });
  }

  /** Publishes raw bytes on one of this agent's topics (bad-input tests). */
  async publishRaw(topic: string, payload: string | Buffer): Promise<void> {
    if (!this.client) throw new Error('not connected');
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  online() {
    return this.publish('status', statusPayload(this.now(), 'online'));
  }
  health(opts?: Parameters<typeof healthPayload>[2]) {
    return this.publish(
      'health',
      healthPayload(
        this.now(),
        this.cameras.map((c) => c.id),
        opts,
      ),
    );
  }
  inventory() {
    return this.publish('cameras', camerasPayload(this.now(), this.cameras));
  }
  motion(cameraId: string, episodeId: string, phase: 'start' | 'end', startedAt?: number) {
    return this.publish('motion', motionPayload(this.now(), cameraId, episodeId, phase, startedAt));
  }

  /** Replies to a request with the next seq for this agent. */
  reply(body: Record<string, unknown> & { requestId: string; type: 'ack' | 'error' | 'incident-status' }) {
    return this.publish('replies', {
      v: 1,
      ts: this.now(),
      seq: this.seq++,
      ...body,
    } as TopicPayload<'replies'>);
  }

  /** Resolves with the first request (already received or future) that matches. */
  waitForRequest<T extends RequestPayload['type']>(
    type: T,
    pred: (r: Extract<RequestPayload, { type: T }>) => boolean = () => true,
  ) {
    return new Promise<Extract<RequestPayload, { type: T }>>((resolve) => {
      const test = (r: RequestPayload): boolean => {
        if (r.type !== type || !pred(r as Extract<RequestPayload, { type: T }>)) return false;
        resolve(r as Extract<RequestPayload, { type: T }>);
        return true;
      };
      if (!this.requests.some(test)) this.waiters.push(test);
    });
  }

  /**
   * Clears this agent's retained messages (status, cameras) on the broker with zero-byte
   * retained publishes, so a shared broker (Mosquitto with persistence) keeps no test residue.
   */
  async clearRetained(): Promise<void> {
    const client = await mqtt.connectAsync(this.opts.url, {
      clientId: `sim-clear-${this.agentId}`,
      protocolVersion: this.opts.protocolVersion ?? 4,
      reconnectPeriod: 0,
    });
    try {
      for (const name of ['status', 'cameras'] as const) {
        await client.publishAsync(topicFor(name, this.agentId), Buffer.alloc(0), { qos: 1, retain: true });
      }
    } finally {
      await client.endAsync();
    }
  }

  /** Ends the connection: cleanly, or by dropping the socket so the broker publishes the will. */
  async close(how: 'clean' | 'crash' = 'clean'): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (how === 'crash') {
      client.stream.destroy();
      await client.endAsync(true);
    } else await client.endAsync();
  }
}
