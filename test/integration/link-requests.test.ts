/**
 * Hostile `requests` against an agent running in its own process: malformed,
 * unknown, oversized and a flood. Each gets an error reply (the flood: `busy`
 * until the error budget is spent), the agent stays up, and its stand-in
 * recorder (a timer in the agent process printing ticks) keeps ticking.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeRequest } from '../../protocol/envelope.js';
import { topicFor } from '../../protocol/topics.js';
import { brokerTargets, uniqueAgentId, type TestBroker } from '../helpers/mqtt-broker.js';
import { Observer, clearRetained, waitFor } from '../helpers/mqtt-link.js';

const CHILD = fileURLToPath(new URL('../helpers/mqtt-agent-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe.each(brokerTargets())('hostile requests via $name', ({ start }) => {
  let broker: TestBroker;
  let bridge: Observer;
  let child: ChildProcess;
  let out = '';
  let dir: string;
  const agentId = uniqueAgentId('req');
  const ticks = (): number => Number([...out.matchAll(/tick (\d+)/g)].at(-1)?.[1] ?? 0);

  beforeAll(async () => {
    broker = await start();
    bridge = await Observer.connect(broker.url);
    await bridge.subscribe(topicFor('replies', agentId));
    dir = await mkdtemp(path.join(os.tmpdir(), 'req-'));
    child = spawn(process.execPath, ['--import', 'tsx', CHILD, broker.url, agentId, dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
    await waitFor(() => out.includes('up') || child.exitCode !== null, 'agent child up');
    expect(child.exitCode).toBeNull();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await clearRetained(bridge, agentId);
    await bridge.close();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  const replies = () =>
    bridge
      .on(topicFor('replies', agentId))
      .map((m) => m.json as { type: string; code?: string; requestId: string | null });
  const requests = topicFor('requests', agentId);

  test('malformed, unknown and oversized requests get error replies; a ping gets ack', async () => {
    const unknownId = crypto.randomUUID();
    await bridge.publish(requests, '{not json');
    await bridge.publish(
      requests,
      JSON.stringify({ v: 1, ts: 1, requestId: unknownId, type: 'self-destruct' }),
    );
    await bridge.publish(requests, Buffer.alloc(300 * 1024, 0x41));
    await bridge.publish(requests, JSON.stringify({ v: 1, type: 'ping' }));
    const ping = makeRequest<'ping'>({ type: 'ping' }, { now: Date.now() });
    await bridge.publish(requests, JSON.stringify(ping));
    await waitFor(() => replies().length === 5, 'five replies');
    expect(replies().map((r) => r.code ?? r.type)).toEqual([
      'invalid',
      'unsupported',
      'too-large',
      'invalid',
      'ack',
    ]);
    expect(replies()[1]!.requestId).toBe(unknownId);
    expect(replies()[4]!.requestId).toBe(ping.requestId);
    expect(child.exitCode).toBeNull();
  });

  test('a flood is answered busy and the recorder keeps running; the agent answers again afterwards', async () => {
    const before = replies().length;
    const ticksBefore = ticks();
    const flood = Array.from({ length: 500 }, () =>
      JSON.stringify(makeRequest<'ping'>({ type: 'ping' }, { now: Date.now() })),
    );
    await Promise.all(flood.map((f) => bridge.publish(requests, f)));
    await waitFor(
      () =>
        replies()
          .slice(before)
          .some((r) => r.code === 'busy'),
      'busy replies',
    );
    const floodReplies = () => replies().slice(before);
    expect(floodReplies().every((r) => r.type === 'ack' || r.code === 'busy')).toBe(true);
    // The stand-in recorder lives in the agent's process: it ticked on through the flood.
    await waitFor(() => ticks() > ticksBefore + 3, 'recorder ticks after the flood');
    expect(child.exitCode).toBeNull();

    // Once the bucket refills, requests are served again: keep asking until one is.
    const asked = new Set<string>();
    let polls = 0;
    await waitFor(() => {
      if (replies().some((r) => r.type === 'ack' && r.requestId !== null && asked.has(r.requestId)))
        return true;
      if (polls++ % 25 !== 0) return false; // about two pings a second
      const ping = makeRequest<'ping'>({ type: 'ping' }, { now: Date.now() });
      asked.add(ping.requestId);
      void bridge.publish(requests, JSON.stringify(ping));
      return false;
    }, 'an ack after the flood');
  });
});
