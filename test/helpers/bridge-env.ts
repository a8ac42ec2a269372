/**
 * Starting a bridge for a test: a temp data folder, ephemeral ports, PGlite by default or the
 * local PostgreSQL in a unique schema when DATABASE_URL is set, the embedded broker by default
 * or the real Mosquitto when MQTT_URL is set. cleanup() stops it and drops what it created.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Bridge, FIRST_TOKEN_FILE } from '../../cloud-bridge/bridge.js';
import type { BridgeConfigInput } from '../../cloud-bridge/config.js';
import type { Clock } from '../../lib/clock.js';
import { createApiToken } from '../../cloud-bridge/http/auth.js';

export const DATABASE_URL = process.env['DATABASE_URL'] || undefined;
export const MQTT_URL = process.env['MQTT_URL'] || undefined;

/** A name unique to this run: schemas, agent ids, share groups. */
export function runId(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Parsed JSON of an API answer: tests poke into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience over API JSON
export type Json = any;

export interface TestBridge {
  bridge: Bridge;
  url: string;
  dataDir: string;
  /** Operator token (created on first start). */
  token: string;
  /** An auditor token. */
  auditorToken: string;
  api(
    method: string,
    p: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: Json; headers: Headers }>;
  cleanup(): Promise<void>;
}

export interface TestBridgeOptions {
  config?: Partial<BridgeConfigInput>;
  clock?: Clock;
  /** Share a schema between two instances (scale test). */
  schema?: string;
  /** Use the real broker even if MQTT_URL is unset (defaults to embedded). */
  mqttUrl?: string;
}

export async function dropSchema(schema: string): Promise<void> {
  if (!DATABASE_URL) return;
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

export async function startTestBridge(opts: TestBridgeOptions = {}): Promise<TestBridge> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ccbridge-'));
  const ownSchema = !opts.schema;
  const schema = DATABASE_URL ? (opts.schema ?? runId('bt').toLowerCase()) : undefined;
  const mqttUrl = opts.mqttUrl ?? MQTT_URL;
  const bridge = new Bridge({
    config: {
      dataDir,
      port: 0,
      mqttPort: 0,
      ...(DATABASE_URL ? { databaseUrl: DATABASE_URL, databaseSchema: schema } : {}),
      ...(mqttUrl ? { mqttUrl } : {}),
      ...opts.config,
    },
    clock: opts.clock,
  });
  await bridge.start(AbortSignal.timeout(120_000));
  const url = bridge.url;
  let token: string;
  try {
    token = readFileSync(path.join(dataDir, FIRST_TOKEN_FILE), 'utf8').trim();
  } catch {
    // A second instance on a shared schema finds a token already there: make its own.
    token = (await createApiToken(bridge.db, 'test operator', 'operator', Date.now())).token;
  }
  const auditorToken = (await createApiToken(bridge.db, 'test auditor', 'auditor', Date.now())).token;
  const api: TestBridge['api'] = async (method, p, body, tok = token) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${tok}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON (a tar, a file): the text is the value.
    }
    return { status: res.status, json, headers: res.headers };
  };
  return {
    bridge,
    url,
    dataDir,
    token,
    auditorToken,
    api,
    async cleanup() {
      await bridge.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (schema && ownSchema) await dropSchema(schema);
    },
  };
}

/** Polls until fn returns a truthy value (no timing assertions: only "eventually"). */
export async function eventually(
  fn: () => Promise<unknown>,
  what: string,
  timeoutMs = 60_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}
