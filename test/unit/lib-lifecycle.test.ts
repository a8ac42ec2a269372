import { describe, expect, it } from 'vitest';
import { Composition, type Health, type Service } from '../../lib/lifecycle.js';

function part(name: string, events: string[], failStart = false): Service {
  let state: Health['state'] = 'stopped';
  return {
    name,
    start: () => {
      events.push(`start ${name}`);
      if (failStart) return Promise.reject(new Error(`${name} cannot start`));
      state = 'ok';
      return Promise.resolve();
    },
    stop: () => {
      events.push(`stop ${name}`);
      state = 'stopped';
      return Promise.resolve();
    },
    health: () => ({ state }),
  };
}

describe('Composition', () => {
  it('starts in order and stops in reverse', async () => {
    const events: string[] = [];
    const c = new Composition([part('a', events), part('b', events), part('c', events)]);
    await c.start(new AbortController().signal);
    expect(c.health().state).toBe('ok');
    await c.stop();
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('stops what already started when a later part fails to start', async () => {
    const events: string[] = [];
    const c = new Composition([part('a', events), part('b', events, true), part('c', events)]);
    await expect(c.start(new AbortController().signal)).rejects.toThrow('b cannot start');
    expect(events).toEqual(['start a', 'start b', 'stop a']);
  });
});
