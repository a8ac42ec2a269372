/**
 * `npm run bench -- bridge`: the bridge under a city's load, on the real broker and database.
 *
 * 1. Registry: 10,000 devices with one camera each, spread over a 20 km square; the inventory
 *    arrives over MQTT like an agent's would.
 * 2. Fan-out: time to create, sign, store and publish an incident over that registry (target:
 *    under 100 ms), against a same-run baseline that scans every camera instead of the index.
 * 3. Steady load: every agent reports health every 30 s and random bursts of motion; ingest
 *    messages per second per bridge against a bare MQTT.js subscriber on the same broker.
 * 4. Flood: every agent publishes at once; sustained ingest rate against the bare subscriber.
 *
 * Two bridge instances share ingest (MQTT 5 shared subscriptions) when a PostgreSQL server is
 * given (--database-url or DATABASE_URL); with none, one instance runs on PGlite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { outgoing } from '../protocol/codec.js';
import { destinationPoint, distanceToAreaM, type Area } from '../protocol/geofence.js';
import { parseTopic, subscriptionFilter, topicFor } from '../protocol/topics.js';
import { exportPublicKeyRaw, generateSigningKeyPair } from '../protocol/signing.js';
import { Bridge } from '../cloud-bridge/bridge.js';
import { registerDevices } from '../cloud-bridge/registry/devices.js';
import { findTargets } from '../cloud-bridge/registry/query.js';
import { camerasPayload, healthPayload, motionPayload } from '../cloud-bridge/testing/payloads.js';

export const description =
  'bridge ingest msg/s per instance vs a bare MQTT.js subscriber (10,000 simulated agents), and incident fan-out time over 10,000 devices vs a full scan';

const CITY = { lat: 38.9, lon: -77.03 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function site(i: number, n: number) {
  // A deterministic spiral-free grid with jitter: an even spread like a city's businesses.
  const side = Math.ceil(Math.sqrt(n));
  const x = ((i % side) + 0.5) / side - 0.5;
  const y = (Math.floor(i / side) + 0.5) / side - 0.5;
  const east = destinationPoint(CITY, 90, x * 20_000);
  return destinationPoint(east, 0, y * 20_000);
}

/** Waits until fn() stops changing for quietMs (or reaches target). */
async function settle(
  fn: () => Promise<number> | number,
  target: number,
  quietMs = 3000,
  maxMs = 300_000,
): Promise<{ value: number; at: number }> {
  const start = Date.now();
  let last = await fn();
  let lastChange = Date.now();
  while (last < target && Date.now() - lastChange < quietMs && Date.now() - start < maxMs) {
    await sleep(50);
    const v = await fn();
    if (v !== last) {
      last = v;
      lastChange = Date.now();
    }
  }
  return { value: last, at: last >= target ? Date.now() : lastChange };
}

/**
 * Publishes `total` messages keeping at most `window` of them unconsumed (sent minus
 * progress()). Mosquitto holds at most 1000 queued QoS 1 messages per subscriber by default
 * (max_queued_messages) and drops the rest, so an open-loop flood measures the broker's queue
 * limit, not the consumer. A closed loop measures what the consumer sustains. Returns the
 * seconds from the first publish until progress() reached total (or stopped moving).
 */
