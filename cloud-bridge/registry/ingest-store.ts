/**
 * Writes what agents publish into the registry. Each function is one idempotent statement (or a
 * short transaction), so a QoS 1 duplicate or a redelivery after a bridge restart changes nothing,
 * and two bridge instances may apply messages for the same device in any order: `status_at`
 * guards keep the newest status, motion episodes upsert by their id.
 */
import type { CamerasPayload } from '../../protocol/schemas/cameras.js';
import type { HealthPayload } from '../../protocol/schemas/health.js';
import type { MotionPayload } from '../../protocol/schemas/motion.js';
import type { StatusPayload } from '../../protocol/schemas/status.js';
import type { Db, Queryable } from '../db/db.js';

/** A message the bridge refuses to store; `reason` becomes the error metric's label. */
export class IngestRefused extends Error {
  constructor(
    readonly reason: 'unknown-device' | 'unknown-request' | 'wrong-direction',
    message: string,
  ) {
    super(message);
    this.name = 'IngestRefused';
  }
}

export class UnknownDeviceError extends IngestRefused {
  constructor(readonly deviceId: string) {
    super('unknown-device', `device ${deviceId} is not registered`);
    this.name = 'UnknownDeviceError';
  }
}

function expectOne(rows: unknown[], deviceId: string): void {
  if (rows.length === 0) throw new UnknownDeviceError(deviceId);
}

/**
 * `status`: online/offline. The will's `ts` is the connect time (see protocol/schemas/status.ts),
 * so the time we received it is when the device went away.
 */
export async function applyStatus(
  db: Queryable,
  deviceId: string,
  p: StatusPayload,
  receivedAt: number,
): Promise<void> {
  const reason = p.state === 'offline' ? (p.reason ?? 'lost') : null;
  const rows = await db.query(
    `UPDATE devices SET status = $2, status_reason = $3, status_at = $4, last_seen = $4, agent_version = $5
     WHERE id = $1 AND (status_at IS NULL OR status_at <= $4) RETURNING id`,
    [deviceId, p.state, reason, receivedAt, p.agentVersion],
  );
  if (rows.length === 0) {
    const exists = await db.query('SELECT 1 FROM devices WHERE id = $1', [deviceId]);
    expectOne(exists, deviceId);
  }
}

/** Compact per-report summary kept in history (the full report is only kept as "latest"). */
export function healthSummary(p: HealthPayload): Record<string, unknown> {
  return {
    cpu: p.system.cpuLoadPct,
    mem: p.system.memory.totalBytes ? p.system.memory.usedBytes / p.system.memory.totalBytes : null,
    vol: p.system.volume.totalBytes ? p.system.volume.usedBytes / p.system.volume.totalBytes : null,
    recording: p.cameras.filter((c) => c.recording === 'recording').length,
    cameras: p.cameras.length,
    bufferS: bufferSeconds(p),
    synced: p.clock.synced,
  };
}

/** Buffer depth of the site: the shallowest camera's, since that bounds what an incident can get. */
export function bufferSeconds(p: HealthPayload): number | null {
  if (p.cameras.length === 0) return null;
  return Math.min(...p.cameras.map((c) => c.buffer.depthMs)) / 1000;
}

/** Degraded: some camera is not recording, or the clock is not synchronised (evidence times). */
export function isDegraded(p: HealthPayload): boolean {
  return !p.clock.synced || p.cameras.some((c) => c.recording !== 'recording');
}

/**
 * `health`: the latest report replaces the previous one; a summary goes into history. A health
 * report is also proof of life, so a device marked offline by staleness comes back online,
 * but not one whose own status says it shut down more recently than this report.
 */
export async function applyHealth(
  db: Db,
  deviceId: string,
  p: HealthPayload,
  receivedAt: number,
): Promise<void> {
  const rows = await db.query(
    `UPDATE devices SET health = $2::jsonb, last_health_at = $3, last_seen = $3, degraded = $4,
       buffer_seconds = $5, agent_version = $6,
       status = CASE WHEN status_at IS NULL OR status_at <= $3 THEN 'online' ELSE status END,
       status_reason = CASE WHEN status_at IS NULL OR status_at <= $3 THEN NULL ELSE status_reason END,
       status_at = CASE WHEN status_at IS NULL OR status_at <= $3 THEN $3 ELSE status_at END
     WHERE id = $1 RETURNING id`,
    [deviceId, JSON.stringify(p), receivedAt, isDegraded(p), bufferSeconds(p), p.agentVersion],
  );
  expectOne(rows, deviceId);
  await db.query(
    `INSERT INTO health_history (device_id, at, summary) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING`,
    [deviceId, receivedAt, JSON.stringify(healthSummary(p))],
  );
}

