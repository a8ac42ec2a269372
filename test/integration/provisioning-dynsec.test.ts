/**
 * Enrollment end to end against a bridge on a real Mosquitto 2 with the dynamic security
 * plugin (our own instance on an ephemeral port): the bridge creates each device's client and
 * role through $CONTROL/dynamic-security/v1, Mosquitto enforces the topics (MQTT 5 reason code
 * 0x87 Not authorized), revocation deletes the client (DISCONNECT 0x98 Administrative action),
 * and a broker that is down makes enrollment fail without spending the token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outgoing } from '../../protocol/codec.js';
import { topicFor } from '../../protocol/topics.js';
import { motionPayload, statusPayload } from '../../cloud-bridge/testing/payloads.js';
import { enrollAgent } from '../../provisioning/enroll.js';
import { EnrollmentError } from '../../provisioning/errors.js';
import { eventually, startTestBridge, type TestBridge } from '../helpers/bridge-env.js';
import { DynsecMosquitto, dynsecAvailable } from '../helpers/mosquitto-dynsec.js';
import {
  connectDevice,
  enrollmentFailure,
  expectNotEnrolled,
  issuePayload,
  refusedConnect,
  subscribeCode,
  tempDir,
  whenClosed,
} from '../helpers/qr-enrollment.js';

const enroll = (payloadText: string, dataDir = tempDir()) => enrollAgent({ payloadText, dataDir });

describe.skipIf(!dynsecAvailable())('enrollment with Mosquitto dynamic security', () => {
  let mosq: DynsecMosquitto;
  let tb: TestBridge;

  beforeAll(async () => {
    mosq = await DynsecMosquitto.start();
    tb = await startTestBridge({ mqttUrl: mosq.adminUrl, config: { enrollment: { dynsec: true } } });
  });
  afterAll(async () => {
    await tb?.cleanup();
    await mosq?.close();
  });

  it('creates a Mosquitto client for the device; it connects and the bridge hears it', async () => {
    const state = await enroll((await issuePayload(tb)).payload);
    expect(state.mqtt.url).toBe(mosq.url); // the admin account is not handed out
    const client = await connectDevice(state, 5);
    const m = outgoing('status', state.agentId, statusPayload(Date.now(), 'online'));
    await client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    await eventually(
      async () => (await tb.api('GET', `/api/devices/${state.agentId}`)).json.status === 'online',
      'online',
    );
    // Clear the retained status so the broker keeps nothing of this test.
    await client.publishAsync(m.topic, Buffer.alloc(0), { qos: 1, retain: true });
    await client.endAsync();
  });

  it('accepts a token once', async () => {
    const { payload } = await issuePayload(tb);
    await enroll(payload);
    const dir = tempDir();
    expect((await enrollmentFailure(() => enroll(payload, dir))).reason).toBe('token-used');
    await expectNotEnrolled(dir);
  });

  it("keeps a device to its own topics: Mosquitto refuses another prefix and another's requests", async () => {
    const a = await enroll((await issuePayload(tb)).payload);
    const b = await enroll((await issuePayload(tb)).payload);
    const ca = await connectDevice(a, 5);
    const cb = await connectDevice(b, 5);
    const gotA: string[] = [];
    const gotB: string[] = [];
    ca.on('message', (t) => gotA.push(t));
    cb.on('message', (t) => gotB.push(t));
    expect(await subscribeCode(ca, topicFor('requests', a.agentId), 1)).toBe(1);
    expect(await subscribeCode(cb, topicFor('requests', b.agentId), 1)).toBe(1);
    expect(await subscribeCode(ca, topicFor('requests', b.agentId), 1)).toBe(0x87);
    expect(await subscribeCode(ca, 'camconnect/v1/agents/+/requests', 1)).toBe(0x87);
    expect(await subscribeCode(ca, topicFor('motion', b.agentId), 1)).toBe(0x87);

    await tb.bridge.link.publish(b.agentId, 'requests', {
      v: 1,
      ts: Date.now(),
      requestId: randomUUID(),
      type: 'ping',
    });
    await eventually(() => Promise.resolve(gotB.length > 0), 'B receives its request');

    // MQTT 5 §3.4.2.1: PUBACK 0x87 for a publish outside the device's prefix.
    const forged = outgoing('motion', b.agentId, motionPayload(Date.now(), 'cam1', 'forged-by-a', 'start'));
    await expect(ca.publishAsync(forged.topic, forged.payload, { qos: 1 })).rejects.toMatchObject({
      code: 0x87,
    });
    const genuine = outgoing('motion', b.agentId, motionPayload(Date.now(), 'cam1', 'genuine-b', 'start'));
    await cb.publishAsync(genuine.topic, genuine.payload, { qos: 1 });
    const episodes = async () =>
      (
        await tb.bridge.db.query<{ episode_id: string }>(
          'SELECT episode_id FROM motion_episodes WHERE device_id = $1',
          [b.agentId],
        )
      ).map((r) => r.episode_id);
    await eventually(async () => (await episodes()).includes('genuine-b'), "B's own episode stored");
    expect(await episodes()).toEqual(['genuine-b']);
    expect(gotA).toEqual([]);
    await ca.endAsync();
    await cb.endAsync();
  });

  it('revocation deletes the client: the open connection is closed and the device cannot return', async () => {
    const a = await enroll((await issuePayload(tb)).payload);
    const client = await connectDevice(a, 5);
    const reason = new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    const closed = whenClosed(client);
    const r = await tb.api('POST', `/api/devices/${a.agentId}/revoke`, {});
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ agentId: a.agentId, broker: 'dynsec' });
    expect(await reason).toBe(0x98); // MQTT 5 DISCONNECT: Administrative action
    await closed;
    expect((await refusedConnect(a, 5)).message).toMatch(/Not authorized/i);
    // Idempotent: the client is gone already, which counts as done.
    expect((await tb.api('POST', `/api/devices/${a.agentId}/revoke`, {})).status).toBe(200);
  });

  it('a broker that is down fails the enrollment without spending the token; it works once the broker is back', async () => {
    const { payload, id } = await issuePayload(tb);
    const dir = tempDir();
    await mosq.down();
    try {
      const err = await enrollmentFailure(() => enroll(payload, dir));
      expect(err.reason).toBe('broker-unavailable');
      expect(err.message).toMatch(/the code was not used/);
      await expectNotEnrolled(dir);
      const [row] = await tb.bridge.db.query<{ consumed_at: number | null }>(
        'SELECT consumed_at FROM enrollment_tokens WHERE id = $1',
        [id],
      );
      expect(row?.consumed_at).toBeNull();
    } finally {
      await mosq.up();
    }
    // The bridge reconnects by itself; until it has, enrollment keeps answering "try again".
    const state = await eventually(async () => {
      try {
        return await enroll(payload, dir);
      } catch (err) {
        if (err instanceof EnrollmentError && err.reason === 'broker-unavailable') return undefined;
        throw err;
      }
    }, 'enrollment after the broker is back');
    const client = await connectDevice(state, 5);
    await client.endAsync();
  });
});