async function paced(
  total: number,
  send: (k: number) => Promise<unknown>,
  progress: () => number,
  window = 800,
): Promise<{ seconds: number; done: number }> {
  const start = Date.now();
  const base = progress();
  const pending = new Set<Promise<unknown>>();
  let k = 0;
  let seen = progress();
  let movedAt = Date.now();
  while (k < total) {
    const now = progress();
    if (now !== seen) [seen, movedAt] = [now, Date.now()];
    // Messages lost on the way (QoS 0 under pressure) would hold the window shut for ever.
    if (Date.now() - movedAt > 10_000) break;
    const room = window - (k - (now - base));
    if (room <= 0 || pending.size >= window) {
      await sleep(2);
      continue;
    }
    for (let j = 0; j < room && k < total; j++, k++) {
      const p = send(k).finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(0);
  }
  await Promise.allSettled([...pending]);
  const end = await settle(() => progress() - base, total);
  return { seconds: (end.at - start) / 1000, done: end.value };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string', default: '10000' },
      connections: { type: 'string', default: '200' },
      'mqtt-url': { type: 'string', default: process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883' },
      'database-url': { type: 'string', default: process.env['DATABASE_URL'] ?? '' },
      'steady-seconds': { type: 'string', default: '30' },
      incidents: { type: 'string', default: '20' },
    },
  });
  const N = Number(values.agents);
  const C = Math.min(N, Number(values.connections));
  const mqttUrl = values['mqtt-url'];
  const dbUrl = values['database-url'] || undefined;
  const steadyMs = Number(values['steady-seconds']) * 1000;
  const run = `bench${randomBytes(3).toString('hex')}`;
  const schema = dbUrl ? `${run}_schema` : undefined;
  const ids = Array.from({ length: N }, (_, i) => `${run}-${i}`);
  const dirs: string[] = [];
  const out = (s: string) => process.stdout.write(s + '\n');
  out(
    `agents ${fmt(N)} over ${C} connections · broker ${mqttUrl} · database ${dbUrl ? 'PostgreSQL (2 bridge instances, shared subscriptions)' : 'PGlite (1 bridge instance)'}`,
  );

  const bridges: Bridge[] = [];
  const publishers: MqttClient[] = [];
  let bare: MqttClient | undefined;
  try {
    // The bare subscriber: plain MQTT.js on the same filters (not shared: it sees everything).
    let bareCount = 0;
    bare = await mqtt.connectAsync(mqttUrl, { clientId: `${run}-bare`, protocolVersion: 5 });
    bare.on('message', (topic) => {
      const t = parseTopic(topic);
      if (t && (t.name === 'health' || t.name === 'motion') && t.agentId.startsWith(run)) bareCount++;
    });
    await bare.subscribeAsync({
      [subscriptionFilter('health')]: { qos: 0 },
      [subscriptionFilter('motion')]: { qos: 1 },
    });
    for (let c = 0; c < C; c++)
      publishers.push(await mqtt.connectAsync(mqttUrl, { clientId: `${run}-pub${c}`, protocolVersion: 5 }));
    const send = (i: number, m: ReturnType<typeof outgoing>) =>
      publishers[i % C]!.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain });

    // Three messages per agent: a health report (QoS 0) and a motion episode's start and end (QoS 1).
    const floodMsg = (k: number, tag: string) => {
      const i = Math.floor(k / 3);
      const id = ids[i]!;
      const now = Date.now();
      if (k % 3 === 0) return outgoing('health', id, healthPayload(now, ['cam1']));
      return outgoing(
        'motion',
        id,
        motionPayload(now, 'cam1', `${tag}${i}`, k % 3 === 1 ? 'start' : 'end', now),
      );
    };

    // Baseline first, before any bridge subscribes: what a bare subscriber sustains.
    const bareFlood = await paced(
      3 * N,
      (k) => send(Math.floor(k / 3), floodMsg(k, 'b')),
      () => bareCount,
    );
    const bareRate = bareFlood.done / bareFlood.seconds;
    out(
      `bare MQTT.js subscriber: ${fmt(bareFlood.done)} of ${fmt(3 * N)} flood messages at ${fmt(bareRate)} msg/s`,
    );

    const group = `${run}-group`;
    for (const name of dbUrl ? ['a', 'b'] : ['a']) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `ccb-bench-${name}-`));
      dirs.push(dataDir);
      const b = new Bridge({
        config: {
          dataDir,
          port: 0,
          mqttUrl,
          ...(dbUrl ? { databaseUrl: dbUrl, databaseSchema: schema, shareGroup: group } : {}),
        },
      });
      await b.start(AbortSignal.timeout(120_000));
      bridges.push(b);
    }
    const first = bridges[0]!;
    const key = exportPublicKeyRaw(generateSigningKeyPair().publicKey);
    await registerDevices(
      first.db,
      ids.map((id, i) => ({ id, publicKey: key, siteName: `Site ${i}`, ...site(i, N), policy: 'auto' })),
      Date.now(),
    );
    const perBridge = async () =>
      Promise.all(
        bridges.map(async (b) =>
          (await b.metrics.ingested.get()).values
            .filter((v) => v.labels['topic'] === 'health' || v.labels['topic'] === 'motion')
            .reduce((s, v) => s + v.value, 0),
        ),
      );
    const ingested = async () => (await perBridge()).reduce((a, b) => a + b, 0);

    // 1. Inventory over MQTT (retained; in a share group each message is stored by one instance).
    const t0 = Date.now();
    const handled = () => bridges.reduce((n, b) => n + b.link.handled, 0);
    // A smaller window: in a group each live inventory also reaches every instance once more on
    // the plain snapshot subscription (dropped there, but it fills the broker's queue).
    await paced(
      N,
      (i) =>
        send(i, outgoing('cameras', ids[i]!, camerasPayload(Date.now(), [{ id: 'cam1', ...site(i, N) }]))),
      handled,
      300,
    );
    const cams = await settle(
      async () =>
        (
          await first.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM cameras WHERE device_id LIKE $1',
            [`${run}-%`],
          )
        )[0]!.n,
      N,
    );
    out(`inventory: ${fmt(cams.value)} cameras registered over MQTT in ${fmt((cams.at - t0) / 1000, 1)} s`);

    // 2. Fan-out over the 10,000-device registry.
    const fan: number[] = [];
    const api: number[] = [];
    const scan: number[] = [];
    const query: number[] = [];
    let targets = 0;
    const token = (await import('../cloud-bridge/http/auth.js')).createApiToken;
    const { token: tok } = await token(first.db, 'bench', 'operator', Date.now());
    for (let k = 0; k < Number(values.incidents); k++) {
      const center = site(Math.floor((k * 7919) % N), N);
      const area: Area = { kind: 'circle', center, radiusM: 800 };
      const s0 = performance.now();
      const res = await fetch(`${first.url}/api/incidents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          caseNumber: `B-${k}`,
          reason: 'bench',
          area,
          from: Date.now() - 3600_000,
          to: Date.now(),
        }),
      });
      const body = (await res.json()) as { fanoutMs: number; targets: unknown[] };
      api.push(performance.now() - s0);
      fan.push(body.fanoutMs);
      targets += body.targets.length;
      // The spatial query alone, against its baseline: a scan of every camera tested in code.
      const q0 = performance.now();
      await findTargets(first.db, area, 200);
      query.push(performance.now() - q0);
      const b0 = performance.now();
      const all = await first.db.query<{ device_id: string; lat: number; lon: number }>(
        'SELECT device_id, lat, lon FROM cameras',
      );
      all.filter((c) => distanceToAreaM(area, c) <= 200);
      scan.push(performance.now() - b0);
    }
    out(
      `fan-out over ${fmt(N)} devices (800 m radius, ~${fmt(targets / fan.length)} agents each): create+sign+store+publish median ${fmt(median(fan), 1)} ms, p95 ${fmt(p95(fan), 1)} ms (target < 100 ms: ${p95(fan) < 100 ? 'met' : 'MISSED'}); HTTP round trip median ${fmt(median(api), 1)} ms`,
    );
    out(
      `  target query (GiST bounding box + exact test): median ${fmt(median(query), 2)} ms vs full scan of every camera ${fmt(median(scan), 2)} ms → ${fmt(median(scan) / Math.max(0.001, median(query)), 1)}x faster`,
    );

    // 3. Steady load: health every 30 s per agent, motion bursts every 5 s.
    const sBare = bareCount;
    const sBridge = await perBridge();
    let sent = 0;
    let episode = 0;
    const timers: NodeJS.Timeout[] = [];
    const pending: Promise<unknown>[] = [];
    ids.forEach((id, i) => {
      const offset = (i / N) * 30_000;
      const fire = () => {
        sent++;
        pending.push(send(i, outgoing('health', id, healthPayload(Date.now(), ['cam1']))));
      };
      timers.push(
        setTimeout(() => {
          fire();
          timers.push(setInterval(fire, 30_000));
        }, offset),
      );
    });
    timers.push(
      setInterval(() => {
        for (let j = 0; j < N / 50; j++) {
          const i = Math.floor(Math.random() * N);
          const ep = `e${episode++}`;
          const started = Date.now();
          sent++;
          pending.push(
            send(i, outgoing('motion', ids[i]!, motionPayload(started, 'cam1', ep, 'start', started))),
          );
          timers.push(
            setTimeout(() => {
              sent++;
              pending.push(
                send(i, outgoing('motion', ids[i]!, motionPayload(Date.now(), 'cam1', ep, 'end', started))),
              );
            }, 2000),
          );
        }
      }, 5000),
    );
    await sleep(steadyMs);
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled(pending);
    const steadySent = sent;
    await settle(() => bareCount - sBare, steadySent);
    await settle(async () => (await ingested()) - sBridge.reduce((a, b) => a + b, 0), steadySent);
    const sSecs = steadyMs / 1000;
    const sB = (await perBridge()).map((v, k) => (v - sBridge[k]!) / sSecs);
    const sBareRate = (bareCount - sBare) / sSecs;
    out(
      `steady (${sSecs} s, health every 30 s + motion bursts, ${fmt(steadySent)} messages): bare subscriber ${fmt(sBareRate)} msg/s; bridges ${sB.map((r, k) => `#${k + 1} ${fmt(r)}`).join(', ')} msg/s; ratio bridges/bare ${fmt(sB.reduce((a, b) => a + b, 0) / sBareRate, 3)}`,
    );

    // 4. Flood, closed loop, shared between the instances: the same messages as the baseline.
    const before = await perBridge();
    const total = () => bridges.reduce((n, b) => n + b.link.handled, 0);
    const flood = await paced(3 * N, (k) => send(Math.floor(k / 3), floodMsg(k, 'f')), total);
    const split = (await perBridge()).map((v, k) => v - before[k]!);
    const rate = flood.done / flood.seconds;

    // The bare baseline again, with the bridges gone: the machine is shared and noisy, so the
    // ratio uses the mean of the baseline before and after.
    for (const b of bridges.splice(0)) await b.stop();
    const again = await paced(
      3 * N,
      (k) => send(Math.floor(k / 3), floodMsg(k, 'c')),
      () => bareCount,
    );
    const bareAfter = again.done / again.seconds;
    const bareMean = (bareRate + bareAfter) / 2;
    out(
      `bare MQTT.js subscriber again after the bridges stopped: ${fmt(bareAfter)} msg/s (mean of both runs ${fmt(bareMean)} msg/s)`,
    );
    out(
      `flood (${fmt(3 * N)} messages, at most 800 unconsumed): bridges stored ${fmt(flood.done)} at ${fmt(rate)} msg/s in total, ${split.map((v, k) => `#${k + 1} ${fmt(v / flood.seconds)} msg/s (${fmt(v)})`).join(', ')}; ratio bridges/bare ${fmt(rate / bareMean, 3)}`,
    );
  } finally {
    // Leave nothing behind on the shared broker and server: retained inventories, schema, folders.
    if (publishers[0])
      await Promise.all(
        ids.map((id, i) =>
          publishers[i % publishers.length]!.publishAsync(topicFor('cameras', id), Buffer.alloc(0), {
            qos: 1,
            retain: true,
          }),
        ),
      );
    await Promise.all(publishers.map((p) => p.endAsync()));
    await bare?.endAsync();
    for (const b of bridges) await b.stop();
    if (schema && dbUrl) {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
