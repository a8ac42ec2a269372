/**
 * The last will: when the agent process dies without a word (SIGKILL), the
 * broker publishes its retained `offline` status with reason `lost`
 * (MQTT-3.1.2-8: the will is published when the network connection closes
 * without a DISCONNECT). Runs against aedes and, with MQTT_URL, the real Mosquitto.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { topicFor } from '../../protocol/topics.js';
import { brokerTargets, uniqueAgentId, type TestBroker } from '../helpers/mqtt-broker.js';
import { Observer, clearRetained, waitFor } from '../helpers/mqtt-link.js';

const CHILD = fileURLToPath(new URL('../helpers/mqtt-agent-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe.each(brokerTargets())('last will via $name', ({ start }) => {
  let broker: TestBroker;
  let bridge: Observer;
  beforeAll(async () => {
    broker = await start();
    bridge = await Observer.connect(broker.url);
  });
  afterAll(async () => {
    await bridge.close();
    await broker.close();
  });

  test('SIGKILL of the agent makes the broker publish retained offline (lost)', async () => {
    const agentId = uniqueAgentId('will');
    const status = topicFor('status', agentId);
    await bridge.subscribe(status);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'will-'));
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, broker.url, agentId, dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => out.includes('up') || child.exitCode !== null, 'agent child up');
      expect(child.exitCode, err).toBeNull();
      await waitFor(
        () => bridge.on(status).some((m) => (m.json as { state: string }).state === 'online'),
        'online',
      );
      child.kill('SIGKILL');
      await waitFor(
        () => bridge.on(status).some((m) => (m.json as { state: string }).state === 'offline'),
        'the will',
      );
      const will = bridge.on(status).find((m) => (m.json as { state: string }).state === 'offline')!;
      expect(will.json).toMatchObject({ v: 1, state: 'offline', reason: 'lost', agentVersion: '0.0.0-test' });

      // Retained: a bridge that connects afterwards learns the agent is gone.
      const late = await Observer.connect(broker.url);
      await late.subscribe(status);
      await waitFor(() => late.on(status).length === 1, 'retained status');
      expect(late.on(status)[0]).toMatchObject({ retain: true, json: { state: 'offline', reason: 'lost' } });
      await late.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await clearRetained(bridge, agentId);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
