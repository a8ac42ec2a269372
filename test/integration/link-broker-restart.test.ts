/**
 * The broker restarts while the agent is publishing: nothing that must not be
 * lost (motion events, replies) is lost, and order holds. Runs against brokers
 * a test may restart: the embedded aedes (its persistence kept across the
 * restart, as a broker's disk would be) and a private Mosquitto running the
 * shipped configuration. The shared Mosquitto on 1883 is never restarted.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { makeReply } from '../../protocol/envelope.js';
import { topicFor } from '../../protocol/topics.js';
import { OwnMosquitto, hasCommand } from '../helpers/mosquitto.js';
import { startAedes, uniqueAgentId } from '../helpers/mqtt-broker.js';
import {
  Observer,
  episodeIndexes,
  firstArrivals,
  makeLink,
  motionEvent,
  waitFor,
  type TestLink,
} from '../helpers/mqtt-link.js';

interface Restartable {
  url: string;
  restart(): Promise<void>;
  close(): Promise<void>;
  /** Credentials for the agent and the bridge, where the broker wants them. */
  agent(id: string): { username?: string; password?: string };
  bridge(): { username?: string; password?: string };
  /** Messages in the order the broker received them, where the broker can tell us. */
  ingress?: (topic: string) => unknown[];
}

const mosquittoHere = (await hasCommand('mosquitto')) && (await hasCommand('mosquitto_passwd'));

const targets: { name: string; skip: boolean; start: (agentId: string) => Promise<Restartable> }[] = [
  {
    name: 'aedes (embedded)',
    skip: false,
    start: async () => {
      const b = await startAedes();
      return {
        url: b.url,
        restart: () => b.restart(),
        close: () => b.close(),
        agent: () => ({}),
        bridge: () => ({}),
        ingress: (topic) =>
          b.ingress.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload.toString()) as unknown),
      };
    },
  },
  {
    name: 'private Mosquitto (shipped config)',
    skip: !mosquittoHere,
    start: async (agentId) => {
      const m = await OwnMosquitto.start({
        users: [
          { username: agentId, password: 'pw-agent' },
          { username: 'bridge', password: 'pw-bridge' },
        ],
      });
      return {
        url: m.url,
        restart: () => m.restart(),
        close: () => m.close(),
        agent: (id) => ({ username: id, password: 'pw-agent' }),
        bridge: () => ({ username: 'bridge', password: 'pw-bridge' }),
      };
    },
  },
];

describe.each(targets)('broker restart: $name', ({ skip, start }) => {
  const open: { close(): Promise<void> }[] = [];
  let t: TestLink | undefined;
  afterEach(async () => {
    await t?.cleanup();
    for (const o of open.splice(0).reverse()) await o.close();
  });

  test.skipIf(skip)('a restart mid-publish loses no motion event or reply, and keeps order', async () => {
    const agentId = uniqueAgentId('brestart');
    const broker = await start(agentId);
    open.push(broker);
    // The bridge keeps a persistent session, so what arrives while it is reconnecting waits for it.
    const bridge = await Observer.connect(broker.url, {
      clean: false,
      clientId: `obs-${agentId}`.slice(0, 64),
      ...broker.bridge(),
    });
    open.push(bridge);
    await bridge.subscribe(topicFor('motion', agentId));
    await bridge.subscribe(topicFor('replies', agentId));

    t = await makeLink(broker.url, agentId, { config: broker.agent(agentId) });
    await t.link.start(AbortSignal.timeout(30_000));
    await t.link.whenUp();
    const requestId = crypto.randomUUID();
    let restarting: Promise<void> | undefined;
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0)
        await t.link.publish(
          'replies',
          makeReply<'ack'>(requestId, { type: 'ack' }, { now: Date.now(), seq: i }),
        );
      else await t.link.publish('motion', motionEvent(i));
      if (i === 100) restarting = broker.restart();
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await restarting;
    const motion = () => bridge.on(topicFor('motion', agentId));
    const replies = () => bridge.on(topicFor('replies', agentId)).map((m) => (m.json as { seq: number }).seq);
    await waitFor(
      () => new Set(episodeIndexes(motion())).size === 270 && new Set(replies()).size === 30,
      'all 300 messages',
      120_000,
    );
    // What the agent sent, in the order the broker took it. (aedes may hand a
    // reconnecting subscriber its offline queue and live messages interleaved,
    // so for it the subscriber's view proves no loss, the ingress proves order.)
    const seen = broker.ingress
      ? broker.ingress(topicFor('motion', agentId)).map((json) => ({ json }))
      : motion();
    expect(firstArrivals(episodeIndexes(seen))).toEqual(
      Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 10 !== 0),
    );
    const replySeqs = broker.ingress
      ? broker.ingress(topicFor('replies', agentId)).map((j) => (j as { seq: number }).seq)
      : replies();
    expect(firstArrivals(replySeqs)).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
    expect(t.link.health()['state']).toBe('ok');
  });
});
