import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  ProtocolError,
  TOPICS,
  TOPIC_NAMES,
  aclTopicPattern,
  agentSubscriptions,
  bridgeSubscriptions,
  decode,
  decodeMessage,
  encode,
  errorReply,
  isNewerReply,
  isReplyTo,
  lastWill,
  makeReply,
  makeRequest,
  outgoing,
  parseTopic,
  sanitizeMessage,
  sharedSubscriptionFilter,
  subscriptionFilter,
  topicFor,
  type AgentPublisher,
  type TopicMessage,
  type TopicPayload,
} from '../../protocol/index.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const RID = '0b6f3c1e-8a2d-4c53-9a51-2f0f3f6b9d10';
const status: TopicPayload<'status'> = {
  v: 1,
  ts: T0,
  state: 'online',
  agentVersion: '0.1.0',
  startedAt: T0,
};

describe('topic names', () => {
  it('builds and parses every topic of an agent', () => {
    for (const name of TOPIC_NAMES) {
      const topic = topicFor(name, 'site-42_A');
      expect(topic).toBe(`camconnect/v1/agents/site-42_A/${name}`);
      expect(parseTopic(topic)).toEqual({ agentId: 'site-42_A', name });
    }
  });

  it.each([
    ['a wildcard level', 'camconnect/v1/agents/+/status'],
    ['a multi-level wildcard', 'camconnect/v1/agents/#'],
    ['a wildcard in the id', 'camconnect/v1/agents/a+b/status'],
    ['a hash in the id', 'camconnect/v1/agents/a#/status'],
    ['an empty id', 'camconnect/v1/agents//status'],
    ['an over-long id', `camconnect/v1/agents/${'a'.repeat(65)}/status`],
    ['a NUL in the id', 'camconnect/v1/agents/a\u0000b/status'],
    ['an extra level', 'camconnect/v1/agents/a/b/status'],
    ['a trailing slash', 'camconnect/v1/agents/a/status/'],
    ['an unknown topic', 'camconnect/v1/agents/a/video'],
    ['another version', 'camconnect/v2/agents/a/status'],
    ['a shared-subscription prefix', '$share/g/camconnect/v1/agents/a/status'],
    ['a leading slash', '/camconnect/v1/agents/a/status'],
    ['an inherited property name', 'camconnect/v1/agents/a/constructor'],
  ])('parseTopic rejects %s', (_label, topic) => {
    expect(parseTopic(topic)).toBeNull();
  });

  it('accepts a 64-character id and refuses to build topics for bad ids', () => {
    expect(parseTopic(`camconnect/v1/agents/${'a'.repeat(64)}/health`)?.name).toBe('health');
    for (const id of ['', 'a/b', '+', '#', 'a\u0000', 'ü', 'x'.repeat(65)]) {
      expect(() => topicFor('status', id), JSON.stringify(id)).toThrow(RangeError);
    }
  });

  it('gives subscription filters, shared subscriptions and ACL patterns', () => {
    expect(subscriptionFilter('status')).toBe('camconnect/v1/agents/+/status');
    expect(sharedSubscriptionFilter('bridge', 'health')).toBe('$share/bridge/camconnect/v1/agents/+/health');
    expect(() => sharedSubscriptionFilter('a/b', 'health')).toThrow(RangeError);
    expect(() => sharedSubscriptionFilter('', 'health')).toThrow(RangeError);
    expect(aclTopicPattern('requests', '%u')).toBe('camconnect/v1/agents/%u/requests');
    expect(agentSubscriptions('a1')).toEqual([{ filter: 'camconnect/v1/agents/a1/requests', qos: 1 }]);
  });

  it('shares high-volume topics but keeps retained ones unshared (MQTT 5 §4.8.2)', () => {
    const subs = bridgeSubscriptions('bridges');
    expect(subs).toContainEqual({ filter: '$share/bridges/camconnect/v1/agents/+/health', qos: 0 });
    expect(subs).toContainEqual({ filter: '$share/bridges/camconnect/v1/agents/+/replies', qos: 1 });
    expect(subs).toContainEqual({ filter: 'camconnect/v1/agents/+/status', qos: 1 });
    expect(subs).toContainEqual({ filter: 'camconnect/v1/agents/+/cameras', qos: 1 });
    expect(subs.some((s) => s.filter.endsWith('/requests'))).toBe(false);
    expect(bridgeSubscriptions().every((s) => !s.filter.startsWith('$share'))).toBe(true);
  });

  it('declares QoS, retention and direction for every topic in DESIGN.md', () => {
    expect([...TOPIC_NAMES].sort()).toEqual(['cameras', 'health', 'motion', 'replies', 'requests', 'status']);
    expect(TOPICS.status.retained && TOPICS.cameras.retained).toBe(true);
    expect(TOPICS.requests.retained || TOPICS.health.retained).toBe(false);
    expect(TOPICS.requests.direction).toBe('bridge→agent');
  });
});

