import { describe, expect, it } from 'vitest';
import { TOPIC_NAMES, topicFor } from '../../protocol/topics.js';
import { HttpAuthenticator } from '../../simulator/onvif/http-auth.js';
import { digestAuthorization, parseChallenges } from '../../provisioning/http-auth.js';
import {
  BRIDGE_USERNAME,
  deviceSubscribeAllowed,
  devicePublishAllowed,
} from '../../cloud-bridge/enrollment/aedes-auth.js';
import { bridgeAcls, deviceAcls } from '../../cloud-bridge/enrollment/dynsec-roles.js';
import { isValidAgentId } from '../../protocol/topics.js';

describe('snapshot HTTP authentication (client side)', () => {
  const account = { username: 'installer', password: 'p"a\\ss, word' };
  const camera = new HttpAuthenticator(account, 'Lobby camera, floor 1');

  it('splits comma-joined challenges (how fetch reports several WWW-Authenticate headers)', () => {
    const cs = parseChallenges(camera.challenges({ basic: true }).join(', '));
    expect(cs.map((c) => [c.scheme, c.params['algorithm']])).toEqual([
      ['digest', 'SHA-256'],
      ['digest', 'MD5'],
      ['basic', undefined],
    ]);
    expect(cs[0]?.params['realm']).toBe('Lobby camera, floor 1');
  });

  it('answers Digest (RFC 7616) in a way a camera accepts, for SHA-256 and MD5', () => {
    for (const i of [0, 1]) {
      // A fresh nonce each time: the camera refuses a nonce-count it has seen (replay).
      const c = parseChallenges(camera.challenges().join(', '))[i]!;
      const header = digestAuthorization(c.params, account, 'GET', '/onvif/snapshot.jpg?x=1');
      expect(camera.verify(header, 'GET', '/onvif/snapshot.jpg?x=1')).toMatchObject({ ok: true });
      expect(camera.verify(header, 'GET', '/other')).toMatchObject({ ok: false });
      expect(header).not.toContain(account.password);
    }
    const wrong = digestAuthorization(
      parseChallenges(camera.challenges()[0] ?? '')[0]!.params,
      { ...account, password: 'x' },
      'GET',
      '/a',
    );
    expect(camera.verify(wrong, 'GET', '/a')).toMatchObject({ ok: false });
  });
});

describe('device topic rules (embedded broker and Mosquitto roles)', () => {
  const a = 'dev-0123456789abcdef';
  const b = 'dev-fedcba9876543210';

  it('lets a device publish only its own agent-to-bridge topics and subscribe only to its requests', () => {
    expect(devicePublishAllowed(a, topicFor('motion', a))).toBe(true);
    expect(devicePublishAllowed(a, topicFor('status', a))).toBe(true);
    expect(devicePublishAllowed(a, topicFor('motion', b))).toBe(false);
    expect(devicePublishAllowed(a, topicFor('requests', a))).toBe(false); // bridge-to-agent direction
    expect(devicePublishAllowed(a, `camconnect/v1/agents/${a}/motion/extra`)).toBe(false);
    expect(devicePublishAllowed(a, '$SYS/broker/uptime')).toBe(false);
    expect(deviceSubscribeAllowed(a, topicFor('requests', a))).toBe(true);
    for (const f of [
      topicFor('requests', b),
      'camconnect/v1/agents/+/requests',
      '#',
      `camconnect/v1/agents/${a}/#`,
    ]) {
      expect(deviceSubscribeAllowed(a, f), f).toBe(false);
    }
    expect(isValidAgentId(BRIDGE_USERNAME)).toBe(false); // no device can log in as the bridge
  });

  it('gives each Mosquitto device role exactly its own topics, and denies receiving anything else', () => {
    const acls = deviceAcls(a);
    const send = acls.filter((x) => x.acltype === 'publishClientSend').map((x) => x.topic);
    expect(send.sort()).toEqual(
      TOPIC_NAMES.filter((n) => n !== 'requests')
        .map((n) => topicFor(n, a))
        .sort(),
    );
    expect(acls.every((x) => !x.topic.includes('+'))).toBe(true);
    expect(acls).toContainEqual({ acltype: 'subscribeLiteral', topic: topicFor('requests', a), allow: true });
    expect(acls).toContainEqual({ acltype: 'publishClientReceive', topic: '#', allow: false, priority: 0 });
    expect(bridgeAcls()).toContainEqual({
      acltype: 'publishClientSend',
      topic: 'camconnect/v1/agents/+/requests',
      allow: true,
    });
  });
});
