/**
 * Ingest end to end: simulated agents publish over MQTT (embedded aedes, or Mosquitto when
 * MQTT_URL is set) and the registry (PGlite, or PostgreSQL when DATABASE_URL is set) shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicFor } from '../../protocol/topics.js';
import { SimAgent } from '../../cloud-bridge/testing/sim-agent.js';
import { eventually, runId, startTestBridge, type TestBridge } from '../helpers/bridge-env.js';

let tb: TestBridge;
const agents: SimAgent[] = [];

beforeAll(async () => {
  tb = await startTestBridge();
});
afterAll(async () => {
  for (const a of agents) {
    await a.close();
    await a.clearRetained();
  }
  await tb?.cleanup();
});

function agent(lat = 38.9, lon = -77.03): SimAgent {
  const a = new SimAgent({
    url: tb.bridge.mqttUrl,
    agentId: runId('ag').replace(/_/g, '-'),
    site: { lat, lon },
    cameras: [
      { id: 'front', lat, lon },
      { id: 'back', lat: lat + 0.0002, lon },
    ],
  });
  agents.push(a);
  return a;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${tb.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

describe('bridge ingest', () => {
  it('registers a device, ingests status, inventory, health and motion, and shows them in the API', async () => {
    const a = agent();
    const reg = await tb.api('POST', '/api/devices', a.registration('auto'));
    expect(reg.status).toBe(201);
    await a.connect();
    await a.online();
    await a.inventory();
    await a.health();
    await a.motion('front', 'ep1', 'start', Date.now() - 5000);
    await a.motion('front', 'ep1', 'end', Date.now() - 5000);

    const dev = await eventually(async (): Promise<unknown> => {
      const r = await tb.api('GET', `/api/devices/${a.agentId}`);
      const d = r.json;
      return d.status === 'online' && d.cameras.length === 2 && d.latestHealth && d.motion[0]?.endedAt
        ? d
        : null;
    }, 'device state');
    expect(dev.health).toBe('online');
    expect(dev.cameras.map((c: { id: string }) => c.id).sort()).toEqual(['back', 'front']);
    expect(dev.bufferSeconds).toBeGreaterThan(3600);
    expect(dev.healthHistory.length).toBe(1);

    const list = await tb.api('GET', '/api/devices', undefined, tb.auditorToken);
    expect(list.status).toBe(200);
    expect(list.json.devices.find((d: { id: string }) => d.id === a.agentId).motionLastHour).toBe(1);
  });

  it('marks a device degraded when a camera stalls, and offline on its last will', async () => {
    const a = agent(38.91, -77.02);
    await tb.api('POST', '/api/devices', a.registration('approve'));
    await a.connect();
    await a.online();
    await a.health({ recording: 'stalled' });
    await eventually(
      async () => (await tb.api('GET', `/api/devices/${a.agentId}`)).json.health === 'degraded',
      'degraded',
    );
    await a.close('crash');
    const dev = await eventually(async (): Promise<unknown> => {
      const d = (await tb.api('GET', `/api/devices/${a.agentId}`)).json;
      return d.status === 'offline' ? d : null;
    }, 'offline by last will');
    expect(dev.statusReason).toBe('lost');
  });

  it('counts malformed payloads and unknown devices without crashing', async () => {
    const a = agent();
    await tb.api('POST', '/api/devices', a.registration());
    await a.connect();
    const before = await metric('camconnect_bridge_ingest_errors_total');
    await a.publishRaw(topicFor('health', a.agentId), 'not json {');
    await a.publishRaw(topicFor('motion', a.agentId), JSON.stringify({ v: 1, ts: 1, phase: 'start' }));
    await a.publishRaw(topicFor('status', a.agentId), JSON.stringify({ v: 2, state: 'online' }));
    const stranger = agent();
    await stranger.connect();
    await stranger.health();
    await eventually(
      async () => (await metric('camconnect_bridge_ingest_errors_total')) >= before + 4,
      'errors counted',
    );
    const text = await (await fetch(`${tb.url}/metrics`)).text();
    expect(text).toMatch(/camconnect_bridge_ingest_errors_total\{topic="health",reason="invalid"\}/);
    expect(text).toMatch(/reason="unknown-device"/);
    // Still alive and ingesting.
    await a.online();
    await eventually(
      async () => (await tb.api('GET', `/api/devices/${a.agentId}`)).json.status === 'online',
      'still ingesting',
    );
  });
});
