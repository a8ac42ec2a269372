/**
 * `npm run bench -- link [--messages N] [--reports N] [--url mqtt://…]`
 *
 * 1. Throughput: N motion events through the link (schema check, durable
 *    outbox with fsync, in-order pump, PUBACK) against a bare MQTT.js client
 *    publishing the same bytes at QoS 1 to the same broker in the same run.
 *    Both are timed until the broker has acknowledged every message.
 * 2. Health: CPU of one report (this process plus any child processes it
 *    spawned), ours against the same figures from systeminformation's
 *    general-purpose calls.
 * Broker: --url, else MQTT_URL, else an embedded aedes on loopback.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import si from 'systeminformation';
import { createHealthCollector } from '../agent/health/index.js';
import { createLink } from '../agent/link/index.js';
import { systemClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import { encode } from '../protocol/codec.js';
import type { MotionPayload } from '../protocol/schemas/motion.js';
import { topicFor } from '../protocol/topics.js';

export const description =
  'messages/s through the link (durable outbox) vs a bare MQTT.js QoS 1 publisher to the same broker; CPU per health report';

function motion(i: number): MotionPayload {
  const now = Date.now();
  return {
    v: 1,
    ts: now,
    episodeId: `ep-${i}`,
    cameraId: 'cam-1',
    startedAt: now,
    peakScore: 0.5,
    source: 'pixel',
    phase: 'start',
  };
}

async function embeddedBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = net.createServer((s) => broker.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function bare(url: string, agentId: string, n: number, protocolVersion: 4 | 5): Promise<number> {
  const client = await mqtt.connectAsync(url, {
    clientId: `${agentId}-bare`,
    reconnectPeriod: 0,
    protocolVersion,
  });
  const topic = topicFor('motion', agentId);
  const payloads = Array.from({ length: n }, (_, i) => encode('motion', motion(i)));
  const t0 = performance.now();
  await Promise.all(payloads.map((p) => client.publishAsync(topic, p, { qos: 1 })));
  const ms = performance.now() - t0;
  await client.endAsync();
  return (n / ms) * 1000;
}

async function throughLink(
  url: string,
  agentId: string,
  n: number,
  fsync: boolean,
): Promise<{ rate: number; version: 4 | 5 }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-link-'));
  const link = createLink(
    { agentId, url, outbox: { dir, fsync }, drainOnStopMs: 0 },
    { clock: systemClock, log: silentLogger, agentVersion: 'bench', startedAt: Date.now() },
  );
  await link.start(AbortSignal.timeout(30_000));
  await link.whenUp();
  const version = link.health()['protocolVersion'] === 5 ? 5 : 4;
  const queued = (): number => (link.health()['outbox'] as { queued: number }).queued;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => link.publish('motion', motion(i))));
  while (queued() > 0) await new Promise((r) => setImmediate(r));
  const ms = performance.now() - t0;
  await link.stop();
  await rm(dir, { recursive: true, force: true });
  return { rate: (n / ms) * 1000, version };
}

/** CPU ms of this process and of its reaped children (/proc/self/stat cutime+cstime). */
async function cpuMs(): Promise<number> {
  const self = process.cpuUsage();
  let children = 0;
  try {
    const fields = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ');
    // Fields 16 and 17 of proc(5), counted from after the command name: indexes 13, 14.
    children = ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // not Linux: children unknown
  }
  return (self.user + self.system) / 1000 + children;
}

async function perReport(
  reports: number,
  once: () => Promise<unknown>,
): Promise<{ cpu: number; wall: number }> {
  for (let i = 0; i < 2; i++) await once(); // warm caches and JIT
  const c0 = await cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < reports; i++) await once();
  return { cpu: ((await cpuMs()) - c0) / reports, wall: (performance.now() - t0) / reports };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      messages: { type: 'string', default: '5000' },
      reports: { type: 'string', default: '20' },
      url: { type: 'string' },
    },
  });
  const n = Number(values.messages);
  const reports = Number(values.reports);
  const given = values.url ?? process.env['MQTT_URL'];
  const broker = given ? { url: given, close: () => Promise.resolve() } : await embeddedBroker();
  const agentId = `bench-${process.pid}`;
  process.stdout.write(
    `broker: ${given ? broker.url : 'embedded aedes (MQTT 3.1.1)'}; ${n} motion events, QoS 1\n`,
  );
  try {
    // Alternate and take the best of two each, so a burst of load elsewhere on the machine hurts neither side alone.
    const b: number[] = [];
    const l: number[] = [];
    const lNoSync: number[] = [];
    let version: 4 | 5 = 4;
    for (let round = 0; round < 2; round++) {
      const durable = await throughLink(broker.url, agentId, n, true);
      version = durable.version;
      l.push(durable.rate);
      lNoSync.push((await throughLink(broker.url, agentId, n, false)).rate);
      // Same protocol version as the link negotiated. Note MQTT.js does not limit
      // itself to the broker's Receive Maximum (MQTT 5 §3.3.4); the link does.
      b.push(await bare(broker.url, agentId, n, version));
    }
    const best = (xs: number[]): number => Math.max(...xs);
    process.stdout.write(`protocol: MQTT ${version === 5 ? '5' : '3.1.1'}\n`);
    process.stdout.write(`bare MQTT.js publisher:        ${best(b).toFixed(0)} msg/s\n`);
    process.stdout.write(
      `link (outbox, fsync):          ${best(l).toFixed(0)} msg/s  ratio ${(best(l) / best(b)).toFixed(2)}\n`,
    );
    process.stdout.write(
      `link (outbox, no fsync):       ${best(lNoSync).toFixed(0)} msg/s  ratio ${(best(lNoSync) / best(b)).toFixed(2)}\n`,
    );
  } finally {
    await broker.close();
  }

  const collector = createHealthCollector({
    clock: systemClock,
    agentVersion: 'bench',
    recordingsPath: os.tmpdir(),
  });
  const ours = await perReport(reports, () => collector.collect());
  const naive = await perReport(reports, () =>
    Promise.all([si.currentLoad(), si.mem(), si.fsSize(), si.cpuTemperature(), Promise.resolve(si.time())]),
  );
  process.stdout.write(
    `health report (ours):          ${ours.cpu.toFixed(2)} ms CPU, ${ours.wall.toFixed(2)} ms wall per report\n`,
  );
  process.stdout.write(
    `systeminformation equivalents: ${naive.cpu.toFixed(2)} ms CPU, ${naive.wall.toFixed(2)} ms wall  ratio ours/naive CPU ${(ours.cpu / naive.cpu).toFixed(2)}\n`,
  );
}
