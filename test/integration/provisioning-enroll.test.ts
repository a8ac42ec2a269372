/**
 * Enrollment end to end against a running bridge with the embedded broker in `registry` mode:
 * QR payload from the API, device key made on the "agent", credentials that work at the broker
 * and only for the device's own topics, one use per token, revocation that disconnects, and
 * every bad input leaving no state behind (enrolling again works).
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outgoing } from '../../protocol/codec.js';
import {
  exportPublicKeyRaw,
  generateSigningKeyPair,
  importPrivateKeyRaw,
  publicKeyOf,
} from '../../protocol/signing.js';
import { topicFor } from '../../protocol/topics.js';
import { motionPayload, statusPayload } from '../../cloud-bridge/testing/payloads.js';
import { enrolledStatePath } from '../../provisioning/agent-state.js';
import { enrollAgent } from '../../provisioning/enroll.js';
import { decodePayload, encodePayload, PAYLOAD_PREFIX } from '../../provisioning/payload.js';
import { eventually, startTestBridge, type TestBridge } from '../helpers/bridge-env.js';
import {
  connectDevice,
  enrollmentFailure,
  expectNotEnrolled,
  issuePayload,
  refusedConnect,
  SITE,
  subscribeCode,
  tempDir,
  whenClosed,
} from '../helpers/qr-enrollment.js';

let tb: TestBridge;

beforeAll(async () => {
  // mqttUrl: undefined forces the embedded broker even when MQTT_URL points at a shared one.
  tb = await startTestBridge({ config: { mqttUrl: undefined, enrollment: { brokerAuth: 'registry' } } });
});
afterAll(async () => {
  await tb?.cleanup();
});

const enroll = (payloadText: string, dataDir = tempDir()) =>
  enrollAgent({ payloadText, dataDir, agentVersion: 'test' });

async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('enrollment with the embedded broker', () => {
  it('turns a QR payload into a device: 0600 state, registry entry, working MQTT credentials', async () => {
    const { payload } = await issuePayload(tb);
    expect(payload.startsWith(PAYLOAD_PREFIX)).toBe(true);
    const dataDir = tempDir();
    const state = await enroll(payload, dataDir);

    const file = enrolledStatePath(dataDir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(state);
    expect(state.site).toEqual({
      name: SITE.site,
      address: SITE.address,
      lat: SITE.lat,
      lon: SITE.lon,
      policy: SITE.policy,
    });
    expect(state.mqtt).toMatchObject({
      url: tb.bridge.mqttUrl,
      username: state.agentId,
      clientId: state.agentId,
    });
    expect(state.bridge).toMatchObject({ url: tb.url, rtccPublicKey: tb.bridge.rtccKey.publicKeyB64u });
    // The private key stays on the device; the bridge holds its public half.
    expect(exportPublicKeyRaw(publicKeyOf(importPrivateKeyRaw(state.device.privateKey)))).toBe(
      state.device.publicKey,
    );
    const device = await tb.api('GET', `/api/devices/${state.agentId}`);
    expect(device.status).toBe(200);
    expect(device.json).toMatchObject({
      id: state.agentId,
      siteName: SITE.site,
      policy: SITE.policy,
      lat: SITE.lat,
      lon: SITE.lon,
    });
    const [row] = await tb.bridge.db.query<{ public_key: string }>(
      'SELECT public_key FROM devices WHERE id = $1',
      [state.agentId],
    );
    expect(row?.public_key).toBe(state.device.publicKey);

    const client = await connectDevice(state, 4);
    const m = outgoing('status', state.agentId, statusPayload(Date.now(), 'online'));
    await client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    await eventually(
      async () => (await tb.api('GET', `/api/devices/${state.agentId}`)).json.status === 'online',
      'the device online',
    );
    await client.endAsync();
  });

  it('spends a token once even when two devices present it at the same moment', async () => {
    const { payload } = await issuePayload(tb);
    const dirs = [tempDir(), tempDir()];
    const results = await Promise.allSettled(dirs.map((d) => enroll(payload, d)));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected');
    expect((lost as PromiseRejectedResult).reason).toMatchObject({
      code: 'bridge-refused',
      reason: 'token-used',
    });
    await expectNotEnrolled(dirs[results.indexOf(lost!)]!);
  });

  it('accepts a token once: the second use is refused and leaves no state', async () => {
    const { payload } = await issuePayload(tb);
    await enroll(payload);
    const second = tempDir();
    const err = await enrollmentFailure(() => enroll(payload, second));
    expect(err.code).toBe('bridge-refused');
    expect(err.reason).toBe('token-used');
    expect(err.message).toMatch(/already used/);
    await expectNotEnrolled(second);
  });

  it("keeps a device to its own topics: no publishing under another prefix, no reading another's requests", async () => {
    const a = await enroll((await issuePayload(tb)).payload);
    const b = await enroll((await issuePayload(tb)).payload);
    const ca = await connectDevice(a, 4);
    const cb = await connectDevice(b, 4);
    const gotA: string[] = [];
    const gotB: string[] = [];
    ca.on('message', (t) => gotA.push(t));
    cb.on('message', (t) => gotB.push(t));
    expect(await subscribeCode(ca, topicFor('requests', a.agentId), 1)).toBe(1);
    expect(await subscribeCode(cb, topicFor('requests', b.agentId), 1)).toBe(1);
    // SUBACK 0x80 (MQTT 3.1.1 §3.9.3) for B's requests and for a wildcard over everyone's.
    expect(await subscribeCode(ca, topicFor('requests', b.agentId), 1)).toBe(128);
    expect(await subscribeCode(ca, 'camconnect/v1/agents/+/requests', 1)).toBe(128);
    expect(await subscribeCode(ca, '#', 0)).toBe(128);

    const ping = { v: 1 as const, ts: Date.now(), requestId: randomUUID(), type: 'ping' as const };
    await tb.bridge.link.publish(b.agentId, 'requests', ping);
    await eventually(() => Promise.resolve(gotB.length > 0), 'B receives its request');
    expect(gotA).toEqual([]);

    // A forges a motion episode as B: the broker drops A's connection and nothing reaches the bridge.
    const forged = outgoing('motion', b.agentId, motionPayload(Date.now(), 'cam1', 'forged-by-a', 'start'));
    const closed = whenClosed(ca);
    ca.publish(forged.topic, forged.payload, { qos: 1 });
    await closed;
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
    await cb.endAsync();
    await ca.endAsync(true);
  });

  it('refuses anonymous clients, wrong passwords and a borrowed client id', async () => {
    const a = await enroll((await issuePayload(tb)).payload);
    expect((await refusedConnect(a, 4, { username: undefined, password: undefined })).message).toMatch(
      /Not authorized/i,
    );
    expect((await refusedConnect(a, 4, { password: 'x'.repeat(43) })).message).toMatch(
      /Bad username or password/i,
    );
    expect((await refusedConnect(a, 4, { clientId: 'camconnect-bridge-x' })).message).toMatch(
      /Not authorized/i,
    );
    const anon = mqtt.connectAsync(tb.bridge.mqttUrl, { reconnectPeriod: 0, protocolVersion: 4 });
    await expect(anon).rejects.toThrow(/Not authorized/i);
  });

  it('revocation closes the open connection and the device cannot return', async () => {
    const a = await enroll((await issuePayload(tb)).payload);
    const client = await connectDevice(a, 4);
    const closed = whenClosed(client);
    const r = await tb.api('POST', `/api/devices/${a.agentId}/revoke`, {});
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ agentId: a.agentId, disconnected: 1, broker: 'embedded' });
    await closed;
    expect((await refusedConnect(a, 4)).message).toMatch(/Bad username or password/i);
    const [row] = await tb.bridge.db.query<{ revoked_at: number | null }>(
      'SELECT revoked_at FROM devices WHERE id = $1',
      [a.agentId],
    );
    expect(row?.revoked_at).toBe(r.json.revokedAt);
    // Revoking again is harmless; an unknown device is a 404.
    expect((await tb.api('POST', `/api/devices/${a.agentId}/revoke`, {})).status).toBe(200);
    expect((await tb.api('POST', '/api/devices/dev-nope/revoke', {})).status).toBe(404);
    expect((await tb.api('POST', `/api/devices/${a.agentId}/revoke`, {}, tb.auditorToken)).status).toBe(403);
  });

  it('an expired token is refused by the bridge, and a fresh one then works', async () => {
    const { payload, id } = await issuePayload(tb);
    await tb.bridge.db.query('UPDATE enrollment_tokens SET expires_at = $2 WHERE id = $1', [
      id,
      Date.now() - 1000,
    ]);
    const dataDir = tempDir();
    const err = await enrollmentFailure(() => enroll(payload, dataDir));
    expect(err.reason).toBe('token-expired');
    await expectNotEnrolled(dataDir);
    const state = await enroll((await issuePayload(tb)).payload, dataDir);
    expect(state.agentId).toMatch(/^dev-/);
  });

  it('a tampered or foreign QR is refused before the token is spent; the genuine one still works', async () => {
    const { payload } = await issuePayload(tb);
    const dataDir = tempDir();
    // Same token, same bridge, another policy: the signature no longer matches.
    const decoded = decodePayload(payload).payload;
    const forgedKey = generateSigningKeyPair().privateKey;
    const foreign = encodePayload({ ...decoded, policy: 'auto' }, forgedKey);
    expect((await enrollmentFailure(() => enroll(foreign, dataDir))).code).toBe('bad-signature');
    const bytes = Buffer.from(payload.slice(PAYLOAD_PREFIX.length), 'base64url');
    const siteAt = 31 + (bytes[29] ?? 0); // after the URL's length byte, the URL and the site's length byte
    bytes[siteAt] = (bytes[siteAt] ?? 0) ^ 0x20; // "Maple Court" becomes "maple Court"
    const tampered = PAYLOAD_PREFIX + bytes.toString('base64url');
    expect(decodePayload(tampered).payload.site).toBe('maple Court Apartments');
    expect((await enrollmentFailure(() => enroll(tampered, dataDir))).code).toBe('bad-signature');
    await expectNotEnrolled(dataDir);
    expect((await enroll(payload, dataDir)).agentId).toMatch(/^dev-/);
  });

  it('a bridge that is down is a clear error with nothing left behind', async () => {
    const { payload } = await issuePayload(tb);
    const p = decodePayload(payload).payload;
    const down = encodePayload(
      { ...p, bridgeUrl: `http://127.0.0.1:${await deadPort()}` },
      tb.bridge.rtccKey.privateKey,
    );
    const dataDir = tempDir();
    const err = await enrollmentFailure(() => enroll(down, dataDir));
    expect(err.code).toBe('bridge-unreachable');
    expect(err.message).toMatch(/cannot reach the bridge at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    await expectNotEnrolled(dataDir);
    expect((await enroll(payload, dataDir)).agentId).toMatch(/^dev-/);
  });

  it('refuses a public key the caller does not hold (proof of possession) without spending the token', async () => {
    const { payload } = await issuePayload(tb);
    const { token } = decodePayload(payload).payload;
    const victim = exportPublicKeyRaw(generateSigningKeyPair().publicKey);
    const r = await tb.api(
      'POST',
      '/api/enroll',
      { v: 1, token, publicKey: victim, proof: 'A'.repeat(86) },
      '',
    );
    expect(r.status).toBe(422);
    expect(r.json.type).toBe('urn:camconnect:problem:bad-proof');
    expect((await enroll(payload)).agentId).toMatch(/^dev-/);
  });

  it('refuses token requests that would not fit the QR code, and non-operators', async () => {
    const long = await tb.api('POST', '/api/enrollment-tokens', {
      ...SITE,
      bridgeUrl: `https://${'b'.repeat(100)}.gov`,
    });
    expect(long.status).toBe(422);
    expect(long.json.detail).toMatch(/96 bytes/);
    const r = await tb.api('POST', '/api/enrollment-tokens', { ...SITE, bridgeUrl: tb.url }, tb.auditorToken);
    expect(r.status).toBe(403);
  });

  it('lists the enrollment routes in the OpenAPI document', async () => {
    const doc = (await tb.api('GET', '/api/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/enroll', '/api/enrollment-tokens', '/api/devices/{id}/revoke']),
    );
    expect(doc.components.schemas.EnrollRequest.required).toEqual(
      expect.arrayContaining(['token', 'publicKey', 'proof']),
    );
  });
});
