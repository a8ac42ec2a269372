/**
 * Scale-out: two bridge instances on one Mosquitto and one PostgreSQL share ingest with an
 * MQTT 5 shared subscription (§4.8.2): every message is processed by exactly one of them, and
 * either instance answers for state the other ingested. Needs the real broker and server
 * (MQTT_URL and DATABASE_URL); aedes speaks no MQTT 5 and PGlite is one process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationPoint } from '../../protocol/geofence.js';
import { SimAgent } from '../../cloud-bridge/testing/sim-agent.js';
import {
  DATABASE_URL,
  MQTT_URL,
  dropSchema,
  eventually,
  runId,
  startTestBridge,
  type TestBridge,
} from '../helpers/bridge-env.js';

const enabled = Boolean(MQTT_URL && DATABASE_URL);
const CENTER = { lat: 40.7128, lon: -74.006 };
const AGENTS = 12;
const EPISODES = 8;
let a: TestBridge;
let b: TestBridge;
const schema = runId('bscale').toLowerCase();
const group = runId('g');
const agents: SimAgent[] = [];

async function ingested(tb: TestBridge, topic: string): Promise<number> {
  const m = await tb.bridge.metrics.ingested.get();
  return m.values.filter((v) => v.labels['topic'] === topic).reduce((s, v) => s + v.value, 0);
}

describe.skipIf(!enabled)('two bridge instances sharing ingest', () => {
  beforeAll(async () => {
    // Started together: both run migrations at once and must serialise on the advisory lock.
    [a, b] = (await Promise.all(
      ['a', 'b'].map((id) =>
        startTestBridge({ schema, config: { shareGroup: group, instanceId: `${group}-${id}` } }),
      ),
    )) as [TestBridge, TestBridge];
    for (let i = 0; i < AGENTS; i++) {
      const at = destinationPoint(CENTER, (i * 360) / AGENTS, 50 + i * 20);
      const agent = new SimAgent({
        url: MQTT_URL!,
        agentId: runId(`sc${i}`).replace(/_/g, '-'),
        site: at,
        cameras: [{ id: 'cam1', ...at }],
        protocolVersion: 5,
      });
      agents.push(agent);
      expect((await (i % 2 ? a : b).api('POST', '/api/devices', agent.registration())).status).toBe(201);
      await agent.connect();
    }
  });

  afterAll(async () => {
    for (const agent of agents) {
      await agent.close();
      await agent.clearRetained();
    }
    await a?.cleanup();
    await b?.cleanup();
    await dropSchema(schema);
  });

  it('processes each shared message exactly once across the two instances', async () => {
    for (const agent of agents) {
      for (let e = 0; e < EPISODES; e++) await agent.motion('cam1', `ep${e}`, 'start', Date.now() - 1000);
    }
    const total = AGENTS * EPISODES;
    await eventually(
      async () => (await ingested(a, 'motion')) + (await ingested(b, 'motion')) >= total,
      'all motion ingested',
    );
    // Give a duplicate, if the broker sent one, the chance to show up before counting exactly.
    await a.bridge.link.drain();
    await b.bridge.link.drain();
    const [na, nb] = [await ingested(a, 'motion'), await ingested(b, 'motion')];
    expect(na + nb).toBe(total);
    expect(na).toBeGreaterThan(0);
    expect(nb).toBeGreaterThan(0);
    const rows = await a.bridge.db.query<{ n: number }>('SELECT count(*)::int AS n FROM motion_episodes');
    expect(rows[0]!.n).toBe(total);
  });

  it('stores live retained messages (status, inventory) once, and a new instance still learns them', async () => {
    for (const agent of agents) {
      await agent.online();
      await agent.inventory();
    }
    const both = async (topic: string) => (await ingested(a, topic)) + (await ingested(b, topic));
    await eventually(
      async () => (await both('status')) >= AGENTS && (await both('cameras')) >= AGENTS,
      'retained ingested',
    );
    await a.bridge.link.drain();
    await b.bridge.link.drain();
    expect(await both('status')).toBe(AGENTS);
    expect(await both('cameras')).toBe(AGENTS);
    // A third instance joining the group gets the retained snapshot on its plain subscription.
    const c = await startTestBridge({ schema, config: { shareGroup: group } });
    try {
      await eventually(async () => (await ingested(c, 'status')) >= AGENTS, 'snapshot on the new instance');
    } finally {
      await c.cleanup();
    }
  });

  it('answers on one instance for an incident filed on the other and replies ingested by either', async () => {
    const res = await a.api('POST', '/api/incidents', {
      caseNumber: 'NY-1',
      reason: 'scale test',
      area: { kind: 'circle', center: CENTER, radiusM: 500 },
      from: Date.now() - 3600_000,
      to: Date.now(),
    });
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    expect(res.json.targets).toHaveLength(AGENTS);
    for (const agent of agents) {
      const cmd = await agent.waitForRequest('incident', (r) => r.incident.request.id === id);
      await agent.reply({
        requestId: cmd.requestId,
        type: 'incident-status',
        incidentId: id,
        outcome: 'done',
        cameras: [{ cameraId: 'cam1', state: 'declined' }],
      });
    }
    const view = await eventually(async (): Promise<unknown> => {
      const v = (await b.api('GET', `/api/incidents/${id}`)).json;
      return (v.targets as { state: string }[]).every((t) => t.state === 'done') ? v : null;
    }, 'replies visible on the other instance');
    expect(view.targets).toHaveLength(AGENTS);
    const replies = (await ingested(a, 'replies')) + (await ingested(b, 'replies'));
    expect(replies).toBe(AGENTS);
  });
});
