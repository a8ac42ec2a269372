/**
 * Device registration: what provisioning (issue 7) calls once a device is enrolled. A device is
 * known by its id, its Ed25519 public key (raw, base64url: the key that signs its evidence
 * manifests), its site name and location, and the owner's sharing policy. Registering again
 * with the same id replaces key, site and policy (re-enrollment); health and history stay.
 */
import { z } from 'zod';
import { AgentId, Latitude, Longitude, safeText } from '../../protocol/schemas/common.js';
import { importPublicKeyRaw } from '../../protocol/signing.js';
import type { Queryable } from '../db/db.js';

export const SharingPolicy = z.enum(['auto', 'approve', 'never']);
export type SharingPolicy = z.infer<typeof SharingPolicy>;

export const DeviceRegistration = z.strictObject({
  id: AgentId,
  /** Raw 32-byte Ed25519 public key, unpadded base64url (43 characters). */
  publicKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a raw Ed25519 public key in unpadded base64url')
    .refine(
      (k) => {
        try {
          importPublicKeyRaw(k);
          return true;
        } catch {
          // importPublicKeyRaw rejects anything that is not 32 bytes of a valid key encoding.
          return false;
        }
      },
      { message: 'is not a valid Ed25519 public key' },
    ),
  siteName: safeText(200),
  lat: Latitude,
  lon: Longitude,
  policy: SharingPolicy,
});
export type DeviceRegistration = z.infer<typeof DeviceRegistration>;

/** Validates and upserts a device. Throws a ZodError on bad input. */
export async function registerDevice(
  db: Queryable,
  input: unknown,
  now: number,
): Promise<DeviceRegistration> {
  const d = DeviceRegistration.parse(input);
  await db.query(
    `INSERT INTO devices (id, public_key, site_name, lat, lon, policy, registered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET public_key = EXCLUDED.public_key, site_name = EXCLUDED.site_name,
       lat = EXCLUDED.lat, lon = EXCLUDED.lon, policy = EXCLUDED.policy`,
    [d.id, d.publicKey, d.siteName, d.lat, d.lon, d.policy, now],
  );
  return d;
}

/**
 * Registers many devices in one statement (the benchmark's 10,000-device registry, bulk
 * provisioning). unnest() of parallel arrays keeps it one round trip.
 */
export async function registerDevices(
  db: Queryable,
  inputs: readonly unknown[],
  now: number,
): Promise<number> {
  const list = inputs.map((i) => DeviceRegistration.parse(i));
  for (let i = 0; i < list.length; i += 5000) {
    const chunk = list.slice(i, i + 5000);
    await db.query(
      `INSERT INTO devices (id, public_key, site_name, lat, lon, policy, registered_at)
       SELECT id, pk, site, lat, lon, policy, $7 FROM unnest($1::text[], $2::text[], $3::text[],
         $4::float8[], $5::float8[], $6::text[]) AS t(id, pk, site, lat, lon, policy)
       ON CONFLICT (id) DO UPDATE SET public_key = EXCLUDED.public_key, site_name = EXCLUDED.site_name,
         lat = EXCLUDED.lat, lon = EXCLUDED.lon, policy = EXCLUDED.policy`,
      [
        chunk.map((d) => d.id),
        chunk.map((d) => d.publicKey),
        chunk.map((d) => d.siteName),
        chunk.map((d) => d.lat),
        chunk.map((d) => d.lon),
        chunk.map((d) => d.policy),
        now,
      ],
    );
  }
  return list.length;
}

export async function devicePublicKey(db: Queryable, id: string): Promise<string | null> {
  const rows = await db.query<{ public_key: string }>('SELECT public_key FROM devices WHERE id = $1', [id]);
  return rows[0]?.public_key ?? null;
}
