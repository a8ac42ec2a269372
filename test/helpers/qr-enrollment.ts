/**
 * Shared steps of the enrollment tests: issue a QR payload from a test bridge, enroll into a
 * temp data folder, connect as the enrolled device, and wait for a connection to be closed.
 */
import { mkdtempSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import type { EnrolledState } from '../../provisioning/agent-state.js';
import { enrolledStatePath } from '../../provisioning/agent-state.js';
import { EnrollmentError } from '../../provisioning/errors.js';
import type { TestBridge } from './bridge-env.js';

export const SITE = {
  site: 'Maple Court Apartments',
  address: '12 Maple Court, Springfield',
  lat: 39.7817213,
  lon: -89.6501481,
  policy: 'approve' as const,
};

export function tempDir(prefix = 'ccagent-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Asks the bridge for a token (as the operator) and returns the signed payload text. */
export async function issuePayload(
  tb: TestBridge,
  over: Record<string, unknown> = {},
): Promise<{ payload: string; id: string }> {
  const r = await tb.api('POST', '/api/enrollment-tokens', { ...SITE, bridgeUrl: tb.url, ...over });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return { payload: r.json.payload as string, id: r.json.id as string };
}

/** Runs fn, expects an EnrollmentError, returns it. */
export async function enrollmentFailure(fn: () => Promise<unknown>): Promise<EnrollmentError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EnrollmentError);
    return err as EnrollmentError;
  }
  throw new Error('expected the enrollment to fail');
}

/** No enrollment state (nor a temp file of one) exists in the data folder. */
export async function expectNotEnrolled(dataDir: string): Promise<void> {
  await expect(stat(enrolledStatePath(dataDir))).rejects.toMatchObject({ code: 'ENOENT' });
}

/** Connects as the enrolled device (client id = username = agent id, as the agent's link does). */
export function connectDevice(
  state: EnrolledState,
  protocolVersion: 4 | 5,
  over: Partial<mqtt.IClientOptions> = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(state.mqtt.url, {
    clientId: state.mqtt.clientId,
    username: state.mqtt.username,
    password: state.mqtt.password,
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...over,
  });
}

/** Resolves when the broker ends the connection (socket closed). */
export function whenClosed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}

/** The connection attempt is refused; returns the error (CONNACK return/reason code). */
export async function refusedConnect(
  state: EnrolledState,
  protocolVersion: 4 | 5,
  over: Partial<mqtt.IClientOptions> = {},
): Promise<Error & { code?: number }> {
  try {
    const c = await connectDevice(state, protocolVersion, over);
    await c.endAsync(true);
  } catch (err) {
    return err as Error & { code?: number };
  }
  throw new Error('the broker accepted a connection it should have refused');
}

/**
 * The SUBACK code for one filter: the granted QoS, or 0x80 (3.1.1) / a reason code >= 0x80 (5)
 * when refused (MQTT.js turns a refusal into an error carrying the SUBACK packet).
 */
export async function subscribeCode(client: MqttClient, filter: string, qos: 0 | 1): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos }))[0]?.qos ?? -1;
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted?.[0] !== undefined) return granted[0];
    throw err;
  }
}
