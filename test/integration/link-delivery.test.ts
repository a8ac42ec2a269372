/**
 * Delivery through the link against each broker target (embedded aedes; the
 * real Mosquitto when MQTT_URL is set). The agent reaches the broker through a
 * loopback proxy that can cut or block its connection, so even the shared
 * Mosquitto can be "unreachable" without being touched.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MotionPayload } from '../../protocol/schemas/motion.js';
import { makeReply, makeRequest } from '../../protocol/envelope.js';
import { topicFor } from '../../protocol/topics.js';
import { brokerTargets, uniqueAgentId, type TestBroker } from '../helpers/mqtt-broker.js';
import {
  Observer,
  clearRetained,
  episodeIndexes,
  firstArrivals,
  makeLink,
  motionEvent,
  proxyTo,
  waitFor,
  type LinkProxy,
} from '../helpers/mqtt-link.js';

describe.each(brokerTargets())('link delivery via $name', ({ start }) => {
  let broker: TestBroker;
  let proxy: LinkProxy;
  let bridge: Observer;

  beforeAll(async () => {
    broker = await start();
    proxy = await proxyTo(broker.url);
    bridge = await Observer.connect(broker.url);
  });
  afterAll(async () => {
    await bridge.close();
    await proxy.close();
    await broker.close();
  });

  test('retained online status and inventory on connect; offline (shutdown) on stop; health flows', async () => {
    const agentId = uniqueAgentId('status');
    const statusTopic = topicFor('status', agentId);
    await bridge.subscribe(statusTopic);
    await bridge.subscribe(topicFor('health', agentId), 0);
    const health = { collect: () => Promise.resolve(sampleHealth()) };
    const episodes = new EventEmitter<{ episode: [MotionPayload] }>();
    const motion = (fn: (e: MotionPayload) => void) => {
      episodes.on('episode', fn);
      return () => episodes.off('episode', fn);
    };
    await bridge.subscribe(topicFor('motion', agentId));
    const t = await makeLink(proxy.url, agentId, {
      config: { healthIntervalMs: 200 },
      deps: { health, motion },
    });
    await t.link.start(AbortSignal.timeout(30_000));
    await t.link.setCameras([
      {
        id: 'cam-1',
        name: 'Front door',
        location: { lat: 40.7, lon: -74 },
        streams: [{ role: 'main', width: 1920, height: 1080 }],
      },
    ]);
    await t.link.whenUp();
    await waitFor(
      () => bridge.on(statusTopic).some((m) => (m.json as { state: string }).state === 'online'),
      'online status',
    );
    await waitFor(() => bridge.on(topicFor('health', agentId)).length >= 2, 'two health reports');
    // Motion episodes arrive through the subscription the composition root hands in.
    episodes.emit('episode', motionEvent(7));
    await waitFor(() => bridge.on(topicFor('motion', agentId)).length === 1, 'motion episode');

    // A bridge that starts later still learns the inventory and the status: they are retained.
    const late = await Observer.connect(broker.url);
    await late.subscribe(topicFor('cameras', agentId));
    await late.subscribe(statusTopic);
    await waitFor(
      () => late.on(topicFor('cameras', agentId)).length === 1 && late.on(statusTopic).length === 1,
      'retained messages',
    );
    expect(late.on(topicFor('cameras', agentId))[0]!.retain).toBe(true);
    expect(JSON.stringify(late.on(topicFor('cameras', agentId))[0]!.json)).not.toMatch(/rtsp|password/i);
    await late.close();

    await t.cleanup();
    await waitFor(
      () => bridge.on(statusTopic).some((m) => (m.json as { reason?: string }).reason === 'shutdown'),
      'offline status',
    );
    expect(episodes.listenerCount('episode')).toBe(0); // stop() unsubscribed
    await clearRetained(bridge, agentId);
  });

  test('10,000 events queued while the link is down arrive in order after reconnect', async () => {
    const agentId = uniqueAgentId('replay');
    const motionTopic = topicFor('motion', agentId);
    // QoS 0 for the observer: the broker then forwards without its own per-client
    // queue limit (Mosquitto's max_queued_messages), so what is measured is the agent.
    await bridge.subscribe(motionTopic, 0);
    proxy.block();
    const t = await makeLink(proxy.url, agentId);
    await t.link.start(AbortSignal.timeout(30_000));
    for (let chunk = 0; chunk < 100; chunk++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => t.link.publish('motion', motionEvent(chunk * 100 + i))),
      );
    }
    expect(t.link.health()['outbox']).toMatchObject({ queued: 10_000 });
    proxy.unblock();
    await waitFor(
      () => new Set(episodeIndexes(bridge.on(motionTopic))).size === 10_000,
      '10,000 events',
      120_000,
    );
    expect(firstArrivals(episodeIndexes(bridge.on(motionTopic)))).toEqual(
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    await waitFor(() => (t.link.health()['outbox'] as { queued: number }).queued === 0, 'outbox empty');
    await t.cleanup();
    await clearRetained(bridge, agentId);
  });

  test('a link cut mid-publish loses no motion event and no reply, and keeps their order', async () => {
    const agentId = uniqueAgentId('cut');
    await bridge.subscribe(topicFor('motion', agentId));
    await bridge.subscribe(topicFor('replies', agentId));
    const t = await makeLink(proxy.url, agentId);
    await t.link.start(AbortSignal.timeout(30_000));
    await t.link.whenUp();
    const requestId = crypto.randomUUID();
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0)
        await t.link.publish(
          'replies',
          makeReply<'ack'>(requestId, { type: 'ack', detail: `r${i}` }, { now: Date.now(), seq: i }),
        );
      else await t.link.publish('motion', motionEvent(i));
      if (i === 100 || i === 200) proxy.cut();
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    const motion = () => bridge.on(topicFor('motion', agentId));
    const replies = () => bridge.on(topicFor('replies', agentId));
    await waitFor(
      () =>
        new Set(episodeIndexes(motion())).size === 270 &&
        new Set(replies().map((m) => (m.json as { seq: number }).seq)).size === 30,
      'all 300 messages',
    );
    expect(firstArrivals(episodeIndexes(motion()))).toEqual(
      Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 10 !== 0),
    );
    expect(firstArrivals(replies().map((m) => (m.json as { seq: number }).seq))).toEqual(
      Array.from({ length: 30 }, (_, i) => i * 10),
    );
    await t.cleanup();
    await clearRetained(bridge, agentId);
  });

  test('requests sent while the agent is away wait in its persistent session and are answered on return', async () => {
    const agentId = uniqueAgentId('session');
    await bridge.subscribe(topicFor('replies', agentId));
    const t = await makeLink(proxy.url, agentId);
    await t.link.start(AbortSignal.timeout(30_000));
    await t.link.whenUp();
    expect(t.link.health()['protocolVersion']).toBe(broker.kind === 'aedes' ? 4 : 5); // aedes speaks 3.1.1 only
    proxy.block();
    await waitFor(() => t.link.health()['state'] === 'degraded', 'link down');
    const ping = makeRequest<'ping'>({ type: 'ping' }, { now: Date.now() });
    await bridge.publish(topicFor('requests', agentId), JSON.stringify(ping));
    proxy.unblock();
    await waitFor(
      () =>
        bridge
          .on(topicFor('replies', agentId))
          .some((m) => (m.json as { requestId: string }).requestId === ping.requestId),
      'reply to the queued request',
    );
    await t.cleanup();
    await clearRetained(bridge, agentId);
  });

  test('events queued before an agent restart are delivered by the next process', async () => {
    const agentId = uniqueAgentId('restart');
    await bridge.subscribe(topicFor('motion', agentId));
    proxy.block();
    const first = await makeLink(proxy.url, agentId);
    await first.link.start(AbortSignal.timeout(30_000));
    for (let i = 0; i < 50; i++) await first.link.publish('motion', motionEvent(i));
    await first.link.stop();
    proxy.unblock();
    const second = await makeLink(proxy.url, agentId, { dir: first.dir });
    await second.link.start(AbortSignal.timeout(30_000));
    await waitFor(
      () => new Set(episodeIndexes(bridge.on(topicFor('motion', agentId)))).size === 50,
      '50 events',
    );
    expect(firstArrivals(episodeIndexes(bridge.on(topicFor('motion', agentId))))).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    await second.cleanup();
    await first.cleanup();
    await clearRetained(bridge, agentId);
  });
});

function sampleHealth() {
  return {
    v: 1 as const,
    ts: Date.now(),
    agentVersion: '0.0.0-test',
    system: {
      cpuLoadPct: 1,
      memory: { usedBytes: 1, totalBytes: 2 },
      volume: { usedBytes: 1, totalBytes: 2 },
      uptimeS: 1,
    },
    clock: { synced: true },
    cameras: [],
  };
}
