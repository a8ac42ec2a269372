/**
 * Per-device access at a real Mosquitto running the shipped configuration
 * (deploy/mosquitto/mosquitto.conf and acl, rewritten only for paths and an
 * ephemeral loopback port), over TLS with a generated CA and passwords made by
 * mosquitto_passwd. Shows that agent A cannot publish as agent B nor read B's
 * requests, while the link itself works within its own prefix.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { makeRequest } from '../../protocol/envelope.js';
import { TOPIC_NAMES, subscriptionFilter, topicFor } from '../../protocol/topics.js';
import { OwnMosquitto, hasCommand } from '../helpers/mosquitto.js';
import { uniqueAgentId } from '../helpers/mqtt-broker.js';
import { Observer, makeLink, motionEvent, waitFor } from '../helpers/mqtt-link.js';

const available =
  (await hasCommand('mosquitto')) &&
  (await hasCommand('mosquitto_passwd')) &&
  (await hasCommand('openssl', ['version']));

describe.skipIf(!available)('per-device ACL at a real Mosquitto (shipped config, TLS)', () => {
  const a = uniqueAgentId('a');
  const b = uniqueAgentId('b');
  const pw = { [a]: 'pw-a-' + a, [b]: 'pw-b-' + b, bridge: 'pw-bridge' };
  let broker: OwnMosquitto;
  let bridge: Observer;
  const tls = () => ({ ca: broker.caPem, rejectUnauthorized: true });

  beforeAll(async () => {
    broker = await OwnMosquitto.start({
      tls: true,
      users: Object.entries(pw).map(([username, password]) => ({ username, password })),
    });
    bridge = await Observer.connect(broker.url, { username: 'bridge', password: pw['bridge'], ...tls() });
    for (const name of TOPIC_NAMES) await bridge.subscribe(subscriptionFilter(name));
  });
  afterAll(async () => {
    await bridge?.close();
    await broker?.close();
  });

  const asDevice = (id: string, version: 4 | 5 = 5) =>
    mqtt.connectAsync(broker.url, {
      username: id,
      password: pw[id],
      clientId: id,
      protocolVersion: version,
      reconnectPeriod: 0,
      ...tls(),
    });

  test('the link connects over TLS with CA + password and publishes under its own prefix', async () => {
    const t = await makeLink(broker.url, a, {
      config: { username: a, password: pw[a], tls: { ca: broker.caPem } },
    });
    await t.link.start(AbortSignal.timeout(30_000));
    await t.link.whenUp();
    await t.link.publish('motion', motionEvent(1));
    await waitFor(() => bridge.on(topicFor('motion', a)).length === 1, 'A motion at the bridge');
    await waitFor(() => bridge.on(topicFor('status', a)).length >= 1, 'A status at the bridge');
    expect(t.link.health()['protocolVersion']).toBe(5);
    await t.cleanup();
  });

  test('a wrong password and an untrusted CA are refused', async () => {
    await expect(
      mqtt.connectAsync(broker.url, { username: a, password: 'wrong', reconnectPeriod: 0, ...tls() }),
    ).rejects.toThrow();
    await expect(
      mqtt.connectAsync(broker.url, {
        username: a,
        password: pw[a],
        reconnectPeriod: 0,
        rejectUnauthorized: true,
      }),
    ).rejects.toThrow();
  });

  test('agent A cannot publish as agent B (MQTT 5: PUBACK 0x87; 3.1.1: silently dropped)', async () => {
    for (const version of [5, 4] as const) {
      const devA = await asDevice(a, version);
      const attempt = devA.publishAsync(topicFor('motion', b), JSON.stringify(motionEvent(99)), { qos: 1 });
      if (version === 5) await expect(attempt).rejects.toMatchObject({ code: 0x87 });
      else await attempt;
      await devA
        .publishAsync(topicFor('status', b), 'forged', { qos: 1, retain: true })
        .catch(() => undefined);
      // A's own topic goes through, so the silence above is the ACL, not a dead client.
      await devA.publishAsync(topicFor('motion', a), JSON.stringify(motionEvent(version)), { qos: 1 });
      await waitFor(
        () =>
          bridge
            .on(topicFor('motion', a))
            .some((m) => (m.json as { episodeId: string }).episodeId === `ep-${version}`),
        'A own message',
      );
      await devA.endAsync();
    }
    expect(bridge.on(topicFor('motion', b))).toEqual([]);
    expect(bridge.on(topicFor('status', b))).toEqual([]);
  });

  test("agent A cannot read B's requests, by name or by wildcard; B can", async () => {
    const devA = await asDevice(a);
    // Mosquitto 2.0 may grant the SUBSCRIBE: it checks read access for each
    // message it would deliver, so what matters is that nothing arrives.
    await devA.subscribeAsync([topicFor('requests', b), subscriptionFilter('requests'), '#'], { qos: 1 });
    const gotA: string[] = [];
    devA.on('message', (topic) => gotA.push(topic));
    const devB = await asDevice(b);
    await devB.subscribeAsync(topicFor('requests', b), { qos: 1 });
    const gotB: string[] = [];
    devB.on('message', (topic) => gotB.push(topic));
    const ping = JSON.stringify(makeRequest<'ping'>({ type: 'ping' }, { now: Date.now() }));
    await bridge.publish(topicFor('requests', b), ping);
    await waitFor(() => gotB.length === 1, 'B gets its request');
    // A device cannot write requests either (only the bridge may).
    await expect(devA.publishAsync(topicFor('requests', b), ping, { qos: 1 })).rejects.toMatchObject({
      code: 0x87,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(gotA).toEqual([]);
    expect(gotB).toEqual([topicFor('requests', b)]);
    await devA.endAsync();
    await devB.endAsync();
  });

  test("agent A cannot take over B's session by using B's client id", async () => {
    const devB = await asDevice(b);
    const intruder = await mqtt.connectAsync(broker.url, {
      username: a,
      password: pw[a],
      clientId: b,
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...tls(),
    });
    await new Promise((r) => setTimeout(r, 300));
    // use_username_as_clientid: the intruder became client "A"; B was not kicked off.
    expect(devB.connected).toBe(true);
    await intruder.endAsync();
    await devB.endAsync();
  });
});

describe.skipIf(!available)(
  'client certificates at a real Mosquitto (shipped config, certificate mode)',
  () => {
    const a = uniqueAgentId('ca');
    const b = uniqueAgentId('cb');
    let broker: OwnMosquitto;
    let bridge: Observer;

    beforeAll(async () => {
      broker = await OwnMosquitto.start({ users: [], clientCerts: [a, b, 'bridge'] });
      bridge = await Observer.connect(broker.url, { ca: broker.caPem, ...broker.certs.get('bridge') });
      for (const name of TOPIC_NAMES) await bridge.subscribe(subscriptionFilter(name));
    });
    afterAll(async () => {
      await bridge?.close();
      await broker?.close();
    });

    test('the link authenticates with its certificate (CN = agent id) and stays inside its prefix', async () => {
      const { cert, key } = broker.certs.get(a)!;
      const t = await makeLink(broker.url, a, { config: { tls: { ca: broker.caPem, cert, key } } });
      await t.link.start(AbortSignal.timeout(30_000));
      await t.link.whenUp();
      await t.link.publish('motion', motionEvent(1));
      await waitFor(() => bridge.on(topicFor('motion', a)).length === 1, 'A motion at the bridge');
      await t.cleanup();

      const devA = await mqtt.connectAsync(broker.url, {
        ca: broker.caPem,
        cert,
        key,
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      await expect(
        devA.publishAsync(topicFor('motion', b), JSON.stringify(motionEvent(2)), { qos: 1 }),
      ).rejects.toMatchObject({ code: 0x87 });
      await devA.endAsync();
      // Without a certificate there is no way in.
      await expect(
        mqtt.connectAsync(broker.url, { ca: broker.caPem, reconnectPeriod: 0, connectTimeout: 5_000 }),
      ).rejects.toThrow();
      expect(bridge.on(topicFor('motion', b))).toEqual([]);
    });
  },
);
