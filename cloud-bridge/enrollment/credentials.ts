/**
 * Per-device MQTT credentials in the registry.
 *
 * Username = client id = agent id (the broker pins the client id to the username, so one
 * device cannot take over another's session; see deploy/mosquitto/README.md). The password is
 * 32 random bytes, returned to the device once. The bridge stores its SHA-256: with 256 random
 * bits there is nothing to brute-force, so a slow password hash would only cost CPU on every
 * connect. With Mosquitto the plugin stores its own salted PBKDF2 hash; the registry row then
 * records the device's credential state (and keeps the hash for the record).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/db.js';

export type BrokerKind = 'embedded' | 'dynsec';

export function newDevicePassword(): string {
  return randomBytes(32).toString('base64url');
}

function hashPassword(password: string | Buffer): Buffer {
  return createHash('sha256').update(password).digest();
}

/** A fresh agent id: `dev-` and 16 hex digits (64 bits; unique by the registry's primary key). */
export function newAgentId(): string {
  return `dev-${randomBytes(8).toString('hex')}`;
}

export async function insertCredential(
  tx: Queryable,
  agentId: string,
  password: string,
  broker: BrokerKind,
  now: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO device_credentials (device_id, username, password_hash, broker, created_at) VALUES ($1, $1, $2, $3, $4)`,
    [agentId, hashPassword(password).toString('hex'), broker, now],
  );
}

/**
 * Marks the device and its credentials revoked (idempotent). Returns false for an unknown
 * device. The first revocation time is kept.
 */
export async function markRevoked(tx: Queryable, agentId: string, now: number): Promise<number | false> {
  const rows = await tx.query<{ revoked_at: number }>(
    'UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING revoked_at',
    [agentId, now],
  );
  const row = rows[0];
  if (!row) return false;
  await tx.query('UPDATE device_credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE device_id = $1', [
    agentId,
    now,
  ]);
  return row.revoked_at;
}

/**
 * True when `username`/`password` are a live device credential. Compares hashes in constant
 * time; a revoked device or credential never matches.
 */
export async function checkCredential(db: Queryable, username: string, password: Buffer): Promise<boolean> {
  const rows = await db.query<{ password_hash: string }>(
    `SELECT c.password_hash FROM device_credentials c JOIN devices d ON d.id = c.device_id
     WHERE c.username = $1 AND c.revoked_at IS NULL AND d.revoked_at IS NULL`,
    [username],
  );
  const stored = rows[0] ? Buffer.from(rows[0].password_hash, 'hex') : undefined;
  const given = hashPassword(password);
  return stored !== undefined && stored.length === given.length && timingSafeEqual(stored, given);
}

/** Is this agent id revoked (or unknown)? Used to refuse a half-open enrollment race. */
export async function isRevoked(db: Queryable, agentId: string): Promise<boolean> {
  const rows = await db.query<{ revoked_at: number | null }>('SELECT revoked_at FROM devices WHERE id = $1', [
    agentId,
  ]);
  return !rows[0] || rows[0].revoked_at !== null;
}