export interface HealthItem {
  deviceId: string;
  payload: HealthPayload;
  receivedAt: number;
}

/**
 * Many `health` reports in two statements (latest state, history). The same rules as
 * applyHealth; the batch never holds two reports of one device (see Batcher).
 */
export async function applyHealthBatch(
  db: Queryable,
  items: readonly HealthItem[],
): Promise<(Error | null)[]> {
  const updated = await db.query<{ id: string }>(
    `UPDATE devices d SET health = b.health, last_health_at = b.at, last_seen = b.at, degraded = b.degraded,
       buffer_seconds = b.buf, agent_version = b.ver,
       status = CASE WHEN d.status_at IS NULL OR d.status_at <= b.at THEN 'online' ELSE d.status END,
       status_reason = CASE WHEN d.status_at IS NULL OR d.status_at <= b.at THEN NULL ELSE d.status_reason END,
       status_at = CASE WHEN d.status_at IS NULL OR d.status_at <= b.at THEN b.at ELSE d.status_at END
     FROM unnest($1::text[], $2::jsonb[], $3::int8[], $4::bool[], $5::float8[], $6::text[])
       AS b(id, health, at, degraded, buf, ver)
     WHERE d.id = b.id RETURNING d.id`,
    [
      items.map((i) => i.deviceId),
      items.map((i) => JSON.stringify(i.payload)),
      items.map((i) => i.receivedAt),
      items.map((i) => isDegraded(i.payload)),
      items.map((i) => bufferSeconds(i.payload)),
      items.map((i) => i.payload.agentVersion),
    ],
  );
  const known = new Set(updated.map((r) => r.id));
  const ok = items.filter((i) => known.has(i.deviceId));
  if (ok.length > 0) {
    await db.query(
      `INSERT INTO health_history (device_id, at, summary)
       SELECT * FROM unnest($1::text[], $2::int8[], $3::jsonb[]) ON CONFLICT DO NOTHING`,
      [
        ok.map((i) => i.deviceId),
        ok.map((i) => i.receivedAt),
        ok.map((i) => JSON.stringify(healthSummary(i.payload))),
      ],
    );
  }
  return items.map((i) => (known.has(i.deviceId) ? null : new UnknownDeviceError(i.deviceId)));
}

/** `cameras` (retained inventory): the set replaces the previous one. */
export async function applyCameras(
  db: Db,
  deviceId: string,
  p: CamerasPayload,
  receivedAt: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const exists = await tx.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
    expectOne(exists, deviceId);
    const ids = p.cameras.map((c) => c.id);
    await tx.query('DELETE FROM cameras WHERE device_id = $1 AND NOT (camera_id = ANY($2::text[]))', [
      deviceId,
      ids,
    ]);
    if (p.cameras.length === 0) return;
    await tx.query(
      `INSERT INTO cameras (device_id, camera_id, name, lat, lon, info, updated_at)
       SELECT $1, id, name, lat, lon, info, $7 FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::jsonb[])
         AS t(id, name, lat, lon, info)
       ON CONFLICT (device_id, camera_id) DO UPDATE SET name = EXCLUDED.name, lat = EXCLUDED.lat,
         lon = EXCLUDED.lon, info = EXCLUDED.info, updated_at = EXCLUDED.updated_at`,
      [
        deviceId,
        ids,
        p.cameras.map((c) => c.name),
        p.cameras.map((c) => c.location?.lat ?? null),
        p.cameras.map((c) => c.location?.lon ?? null),
        p.cameras.map((c) => JSON.stringify(c)),
        receivedAt,
      ],
    );
  });
}

/** `motion`: start and end of an episode upsert one row; an end never gets undone by a late start. */
export async function applyMotion(
  db: Queryable,
  deviceId: string,
  p: MotionPayload,
  receivedAt: number,
): Promise<void> {
  const endAt = p.phase === 'end' ? p.endedAt : null;
  const detail = motionDetail(p);
  const rows = await db.query(
    `INSERT INTO motion_episodes (device_id, camera_id, episode_id, start_at, end_at, detail, received_at)
     SELECT $1, $2, $3, $4, $5, $6::jsonb, $7 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $1)
     ON CONFLICT (device_id, camera_id, episode_id) DO UPDATE SET
       end_at = COALESCE(EXCLUDED.end_at, motion_episodes.end_at),
       detail = CASE WHEN EXCLUDED.end_at IS NOT NULL THEN EXCLUDED.detail ELSE motion_episodes.detail END
     RETURNING device_id`,
    [deviceId, p.cameraId, p.episodeId, p.startedAt, endAt, JSON.stringify(detail), receivedAt],
  );
  expectOne(rows, deviceId);
}

