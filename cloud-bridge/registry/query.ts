/**
 * Reading the registry: device lists for the API and dashboard, one device in detail, and the
 * spatial query that picks an incident's targets.
 */
import { boundingBox, distanceToAreaM, type Area, type BoundingBox } from '../../protocol/geofence.js';
import type { Queryable } from '../db/db.js';

export interface DeviceSummary {
  id: string;
  siteName: string;
  lat: number;
  lon: number;
  policy: string;
  status: string;
  statusReason: string | null;
  /** online, offline, degraded (online but a camera is not recording or the clock is off), unknown. */
  health: 'online' | 'offline' | 'degraded' | 'unknown';
  lastSeen: number | null;
  lastHealthAt: number | null;
  bufferSeconds: number | null;
  agentVersion: string | null;
  cameraCount: number;
  /** Motion episodes that started in the last hour. */
  motionLastHour: number;
}

interface DeviceRow {
  id: string;
  site_name: string;
  lat: number;
  lon: number;
  policy: string;
  status: string;
  status_reason: string | null;
  degraded: boolean;
  last_seen: number | null;
  last_health_at: number | null;
  buffer_seconds: number | null;
  agent_version: string | null;
  camera_count: number;
  motion_last_hour: number;
}

const SUMMARY_SQL = `
  SELECT d.id, d.site_name, d.lat, d.lon, d.policy, d.status, d.status_reason, d.degraded, d.last_seen,
    d.last_health_at, d.buffer_seconds, d.agent_version,
    (SELECT count(*)::int FROM cameras c WHERE c.device_id = d.id) AS camera_count,
    (SELECT count(*)::int FROM motion_episodes m WHERE m.device_id = d.id AND m.start_at >= $1) AS motion_last_hour
  FROM devices d`;

function toSummary(r: DeviceRow): DeviceSummary {
  const health =
    r.status === 'online'
      ? r.degraded
        ? 'degraded'
        : 'online'
      : r.status === 'offline'
        ? 'offline'
        : 'unknown';
  return {
    id: r.id,
    siteName: r.site_name,
    lat: r.lat,
    lon: r.lon,
    policy: r.policy,
    status: r.status,
    statusReason: r.status_reason,
    health,
    lastSeen: r.last_seen,
    lastHealthAt: r.last_health_at,
    bufferSeconds: r.buffer_seconds,
    agentVersion: r.agent_version,
    cameraCount: r.camera_count,
    motionLastHour: r.motion_last_hour,
  };
}

export async function listDevices(
  db: Queryable,
  now: number,
  opts: { limit?: number; offset?: number } = {},
): Promise<DeviceSummary[]> {
  const rows = await db.query<DeviceRow>(`${SUMMARY_SQL} ORDER BY d.id LIMIT $2 OFFSET $3`, [
    now - 3600_000,
    opts.limit ?? 1000,
    opts.offset ?? 0,
  ]);
  return rows.map(toSummary);
}

export async function getDevice(db: Queryable, id: string, now: number) {
  const rows = await db.query<DeviceRow & { health_json: unknown }>(
    `${SUMMARY_SQL.replace('FROM devices d', ', d.health AS health_json FROM devices d')} WHERE d.id = $2`,
    [now - 3600_000, id],
  );
  const row = rows[0];
  if (!row) return null;
  const cameras = await db.query<{
    camera_id: string;
    name: string | null;
    lat: number | null;
    lon: number | null;
    info: unknown;
  }>('SELECT camera_id, name, lat, lon, info FROM cameras WHERE device_id = $1 ORDER BY camera_id', [id]);
  const motion = await db.query<{
    camera_id: string;
    episode_id: string;
    start_at: number;
    end_at: number | null;
    detail: unknown;
  }>(
    `SELECT camera_id, episode_id, start_at, end_at, detail FROM motion_episodes WHERE device_id = $1
     ORDER BY start_at DESC LIMIT 50`,
    [id],
  );
  const history = await db.query<{ at: number; summary: unknown }>(
    'SELECT at, summary FROM health_history WHERE device_id = $1 AND at >= $2 ORDER BY at',
    [id, now - 24 * 3600_000],
  );
  return {
    ...toSummary(row),
    latestHealth: row.health_json ?? null,
    cameras: cameras.map((c) => ({ id: c.camera_id, name: c.name, lat: c.lat, lon: c.lon, info: c.info })),
    motion: motion.map((m) => ({
      cameraId: m.camera_id,
      episodeId: m.episode_id,
      startedAt: m.start_at,
      endedAt: m.end_at,
      detail: m.detail,
    })),
    healthHistory: history,
  };
}

export interface Target {
  deviceId: string;
  /** Cameras with a known location in or near the area; empty when only the site matched. */
  cameraIds: string[];
  /** Distance from the area (0 inside), metres: the nearest camera's or the site's. */
  distanceM: number;
}

/** Box predicate for `point(lon, lat) <@ box`, split in two when the box crosses the antimeridian. */
function boxSql(box: BoundingBox, first: number): { sql: string; params: number[] } {
  const b = (i: number) =>
    `box(point($${first + i}, $${first + i + 1}), point($${first + i + 2}, $${first + i + 3}))`;
  if (box.minLon <= box.maxLon)
    return { sql: `point(lon, lat) <@ ${b(0)}`, params: [box.minLon, box.minLat, box.maxLon, box.maxLat] };
  return {
    sql: `(point(lon, lat) <@ ${b(0)} OR point(lon, lat) <@ ${b(4)})`,
    params: [box.minLon, box.minLat, 180, box.maxLat, -180, box.minLat, box.maxLon, box.maxLat],
  };
}

/**
 * Devices with a camera (or, for cameras without a location, the site itself) in the area or
 * within marginM of it. Two steps: a bounding-box query that the GiST indexes on point(lon, lat)
 * answer without touching devices far away, then the exact test with protocol/'s geofence math
 * (the same code the agents use) on the few candidates. The cost grows with the devices near
 * the incident, not with the size of the registry.
 */
export async function findTargets(db: Queryable, area: Area, marginM: number): Promise<Target[]> {
  const box = boundingBox(area, marginM);
  const cam = boxSql(box, 1);
  const site = boxSql(box, 1);
  const [cameras, sites] = await Promise.all([
    db.query<{ device_id: string; camera_id: string; lat: number; lon: number }>(
      `SELECT device_id, camera_id, lat, lon FROM cameras WHERE lat IS NOT NULL AND lon IS NOT NULL AND ${cam.sql}`,
      cam.params,
    ),
    db.query<{ id: string; lat: number; lon: number }>(
      `SELECT id, lat, lon FROM devices WHERE ${site.sql}`,
      site.params,
    ),
  ]);
  const targets = new Map<string, Target>();
  for (const c of cameras) {
    const d = distanceToAreaM(area, c);
    if (d > marginM) continue;
    const t = targets.get(c.device_id) ?? { deviceId: c.device_id, cameraIds: [], distanceM: d };
    t.cameraIds.push(c.camera_id);
    t.distanceM = Math.min(t.distanceM, d);
    targets.set(c.device_id, t);
  }
  // The site location counts too: an agent whose cameras are not placed yet (location null)
  // still gets the request and decides per camera itself.
  for (const s of sites) {
    if (targets.has(s.id)) continue;
    const d = distanceToAreaM(area, s);
    if (d <= marginM) targets.set(s.id, { deviceId: s.id, cameraIds: [], distanceM: d });
  }
  return [...targets.values()].sort(
    (a, b) => a.distanceM - b.distanceM || a.deviceId.localeCompare(b.deviceId),
  );
}
