/**
 * The agent's link to the bridge: one MQTT connection, a durable outbox, the
 * retained status and inventory, periodic health, motion events, and inbound
 * requests. Implements Service (lib/lifecycle.ts) and the protocol's
 * AgentPublisher, so a payload that does not match its topic does not compile.
 *
 * What goes where:
 * - status, cameras: retained latest state, published directly on every
 *   connect (a queue of stale states is worth nothing; the newest is kept).
 * - motion, replies, health: through the outbox, in order, surviving restarts.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { encode, lastWill, type AgentPublisher } from '../../protocol/codec.js';
import type { CameraInfo } from '../../protocol/schemas/cameras.js';
import type { HealthPayload } from '../../protocol/schemas/health.js';
import type { MotionPayload } from '../../protocol/schemas/motion.js';
import {
  TOPICS,
  agentSubscriptions,
  topicFor,
  type TopicName,
  type TopicPayload,
  type TopicsFrom,
} from '../../protocol/topics.js';
import type { LinkConfig } from './config.js';
import { MqttConnection, type TlsOptions } from './connection.js';
import { Outbox, type OutboxClass } from './outbox.js';
import { Pump } from './pump.js';
import { RequestRouter, type RequestHandlers } from './requests.js';

/** Subscribes a listener, returns the unsubscribe function (e.g. over an EventEmitter). */
export type Subscribe<T> = (listener: (event: T) => void) => () => void;

export interface LinkDeps {
  clock: Clock;
  log: Logger;
  agentVersion: string;
  /** When this agent process started (epoch ms), for `status`. */
  startedAt: number;
  /** Produces one health report; usually a HealthCollector. Without it, no health is sent. */
  health?: { collect(): Promise<HealthPayload>; lastCost?(): unknown };
  /** Motion episodes as they start and end; the link publishes each one. */
  motion?: Subscribe<MotionPayload>;
  handlers?: RequestHandlers;
}

const CLASS: Partial<Record<TopicName, OutboxClass>> = {
  motion: 'event',
  replies: 'reply',
  health: 'health',
};