export interface MotionItem {
  deviceId: string;
  payload: MotionPayload;
  receivedAt: number;
}

/** Many `motion` messages in one upsert, with the same rules as applyMotion. */
export async function applyMotionBatch(
  db: Queryable,
  items: readonly MotionItem[],
): Promise<(Error | null)[]> {
  const rows = await db.query<{ device_id: string; camera_id: string; episode_id: string }>(
    `INSERT INTO motion_episodes (device_id, camera_id, episode_id, start_at, end_at, detail, received_at)
     SELECT b.d, b.c, b.e, b.s, b.en, b.det, b.r
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::jsonb[], $7::int8[]) AS b(d, c, e, s, en, det, r)
     WHERE EXISTS (SELECT 1 FROM devices WHERE id = b.d)
     ON CONFLICT (device_id, camera_id, episode_id) DO UPDATE SET
       end_at = COALESCE(EXCLUDED.end_at, motion_episodes.end_at),
       detail = CASE WHEN EXCLUDED.end_at IS NOT NULL THEN EXCLUDED.detail ELSE motion_episodes.detail END
     RETURNING device_id, camera_id, episode_id`,
    [
      items.map((i) => i.deviceId),
      items.map((i) => i.payload.cameraId),
      items.map((i) => i.payload.episodeId),
      items.map((i) => i.payload.startedAt),
      items.map((i) => (i.payload.phase === 'end' ? i.payload.endedAt : null)),
      items.map((i) => JSON.stringify(motionDetail(i.payload))),
      items.map((i) => i.receivedAt),
    ],
  );
  const stored = new Set(rows.map((r) => `${r.device_id}/${r.camera_id}/${r.episode_id}`));
  return items.map((i) =>
    stored.has(`${i.deviceId}/${i.payload.cameraId}/${i.payload.episodeId}`)
      ? null
      : new UnknownDeviceError(i.deviceId),
  );
}

function motionDetail(p: MotionPayload): Record<string, unknown> {
  return { peakScore: p.peakScore, source: p.source, ...(p.bbox ? { bbox: p.bbox } : {}) };
}

/**
 * A device that stops reporting health is offline even if no will arrived (a broker restart can
 * lose it). Idempotent, so every instance may run it on its own timer.
 */
export async function markStale(db: Queryable, now: number, staleMs: number): Promise<number> {
  const rows = await db.query(
    `UPDATE devices SET status = 'offline', status_reason = 'stale', status_at = $1
     WHERE status = 'online' AND COALESCE(last_health_at, status_at, 0) < $2 RETURNING id`,
    [now, now - staleMs],
  );
  return rows.length;
}

/**
 * Health history thinning: every report for the last hour, one per 5 minutes for a day, one per
 * hour for 30 days, nothing older. Recent detail for diagnosing a fault, a long trend at a
 * bounded cost: about 12 + 288 + 720 rows per device instead of 86,400 a month.
 */
export async function thinHealthHistory(db: Queryable, now: number): Promise<number> {
  const tiers: [number, number, number][] = [
    [now - 24 * 3600_000, now - 3600_000, 5 * 60_000],
    [now - 30 * 24 * 3600_000, now - 24 * 3600_000, 3600_000],
  ];
  let removed = 0;
  for (const [from, to, bucket] of tiers) {
    const rows = await db.query(
      `DELETE FROM health_history h USING (
         SELECT device_id, at, row_number() OVER (PARTITION BY device_id, at / $3 ORDER BY at) AS n
         FROM health_history WHERE at >= $1 AND at < $2) k
       WHERE h.device_id = k.device_id AND h.at = k.at AND k.n > 1 RETURNING h.at`,
      [from, to, bucket],
    );
    removed += rows.length;
  }
  const old = await db.query('DELETE FROM health_history WHERE at < $1 RETURNING at', [
    now - 30 * 24 * 3600_000,
  ]);
  return removed + old.length;
}
