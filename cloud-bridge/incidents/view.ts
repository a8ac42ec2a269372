/**
 * The combined state of an incident, as the API and the dashboard show it: per agent the
 * delivery/outcome, per camera the latest state (agent-reported, or the bridge's own evidence
 * verdict), and each evidence package with its receipt.
 */
import type { Queryable } from '../db/db.js';

export interface IncidentView {
  id: string;
  caseNumber: string;
  reason: string;
  area: unknown;
  from: number;
  to: number;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
  targets: {
    deviceId: string;
    siteName: string | null;
    lat: number | null;
    lon: number | null;
    state: string;
    detail: string | null;
    updatedAt: number;
    cameras: {
      cameraId: string;
      state: string;
      percent: number | null;
      detail: string | null;
      updatedAt: number;
    }[];
  }[];
  evidence: {
    deviceId: string;
    cameraId: string;
    state: string;
    detail: string | null;
    totalBytes: number;
    receivedBytes: number;
    percent: number;
    packageSha256: string | null;
    receivedAt: number | null;
    receipt: unknown;
  }[];
}

export async function getIncidentView(db: Queryable, id: string): Promise<IncidentView | null> {
  const inc = await db.query<{
    id: string;
    case_number: string;
    reason: string;
    area: unknown;
    from_at: number;
    to_at: number;
    created_at: number;
    created_by: string | null;
    request: { request?: { expiresAt?: number } };
  }>(
    'SELECT id, case_number, reason, area, from_at, to_at, created_at, created_by, request FROM incidents WHERE id = $1',
    [id],
  );
  const row = inc[0];
  if (!row) return null;
  const [targets, cameras, packages] = await Promise.all([
    db.query<{
      device_id: string;
      site_name: string | null;
      lat: number | null;
      lon: number | null;
      state: string;
      detail: string | null;
      updated_at: number;
    }>(
      `SELECT t.device_id, d.site_name, d.lat, d.lon, t.state, t.detail, t.updated_at
       FROM incident_targets t LEFT JOIN devices d ON d.id = t.device_id WHERE t.incident_id = $1 ORDER BY t.device_id`,
      [id],
    ),
    db.query<{
      device_id: string;
      camera_id: string;
      state: string;
      percent: number | null;
      detail: string | null;
      updated_at: number;
    }>(
      'SELECT device_id, camera_id, state, percent, detail, updated_at FROM incident_cameras WHERE incident_id = $1 ORDER BY device_id, camera_id',
      [id],
    ),
    db.query<{
      device_id: string;
      camera_id: string;
      state: string;
      detail: string | null;
      total_bytes: number;
      received_bytes: number;
      package_sha256: string | null;
      received_at: number | null;
      receipt: unknown;
    }>(
      `SELECT p.device_id, p.camera_id, p.state, p.detail, p.total_bytes, p.package_sha256, p.received_at, p.receipt,
         COALESCE((SELECT sum(u.received)::bigint FROM uploads u WHERE u.incident_id = p.incident_id AND u.device_id = p.device_id
           AND u.camera_id = p.camera_id AND u.kind = 'file' AND u.state <> 'rejected'), 0) AS received_bytes
       FROM evidence_packages p WHERE p.incident_id = $1 ORDER BY p.device_id, p.camera_id`,
      [id],
    ),
  ]);
  return {
    id: row.id,
    caseNumber: row.case_number,
    reason: row.reason,
    area: row.area,
    from: row.from_at,
    to: row.to_at,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.request.request?.expiresAt ?? null,
    targets: targets.map((t) => ({
      deviceId: t.device_id,
      siteName: t.site_name,
      lat: t.lat,
      lon: t.lon,
      state: t.state,
      detail: t.detail,
      updatedAt: t.updated_at,
      cameras: cameras
        .filter((c) => c.device_id === t.device_id)
        .map((c) => ({
          cameraId: c.camera_id,
          state: c.state,
          percent: c.percent,
          detail: c.detail,
          updatedAt: c.updated_at,
        })),
    })),
    evidence: packages.map((p) => ({
      deviceId: p.device_id,
      cameraId: p.camera_id,
      state: p.state,
      detail: p.detail,
      totalBytes: p.total_bytes,
      receivedBytes: Number(p.received_bytes),
      percent: p.total_bytes > 0 ? Math.min(100, (100 * Number(p.received_bytes)) / p.total_bytes) : 100,
      packageSha256: p.package_sha256,
      receivedAt: p.received_at,
      receipt: p.receipt,
    })),
  };
}

export async function listIncidents(db: Queryable, limit = 100) {
  const rows = await db.query<{
    id: string;
    case_number: string;
    reason: string;
    area: unknown;
    from_at: number;
    to_at: number;
    created_at: number;
    targets: number;
  }>(
    `SELECT i.id, i.case_number, i.reason, i.area, i.from_at, i.to_at, i.created_at,
       (SELECT count(*)::int FROM incident_targets t WHERE t.incident_id = i.id) AS targets
     FROM incidents i ORDER BY i.created_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    caseNumber: r.case_number,
    reason: r.reason,
    area: r.area,
    from: r.from_at,
    to: r.to_at,
    createdAt: r.created_at,
    targets: r.targets,
  }));
}