export class Link implements Service, AgentPublisher {
  readonly name = 'link';
  private readonly outbox: Outbox;
  private conn: MqttConnection | undefined;
  private pump: Pump | undefined;
  private readonly router: RequestRouter;
  private inventory: Buffer | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private unsubscribeMotion: (() => void) | undefined;
  private state: Health['state'] = 'stopped';
  private readonly waiters = new Set<() => void>();
  private readonly requestsTopic: string;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly cfg: LinkConfig,
    private readonly deps: LinkDeps,
  ) {
    this.outbox = new Outbox({ ...cfg.outbox, log: deps.log.child({ part: 'outbox' }) });
    this.router = new RequestRouter(
      deps.handlers ?? {},
      cfg.requests,
      (r) => this.publish('replies', r),
      deps.clock,
      deps.log,
    );
    this.requestsTopic = topicFor('requests', cfg.agentId);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.state = 'starting';
    await this.outbox.open();
    signal.throwIfAborted();
    const conn = new MqttConnection({
      url: this.cfg.url,
      clientId: this.cfg.agentId,
      username: this.cfg.username,
      password: this.cfg.password,
      tls: await this.loadTls(),
      protocol: this.cfg.protocol,
      keepaliveS: this.cfg.keepaliveS,
      sessionExpiryS: this.cfg.sessionExpiryS,
      // Room for a too-large request to arrive and be answered `too-large`;
      // anything beyond is dropped by an MQTT 5 broker before it reaches us.
      maximumPacketSize: Math.max(this.cfg.requests.maxBytes * 4, 1 << 20),
      connectTimeoutMs: this.cfg.connectTimeoutMs,
      backoff: this.cfg.reconnect,
      will: () => {
        const w = lastWill(this.cfg.agentId, {
          agentVersion: this.deps.agentVersion,
          startedAt: this.deps.startedAt,
          now: this.deps.clock.now(),
        });
        return { topic: w.topic, payload: w.payload };
      },
      log: this.deps.log,
    });
    const pump = new Pump(
      this.outbox,
      conn,
      (name) => ({
        topic: topicFor(name as TopicName, this.cfg.agentId),
        qos: TOPICS[name as TopicName].qos === 0 ? 0 : 1,
      }),
      this.cfg.maxInflight,
      this.deps.log,
    );
    this.conn = conn;
    this.pump = pump;
    this.outbox.onReady(() => pump.kick());
    conn.on('up', (session) => void this.onUp(session.sessionPresent));
    conn.on('down', () => {
      this.state = 'degraded';
      pump.down();
    });
    conn.on('message', (topic, payload) => {
      if (topic === this.requestsTopic) void this.router.receive(payload);
      else this.deps.log.warn('message on an unexpected topic ignored', { topic });
    });
    this.state = 'degraded';
    conn.start();
    this.unsubscribeMotion = this.deps.motion?.((e) => {
      this.publish('motion', e).catch((err: unknown) =>
        this.deps.log.error('motion event not queued', { err: String(err) }),
      );
    });
    if (this.deps.health) this.scheduleHealth(this.deps.health);
  }

  /**
   * Queues (motion, replies, health) or publishes (status, cameras) a message.
   * Resolves once a queued message is on disk, not when it is delivered.
   */
  async publish<T extends TopicsFrom<'agent→bridge'>>(name: T, payload: TopicPayload<T>): Promise<void> {
    const bytes = encode(name, payload);
    const cls = CLASS[name];
    if (cls) {
      if (!(await this.outbox.append(cls, name, bytes)))
        this.deps.log.warn('outbox full: message dropped', { name });
      return;
    }
    if (name === 'cameras') this.inventory = bytes;
    if (this.conn?.up)
      await this.conn.publish(topicFor(name, this.cfg.agentId), bytes, 1, TOPICS[name].retained);
  }

  /** Replaces the retained inventory (no credentials: the schema refuses URLs and passwords). */
  setCameras(cameras: CameraInfo[]): Promise<void> {
    return this.publish('cameras', { v: 1, ts: this.deps.clock.now(), cameras });
  }

  /** Resolves when connected and subscribed to `requests` (immediately if so). For tests and the setup page. */
  whenUp(): Promise<void> {
    if (this.state === 'ok') return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** Idempotent: a second call while stopping waits for the first. */
  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    this.stopping ??= this.shutdown().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = undefined;
    this.unsubscribeMotion?.();
    const conn = this.conn;
    if (conn?.up) await this.drain(this.cfg.drainOnStopMs);
    const now = this.deps.clock.now();
    const offline = encode('status', {
      v: 1,
      ts: now,
      state: 'offline',
      agentVersion: this.deps.agentVersion,
      startedAt: this.deps.startedAt,
      reason: 'shutdown',
    });
    await conn?.stop({ topic: topicFor('status', this.cfg.agentId), payload: offline, timeoutMs: 2_000 });
    await this.outbox.close();
    this.state = 'stopped';
  }

  health(): Health {
    const conn = this.conn;
    return {
      state: this.state,
      ...(this.state === 'degraded' ? { detail: conn?.detail || 'not connected to the broker' } : {}),
      protocolVersion: conn?.up?.protocolVersion,
      outbox: this.outbox.stats(),
      delivery: this.pump?.stats(),
      requests: this.router.stats(),
      healthCost: this.deps.health?.lastCost?.(),
    };
  }

  private async onUp(sessionPresent: boolean): Promise<void> {
    const conn = this.conn;
    if (!conn?.up) return;
    const online = encode('status', {
      v: 1,
      ts: this.deps.clock.now(),
      state: 'online',
      agentVersion: this.deps.agentVersion,
      startedAt: this.deps.startedAt,
    });
    // Published before the pump starts, so `online` precedes the backlog.
    const status = conn.publish(topicFor('status', this.cfg.agentId), online, 1, true);
    const inv = this.inventory
      ? conn.publish(topicFor('cameras', this.cfg.agentId), this.inventory, 1, true)
      : undefined;
    this.pump?.up(conn.up);
    try {
      // With a present session the broker still has our subscription (MQTT-3.2.2-2);
      // subscribing again is harmless and covers a broker that lost its state. Only
      // after the SUBACK is the link "ok": from then on the broker queues our requests.
      await Promise.all([
        status,
        inv,
        ...agentSubscriptions(this.cfg.agentId).map((s) => conn.subscribe(s.filter, s.qos === 0 ? 0 : 1)),
      ]);
    } catch (err) {
      if (!conn.up) return; // the session already ended; the next one starts over
      this.deps.log.error('session setup incomplete', { sessionPresent, err: String(err) });
    }
    if (!conn.up) return;
    this.state = 'ok';
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  private scheduleHealth(source: { collect(): Promise<HealthPayload> }): void {
    const tick = async (): Promise<void> => {
      try {
        await this.publish('health', await source.collect());
      } catch (err) {
        this.deps.log.warn('health report failed', { err: String(err) });
      }
      if (this.stopping === undefined && this.state !== 'stopped')
        this.healthTimer = setTimeout(() => void tick(), this.cfg.healthIntervalMs);
    };
    this.healthTimer = setTimeout(() => void tick(), Math.min(1_000, this.cfg.healthIntervalMs));
  }

  private async drain(timeoutMs: number): Promise<void> {
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    while (this.outbox.stats().queued > 0 && this.conn?.up && this.deps.clock.monotonic() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async loadTls(): Promise<TlsOptions | undefined> {
    const t = this.cfg.tls;
    if (!t) return undefined;
    const pick = async (text?: string, file?: string): Promise<string | undefined> =>
      text ?? (file ? await readFile(file, 'utf8') : undefined);
    const out: TlsOptions = { rejectUnauthorized: t.rejectUnauthorized };
    const [ca, cert, key] = await Promise.all([
      pick(t.ca, t.caFile),
      pick(t.cert, t.certFile),
      pick(t.key, t.keyFile),
    ]);
    if (ca) out.ca = ca;
    if (cert) out.cert = cert;
    if (key) out.key = key;
    if (t.servername) out.servername = t.servername;
    return out;
  }
}
