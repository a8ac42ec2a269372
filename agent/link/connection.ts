/**
 * The one MQTT connection of the agent (DESIGN.md: only agent/link imports the
 * MQTT client). It owns reconnecting, so that backoff has jitter and the
 * protocol version can fall back: each attempt is a fresh MQTT.js client with
 * MQTT.js's own reconnect disabled (reconnectPeriod 0). Messages that must
 * survive a dropped attempt are not kept here but in the outbox, which
 * republishes them on the next session.
 */
import { EventEmitter } from 'node:events';
import mqtt from 'mqtt';
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';
import type { Logger } from '../../lib/log.js';
import { redactUrl } from '../../lib/redact.js';
import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true; false only for a lab broker with a self-signed certificate. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface WillMessage {
  topic: string;
  payload: Buffer;
}

export interface ConnectionOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  tls?: TlsOptions;
  /** 'auto': MQTT 5, falling back to 3.1.1 when the broker refuses version 5. */
  protocol: 'auto' | 5 | 4;
  keepaliveS: number;
  /** MQTT 5 Session Expiry Interval (§3.1.2.11.2): how long the broker keeps our session and queued requests. */
  sessionExpiryS: number;
  /** MQTT 5 Maximum Packet Size (§3.1.2.11.4): the broker drops larger messages instead of sending them. */
  maximumPacketSize: number;
  connectTimeoutMs: number;
  backoff: BackoffOptions;
  /** Called before each attempt: the will carries the attempt's timestamp. */
  will: () => WillMessage;
  log: Logger;
  random?: () => number;
}

export interface SessionInfo {
  protocolVersion: 4 | 5;
  sessionPresent: boolean;
  /** How many QoS 1 publishes the broker accepts in flight (MQTT 5 Receive Maximum, §3.2.2.3.3). */
  receiveMaximum: number;
}

export interface ConnectionEvents {
  up: [SessionInfo];
  down: [string];
  message: [string, Buffer];
}

/** CONNACK codes meaning "not this protocol version": 3.1.1 return code 1 (MQTT-3.1.2-2), MQTT 5 0x84. */
const UNSUPPORTED_VERSION = new Set([1, 0x84]);

export class MqttConnection extends EventEmitter<ConnectionEvents> {
  private client: MqttClient | undefined;
  private version: 4 | 5;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private session: SessionInfo | undefined;
  private lastError = '';

  constructor(private readonly opts: ConnectionOptions) {
    super();
    this.version = opts.protocol === 4 ? 4 : 5;
    this.backoff = new Backoff(opts.backoff, opts.random);
  }

  /** Starts connecting in the background; the agent records whether or not the broker is reachable. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt();
  }

  get up(): SessionInfo | undefined {
    return this.session;
  }

  get detail(): string {
    return this.lastError;
  }

  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean): Promise<void> {
    const c = this.client;
    if (!c || !this.session) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      c.publish(topic, payload, { qos, retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    const c = this.client;
    if (!c || !this.session) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      c.subscribe(topic, { qos }, (err, granted) => {
        if (err) return reject(err);
        // SUBACK 0x80 (3.1.1) or >= 0x80 (MQTT 5 §3.9.3): refused, typically by the ACL.
        const g = granted?.[0]?.qos ?? 0x80;
        if (g >= 0x80) reject(new Error(`subscription to ${topic} refused (code ${g})`));
        else resolve();
      });
    });
  }

  /**
   * Ends the connection. With `final`, publishes it (QoS 1) first: a normal
   * DISCONNECT discards the will (MQTT-3.14.4-3), so a clean stop says
   * `offline` itself.
   */
  async stop(final?: WillMessage & { timeoutMs: number }): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    if (!c) return;
    if (final && this.session) {
      await Promise.race([
        this.publish(final.topic, final.payload, 1, true).catch((err: unknown) =>
          this.opts.log.warn('could not publish final status', { err: String(err) }),
        ),
        new Promise((r) => setTimeout(r, final.timeoutMs).unref()),
      ]);
    }
    this.client = undefined;
    this.session = undefined;
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    c.removeAllListeners();
  }

  private attempt(): void {
    if (this.stopped) return;
    const will = this.opts.will();
    const v = this.version;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      protocolVersion: v,
      // MQTT-3.1.2-4 / MQTT 5 Clean Start = 0: keep the session, so `requests`
      // sent while we were away are queued by the broker (QoS 1 subscription).
      clean: false,
      keepalive: this.opts.keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: will.topic, payload: will.payload, qos: 1, retain: true },
      ...(v === 5
        ? {
            properties: {
              sessionExpiryInterval: this.opts.sessionExpiryS,
              maximumPacketSize: this.opts.maximumPacketSize,
            },
          }
        : {}),
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      ...(this.opts.tls ?? {}),
    };
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    let connackError: number | undefined;
    client.on('connect', (connack: IConnackPacket) => {
      if (client !== this.client) return;
      this.backoff.reset();
      this.lastError = '';
      this.session = {
        protocolVersion: v,
        sessionPresent: connack.sessionPresent,
        receiveMaximum: connack.properties?.receiveMaximum ?? 65_535,
      };
      this.opts.log.info('mqtt connected', {
        url: redactUrl(this.opts.url),
        protocolVersion: v,
        sessionPresent: connack.sessionPresent,
      });
      this.emit('up', this.session);
    });
    client.on('message', (topic, payload) => {
      if (client === this.client) this.emit('message', topic, payload);
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') connackError = code;
      this.lastError = err.message;
    });
    client.on('close', () => {
      if (client !== this.client) return;
      const wasUp = this.session !== undefined;
      this.session = undefined;
      this.client = undefined;
      client.removeAllListeners('message');
      client.end(true);
      if (wasUp) this.emit('down', this.lastError || 'connection closed');
      if (this.stopped) return;
      let delay = this.backoff.next();
      if (
        !wasUp &&
        this.opts.protocol === 'auto' &&
        v === 5 &&
        connackError !== undefined &&
        UNSUPPORTED_VERSION.has(connackError)
      ) {
        this.version = 4;
        delay = 0;
        this.opts.log.info('broker refused MQTT 5; falling back to 3.1.1');
      } else {
        this.opts.log.warn('mqtt connection lost; retrying', {
          inMs: delay,
          reason: this.lastError || 'closed',
        });
      }
      this.timer = setTimeout(() => this.attempt(), delay);
    });
  }
}
