/**
 * Test plumbing for the link: a loopback TCP proxy that can cut or block the
 * agent's connection to any broker (the real Mosquitto included, which tests
 * must not restart), an observing client standing in for the bridge, and a
 * factory for links with short intervals and a temp outbox.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { createLink, type Link, type LinkConfigInput, type LinkDeps } from '../../agent/link/index.js';
import { topicFor } from '../../protocol/topics.js';
import { proxyToUrl, type CutProxy } from './tcp-proxy.js';

/** The broker-side cut proxy (test/helpers/tcp-proxy.ts) under the name the link tests use. */
export type LinkProxy = CutProxy;
export const proxyTo = (url: string): Promise<LinkProxy> => proxyToUrl(url);

export interface Received {
  topic: string;
  payload: Buffer;
  json: unknown;
  retain: boolean;
}

/** A client in the bridge's seat: subscribes, records what arrives, publishes requests. */
export class Observer {
  readonly messages: Received[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch (err) {
        json = { unparsable: String(err) };
      }
      this.messages.push({ topic, payload, json, retain: packet.retain });
    });
  }

  static async connect(url: string, opts: IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 200,
      connectTimeout: 10_000,
      ...opts,
    });
    return new Observer(client);
  }

  async subscribe(filter: string, qos: 0 | 1 = 1): Promise<void> {
    await this.client.subscribeAsync(filter, { qos });
  }

  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos });
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Polls until `cond` holds; generous by default (shared 2-core machine). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface TestLink {
  link: Link;
  dir: string;
  cleanup(): Promise<void>;
}

/** A link with a temp outbox and fast reconnects; `over` adjusts config and deps. */
export async function makeLink(
  url: string,
  agentId: string,
  over: { config?: Partial<LinkConfigInput>; deps?: Partial<LinkDeps>; dir?: string } = {},
): Promise<TestLink> {
  const dir = over.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'link-')));
  const link = createLink(
    {
      agentId,
      url,
      outbox: { dir },
      reconnect: { initialMs: 100, maxMs: 1_000, factor: 2, floorMs: 20 },
      healthIntervalMs: 60_000,
      drainOnStopMs: 200,
      ...over.config,
    },
    {
      clock: systemClock,
      log: silentLogger,
      agentVersion: '0.0.0-test',
      startedAt: Date.now(),
      ...over.deps,
    },
  );
  return {
    link,
    dir,
    cleanup: async () => {
      await link.stop();
      if (!over.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A valid motion-start payload numbered i, for ordering checks. */
export function motionEvent(i: number): {
  v: 1;
  ts: number;
  episodeId: string;
  cameraId: string;
  startedAt: number;
  peakScore: number;
  source: 'pixel';
  phase: 'start';
} {
  const now = Date.now();
  return {
    v: 1,
    ts: now,
    episodeId: `ep-${i}`,
    cameraId: 'cam-1',
    startedAt: now,
    peakScore: 0.5,
    source: 'pixel',
    phase: 'start',
  };
}

/** Indexes of motion events in arrival order, from `ep-N` episode ids. */
export function episodeIndexes(msgs: { json: unknown }[]): number[] {
  return msgs.map((m) => Number((m.json as { episodeId: string }).episodeId.slice(3)));
}

/** First arrivals in order, duplicates (at-least-once redelivery) removed. */
export function firstArrivals(xs: number[]): number[] {
  const seen = new Set<number>();
  return xs.filter((x) => (seen.has(x) ? false : (seen.add(x), true)));
}

/** Leaves a shared broker as found: an empty retained message deletes one (MQTT-3.3.1-10). */
export async function clearRetained(observer: Observer, agentId: string): Promise<void> {
  for (const name of ['status', 'cameras'] as const) {
    await observer.client.publishAsync(topicFor(name, agentId), Buffer.alloc(0), { qos: 1, retain: true });
  }
}
