import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { TOPICS, TOPIC_NAMES, aclTopicPattern } from '../../protocol/topics.js';

const acl = readFileSync(new URL('../../deploy/mosquitto/acl', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const conf = readFileSync(new URL('../../deploy/mosquitto/mosquitto.conf', import.meta.url), 'utf8');

describe('shipped Mosquitto configuration', () => {
  test("the ACL's device patterns are exactly the protocol's topics, by direction", () => {
    const patterns = acl.filter((l) => l.startsWith('pattern '));
    const expected = TOPIC_NAMES.map((name) =>
      TOPICS[name].direction === 'agent→bridge'
        ? `pattern write ${aclTopicPattern(name, '%u')}`
        : `pattern read ${aclTopicPattern(name, '%u')}`,
    );
    expect(patterns.sort()).toEqual(expected.sort());
    // Nothing broader: no wildcard and no readwrite grant for devices.
    expect(patterns.join('\n')).not.toMatch(/[#+]|readwrite/);
  });

  test('no anonymous access, TLS listener, usernames as client ids after the listener line', () => {
    const lines = conf.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toContain('allow_anonymous false');
    const listener = lines.findIndex((l) => l.startsWith('listener '));
    expect(lines.indexOf('use_username_as_clientid true')).toBeGreaterThan(listener);
    expect(lines.some((l) => l.startsWith('certfile '))).toBe(true);
    expect(lines.filter((l) => l.startsWith('listener ')).length).toBe(1);
  });
});
