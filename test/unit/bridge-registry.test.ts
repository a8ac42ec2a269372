/**
 * The registry's SQL on the real engines (PGlite, or PostgreSQL with DATABASE_URL): migrations,
 * the spatial target query, status ordering, idempotent motion, staleness and history thinning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { exportPublicKeyRaw } from '../../protocol/signing.js';
import { destinationPoint } from '../../protocol/geofence.js';
import type { Db } from '../../cloud-bridge/db/db.js';
import { migrate } from '../../cloud-bridge/db/migrate.js';
import { registerDevice, registerDevices } from '../../cloud-bridge/registry/devices.js';
import {
  applyCameras,
  applyHealth,
  applyMotion,
  applyStatus,
  markStale,
  thinHealthHistory,
  UnknownDeviceError,
} from '../../cloud-bridge/registry/ingest-store.js';
import { findTargets, getDevice } from '../../cloud-bridge/registry/query.js';
import {
  camerasPayload,
  healthPayload,
  motionPayload,
  statusPayload,
} from '../../cloud-bridge/testing/payloads.js';
import { openTestDb } from '../helpers/bridge-db.js';

const KEY = exportPublicKeyRaw(generateKeyPairSync('ed25519').publicKey);
const C = { lat: 51.5007, lon: -0.1246 };
let db: Db;
let handle: Awaited<ReturnType<typeof openTestDb>> | undefined;

beforeAll(async () => {
  handle = await openTestDb();
  db = handle.db;
});
afterAll(async () => handle?.cleanup());

const dev = (id: string, at: { lat: number; lon: number }) => ({
  id,
  publicKey: KEY,
  siteName: `site ${id}`,
  lat: at.lat,
  lon: at.lon,
  policy: 'auto',
});

describe('migrations', () => {
  it('apply once, and a failing migration leaves nothing behind', async () => {
    expect(await migrate(db, () => 2)).toEqual([]);
    const bad = [
      { version: 999, name: 'bad', sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();' },
    ];
    await expect(migrate(db, () => 2, bad)).rejects.toThrow();
    expect(await db.query(`SELECT 1 FROM schema_migrations WHERE version = 999`)).toHaveLength(0);
    expect(
      await db.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`),
    ).toHaveLength(0);
  });
});

describe('registration', () => {
  it('validates input and re-registers by id', async () => {
    await expect(registerDevice(db, { ...dev('r1', C), publicKey: 'short' }, 1)).rejects.toThrow(
      /public key/,
    );
    await expect(registerDevice(db, { ...dev('r1', C), lat: 91 }, 1)).rejects.toThrow();
    await expect(registerDevice(db, { ...dev('r/1', C) }, 1)).rejects.toThrow();
    await registerDevice(db, dev('r1', C), 1);
    await registerDevice(db, { ...dev('r1', C), policy: 'never' }, 2);
    expect(
      (await db.query<{ policy: string }>(`SELECT policy FROM devices WHERE id = 'r1'`))[0]?.policy,
    ).toBe('never');
  });
});

describe('findTargets', () => {
  beforeAll(async () => {
    const list = [];
    // A ring of devices every 100 m out to 3 km, on 8 bearings: 240 devices.
    for (let d = 100; d <= 3000; d += 100)
      for (let b = 0; b < 360; b += 45) list.push(dev(`g${d}-${b}`, destinationPoint(C, b, d)));
    await registerDevices(db, list, 1);
    await applyCameras(db, 'g1000-0', camerasPayload(1, [{ id: 'cam', ...destinationPoint(C, 0, 250) }]), 1);
  });

  it('finds devices in a circle plus the margin, by camera location when known', async () => {
    const t = (await findTargets(db, { kind: 'circle', center: C, radiusM: 450 }, 200)).filter((x) =>
      x.deviceId.startsWith('g'),
    );
    const ids = new Set(t.map((x) => x.deviceId));
    for (let d = 100; d <= 600; d += 100)
      for (let b = 0; b < 360; b += 45) expect(ids.has(`g${d}-${b}`)).toBe(true);
    expect(ids.has('g700-0')).toBe(false);
    // Its site is 1 km away, but its camera is 250 m from the centre.
    const far = t.find((x) => x.deviceId === 'g1000-0');
    expect(far).toMatchObject({ cameraIds: ['cam'], distanceM: 0 });
    expect(t.length).toBe(6 * 8 + 1);
  });

  it('handles polygons and uses the GiST index', async () => {
    // Corners 300 m out on the diagonals: the sides pass 212 m from the centre.
    const square = [45, 135, 225, 315].map((b) => destinationPoint(C, b, 300));
    const t = (await findTargets(db, { kind: 'polygon', points: square }, 0)).filter((x) =>
      x.deviceId.startsWith('g'),
    );
    const ids = t.map((x) => x.deviceId).sort();
    const expected = [];
    for (const d of [100, 200]) for (let b = 0; b < 360; b += 45) expected.push(`g${d}-${b}`);
    // The corners themselves lie on the boundary, which counts as inside (protocol/geofence).
    for (let b = 45; b < 360; b += 90) expected.push(`g300-${b}`);
    expect(ids).toEqual(expected.sort());
    await db.exec('SET enable_seqscan = off');
    const plan = await db.query<Record<string, string>>(
      `EXPLAIN SELECT id FROM devices WHERE point(lon, lat) <@ box(point(0, 51), point(1, 52))`,
    );
    await db.exec('SET enable_seqscan = on');
    expect(plan.map((r) => Object.values(r)[0]).join('\n')).toMatch(/devices_geo/);
  });
});

describe('ingest', () => {
  it('keeps the newest status, and a will that arrives late does not override newer health', async () => {
    await registerDevice(db, dev('s1', C), 1);
    await applyStatus(db, 's1', statusPayload(100_000, 'online'), 1000);
    await applyHealth(db, 's1', healthPayload(100_000, []), 3000);
    await applyStatus(db, 's1', statusPayload(100_000, 'offline', 'lost'), 2000);
    expect((await getDevice(db, 's1', 3000))?.status).toBe('online');
    await applyStatus(db, 's1', statusPayload(100_000, 'offline', 'shutdown'), 4000);
    const d = await getDevice(db, 's1', 4000);
    expect(d).toMatchObject({ status: 'offline', statusReason: 'shutdown' });
    await expect(applyStatus(db, 'nobody', statusPayload(1, 'online'), 1)).rejects.toBeInstanceOf(
      UnknownDeviceError,
    );
  });

  it('upserts motion episodes idempotently (QoS 1 duplicates)', async () => {
    await registerDevice(db, dev('m1', C), 1);
    const start = motionPayload(5000, 'cam', 'e1', 'start', 5000);
    const end = motionPayload(9000, 'cam', 'e1', 'end', 5000);
    await applyMotion(db, 'm1', start, 5000);
    await applyMotion(db, 'm1', end, 9000);
    await applyMotion(db, 'm1', start, 9500); // a late duplicate start must not reopen it
    const rows = await db.query<{ end_at: number }>(
      `SELECT end_at FROM motion_episodes WHERE device_id = 'm1'`,
    );
    expect(rows).toEqual([{ end_at: 9000 }]);
  });

  it('marks stale devices offline and thins health history', async () => {
    await registerDevice(db, dev('h1', C), 1);
    const now = 40 * 24 * 3600_000;
    // One report every 30 s for the last 2 days, plus some older than 30 days.
    for (let t = now - 2 * 24 * 3600_000; t <= now; t += 30_000) {
      await db.query(`INSERT INTO health_history (device_id, at, summary) VALUES ('h1', $1, '{}')`, [t]);
    }
    await db.query(`INSERT INTO health_history (device_id, at, summary) VALUES ('h1', $1, '{}')`, [
      now - 35 * 24 * 3600_000,
    ]);
    await thinHealthHistory(db, now);
    const count = async (from: number, to: number) =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM health_history WHERE device_id = 'h1' AND at >= $1 AND at < $2`,
          [from, to],
        )
      )[0]!.n;
    expect(await count(now - 3600_000, now + 1)).toBe(121); // last hour untouched
    expect(await count(now - 24 * 3600_000, now - 3600_000)).toBeLessThanOrEqual(23 * 12 + 1);
    expect(await count(now - 30 * 24 * 3600_000, now - 24 * 3600_000)).toBeLessThanOrEqual(24 + 1);
    expect(await count(0, now - 30 * 24 * 3600_000)).toBe(0);

    await applyHealth(db, 'h1', healthPayload(now, []), now);
    expect(await markStale(db, now + 60_000, 90_000)).toBe(0);
    expect(await markStale(db, now + 91_000, 90_000)).toBeGreaterThanOrEqual(1);
    expect((await getDevice(db, 'h1', now))?.statusReason).toBe('stale');
  });
});