describe('encode and decode', () => {
  it('round-trips a payload with its type', () => {
    const decoded = decode('status', encode('status', status));
    expect(decoded).toEqual({ ok: true, value: status });
    if (decoded.ok) expectTypeOf(decoded.value).toEqualTypeOf<TopicMessage<'status'>>();
  });

  it('throws a ProtocolError when asked to encode an invalid payload', () => {
    const bad = { ...status, ts: -5 };
    expect(() => encode('status', bad)).toThrow(ProtocolError);
  });

  it('rejects oversize payloads before parsing them', () => {
    const huge = Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES + 1, 0x7b); // "{{{{…": would not even parse
    const result = decode('health', huge);
    expect(result.ok || result.error.code).toBe('too-large');
    expect(decode('status', encode('status', status), { maxBytes: 10 }).ok).toBe(false);
    expect(() => encode('status', status, { maxBytes: 10 })).toThrow(/bytes/);
  });

  it('reports invalid UTF-8, non-JSON and schema errors without throwing', () => {
    const codes = [
      decode('status', Buffer.from([0x7b, 0xff, 0x7d])),
      decode('status', 'not json'),
      decode('status', '{"v":1}'),
      decode('status', 'null'),
      decode('status', '[1,2]'),
    ].map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes).toEqual(['invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
  });

  it('says "unsupported" for another schema version or an unknown request type, keeping the request id', () => {
    const v2 = decode('status', JSON.stringify({ ...status, v: 2 }));
    expect(v2.ok || v2.error.code).toBe('unsupported');
    const unknown = decode('requests', JSON.stringify({ v: 1, ts: T0, requestId: RID, type: 'reboot' }));
    expect(unknown.ok ? null : unknown.error).toMatchObject({ code: 'unsupported', requestId: RID });
    const invalid = decode('requests', JSON.stringify({ v: 1, ts: T0, requestId: RID, type: 'ping', x: 1 }));
    expect(invalid.ok ? null : invalid.error).toMatchObject({ code: 'invalid', requestId: RID });
  });

  it('does not echo secret values in error messages', () => {
    const leaked = JSON.stringify({ v: 1, ts: T0, cameras: [], password: 'hunter2' });
    const result = decode('cameras', leaked);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain('password');
      expect(result.error.message).not.toContain('hunter2');
    }
  });

  it('decodes straight from a broker topic, attributing the agent', () => {
    const msg = outgoing('status', 'agent-7', status);
    expect(msg).toMatchObject({ topic: 'camconnect/v1/agents/agent-7/status', qos: 1, retain: true });
    const result = decodeMessage(msg.topic, msg.payload);
    expect(result.ok && result.value).toEqual({ agentId: 'agent-7', name: 'status', value: status });
    if (result.ok && result.value.name === 'status')
      expectTypeOf(result.value.value.state).toEqualTypeOf<'online' | 'offline'>();
    expect(decodeMessage('camconnect/v1/agents/+/status', msg.payload).ok).toBe(false);
  });

  it('builds the retained offline last will', () => {
    const will = lastWill('agent-7', { agentVersion: '0.1.0', startedAt: T0, now: T0 });
    expect(will).toMatchObject({ topic: 'camconnect/v1/agents/agent-7/status', qos: 1, retain: true });
    expect(decode('status', will.payload)).toMatchObject({
      ok: true,
      value: { state: 'offline', reason: 'lost' },
    });
  });
});

describe('request/reply envelope', () => {
  it('stamps requests with a fresh UUID and the caller clock', () => {
    const a = makeRequest({ type: 'ping' }, { now: T0 });
    const b = makeRequest({ type: 'ping' }, { now: T0 });
    expect(a.requestId).not.toBe(b.requestId);
    expect(a).toMatchObject({ v: 1, ts: T0, type: 'ping' });
    expect(decode('requests', encode('requests', a)).ok).toBe(true);
  });

  it('correlates replies and keeps the newest by seq', () => {
    const req = makeRequest({ type: 'ping' }, { now: T0, requestId: RID });
    const ack = makeReply(req.requestId, { type: 'ack' }, { now: T0 + 5, seq: 0 });
    expect(isReplyTo(ack, req)).toBe(true);
    expect(isNewerReply(undefined, ack)).toBe(true);
    expect(isNewerReply(ack, { seq: 0 })).toBe(false);
    expect(isNewerReply(ack, { seq: 1 })).toBe(true);
  });

  it('builds error replies that never carry credentials or control characters', () => {
    const reply = errorReply(
      RID,
      'internal',
      'ffmpeg failed on rtsp://admin:hunter2@10.0.0.5/stream1\npassword=hunter2 Authorization: Basic YWRtaW46aHVudGVy',
      { now: T0 },
    );
    expect(reply).toMatchObject({ type: 'error', code: 'internal', requestId: RID, seq: 0 });
    expect(reply.message).not.toMatch(/hunter2|YWRtaW46aHVudGVy|admin:|\n/);
    expect(decode('replies', encode('replies', reply)).ok).toBe(true);
  });

  it('strips user info even from nested or repeated URLs', () => {
    for (const text of ['a://b@c@d/x', 'rtsp://u:p@h rtsp://v:q@k', 'x://y://u:p@h', 'rtsp://u:p\u0001@h']) {
      const msg = sanitizeMessage(text);
      expect(msg, text).not.toMatch(/:\/\/[^\s/]*@/);
      expect(msg).not.toMatch(/\bp@|q@/);
    }
  });

  it('builds error replies for unreadable requests and cuts long messages', () => {
    const reply = errorReply(null, 'invalid', 'x'.repeat(2000), { now: T0 });
    expect(reply.requestId).toBeNull();
    expect(reply.message.length).toBeLessThanOrEqual(500);
  });
});

describe('typed publisher', () => {
  it('accepts matching payloads (type-checked at compile time; see test/types)', async () => {
    const sent: [string, unknown][] = [];
    const publisher: AgentPublisher = {
      publish: (name, payload) => {
        sent.push([name, encode(name, payload)]);
        return Promise.resolve();
      },
    };
    await publisher.publish('status', status);
    expect(sent).toHaveLength(1);
    type HealthArgs = Parameters<typeof publisher.publish<'health'>>;
    expectTypeOf<HealthArgs[1]>().toEqualTypeOf<TopicPayload<'health'>>();
  });
});
