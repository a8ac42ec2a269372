/**
 * `camconnect bridge`: run the RTCC bridge (registry, incident API, evidence receiver,
 * dashboard, metrics), and `camconnect bridge token` to issue API tokens.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { Bridge } from '../cloud-bridge/bridge.js';
import type { BridgeConfigInput } from '../cloud-bridge/config.js';
import { openDb } from '../cloud-bridge/db/db.js';
import { migrate } from '../cloud-bridge/db/migrate.js';
import { createApiToken, ROLES, type Role } from '../cloud-bridge/http/auth.js';
import { createLogger } from '../lib/log.js';
import { parseIntOption, shutdownSignal, UsageError } from './util.js';
import { addEnrollmentOptions, enrollmentConfigFrom, type EnrollmentCliOptions } from './provision.js';

interface RunOptions extends EnrollmentCliOptions {
  dataDir: string;
  host: string;
  port: number;
  mqttUrl?: string;
  mqttHost: string;
  mqttPort: number;
  databaseUrl?: string;
  shareGroup?: string;
  instanceId?: string;
  tileUrl?: string;
  maxRadiusM?: number;
  maxWindowH?: number;
  maxUploadMb?: number;
}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

function configFrom(o: RunOptions): BridgeConfigInput {
  return {
    dataDir: path.resolve(o.dataDir),
    host: o.host,
    port: o.port,
    mqttHost: o.mqttHost,
    mqttPort: o.mqttPort,
    ...(o.mqttUrl ? { mqttUrl: o.mqttUrl } : {}),
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...(o.shareGroup ? { shareGroup: o.shareGroup } : {}),
    ...(o.instanceId ? { instanceId: o.instanceId } : {}),
    ...(o.tileUrl ? { tileUrl: o.tileUrl } : {}),
    enrollment: enrollmentConfigFrom(o),
    limits: {
      ...(o.maxRadiusM ? { maxRadiusM: o.maxRadiusM } : {}),
      ...(o.maxWindowH ? { maxWindowMs: Math.round(o.maxWindowH * 3600_000) } : {}),
      ...(o.maxUploadMb ? { maxUploadBytes: Math.round(o.maxUploadMb * 1024 * 1024) } : {}),
    },
  };
}

async function run(o: RunOptions): Promise<void> {
  const log = createLogger().child({ service: 'bridge' });
  const { signal, done } = shutdownSignal();
  let bridge: Bridge;
  try {
    bridge = new Bridge({ config: configFrom(o), log, processMetrics: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  await bridge.start(signal);
  process.stdout.write(`camconnect bridge: dashboard and API at ${bridge.url}/ (MQTT ${bridge.mqttUrl})\n`);
  const sig = await done;
  log.info('stopping', { signal: sig });
  await bridge.stop();
}

async function token(o: {
  dataDir: string;
  databaseUrl?: string;
  name: string;
  role: string;
}): Promise<void> {
  if (!ROLES.includes(o.role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const db = await openDb({
    url: o.databaseUrl,
    dataDir: o.databaseUrl ? undefined : path.join(path.resolve(o.dataDir), 'db'),
  });
  try {
    await migrate(db, Date.now);
    const t = await createApiToken(db, o.name, o.role as Role, Date.now());
    // Printed once on stdout for the operator to copy; only its hash is stored.
    process.stdout.write(`${t.token}\n`);
    process.stderr.write(`created ${o.role} token "${o.name}" (id ${t.id}); it is not shown again\n`);
  } finally {
    await db.close();
  }
}

export function registerBridge(program: Command): void {
  const bridge = program
    .command('bridge')
    .description('run the RTCC bridge: registry, incident API, evidence receiver, dashboard');
  const dataDir = [
    '--data-dir <dir>',
    'database (PGlite), RTCC key, evidence and uploads',
    'camconnect-bridge-data',
  ] as const;
  const dbUrl = [
    '--database-url <url>',
    'PostgreSQL server instead of embedded PGlite (default: $DATABASE_URL)',
    process.env['DATABASE_URL'],
  ] as const;
  addEnrollmentOptions(bridge.command('run', { isDefault: true }))
    .description('run the bridge (embedded broker and database unless told otherwise)')
    .option(...dataDir)
    .option('--host <addr>', 'HTTP listen address', '127.0.0.1')
    .option('--port <n>', 'HTTP port (0 = any free port)', parseIntOption('--port'), 8080)
    .option('--mqtt-url <url>', 'use this MQTT 5 broker (Mosquitto, EMQX) instead of the embedded one')
    .option('--mqtt-host <addr>', 'embedded broker listen address', '127.0.0.1')
    .option('--mqtt-port <n>', 'embedded broker port', parseIntOption('--mqtt-port'), 1883)
    .option(...dbUrl)
    .option('--share-group <name>', 'MQTT 5 shared-subscription group: instances in one group split ingest')
    .option('--instance-id <id>', 'stable MQTT client id suffix (gives a persistent session)')
    .option(
      '--tile-url <template>',
      'raster tile URL for the dashboard map, e.g. https://tiles.example/{z}/{x}/{y}.png',
    )
    .option('--max-radius-m <m>', 'largest incident radius (default 800)', positive('--max-radius-m'))
    .option('--max-window-h <h>', 'longest incident window (default 12)', positive('--max-window-h'))
    .option('--max-upload-mb <mb>', 'largest evidence file (default 2048)', positive('--max-upload-mb'))
    .action((o: RunOptions) => run(o));
  bridge
    .command('token')
    .description('create an API token (printed once)')
    .option(...dataDir)
    .option(...dbUrl)
    .requiredOption('--name <name>', 'who or what the token is for')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'operator')
    .action((o: { dataDir: string; databaseUrl?: string; name: string; role: string }) => token(o));
}
