/**
 * Evidence packages: the checks the receiver makes at each step of an upload, and the final
 * verification that turns staged uploads into stored evidence with a receipt.
 *
 * Upload flow (one package = one camera's footage for one incident):
 * 1. The agent uploads the signed manifest (tus metadata kind=manifest). On completion the
 *    bridge checks the device signature with the key registered for that device, that the
 *    manifest answers this exact signed incident (requestSha256), and the size of each file.
 * 2. The agent uploads each listed file (kind=file, name=...). Creation is refused unless a
 *    verified manifest lists that name with exactly this Upload-Length. On completion the
 *    file's SHA-256 must equal the manifest's.
 * 3. When every file has arrived, the package is copied into the evidence store beside its
 *    manifest and receipt and marked verified; the agent gets an `evidence-receipt` request.
 *
 * Per-device, per-incident authentication: every upload names the request id the bridge sent
 * to that device for that incident (a random UUID delivered only on the device's own
 * `requests` topic), and nothing is stored unless the device's key signed a manifest listing
 * it. A leaked request id lets nobody plant evidence; at most it lets them start uploads that
 * are rejected and recorded.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AgentId, CameraId, Uuid } from '../../protocol/schemas/common.js';
import {
  EvidenceFileName,
  SignedEvidenceManifest,
  incidentSha256,
  packageSha256,
  verifyEvidenceManifest,
  type EvidenceReceipt,
} from '../../protocol/evidence-manifest.js';
import { SignedIncident } from '../../protocol/incident.js';
import { importPublicKeyRaw } from '../../protocol/signing.js';
import { describeIssues } from '../../protocol/codec.js';
import type { Queryable } from '../db/db.js';
import { sha256File } from './store.js';
import type { EvidenceContext } from './context.js';

/** The manifest is small JSON; anything bigger is not a manifest. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** tus Upload-Metadata keys (tus 1.0.0 core: "Upload-Metadata", creation extension). */
export const UploadMeta = z.strictObject({
  kind: z.enum(['manifest', 'file']),
  incidentId: Uuid,
  deviceId: AgentId,
  cameraId: CameraId,
  requestId: Uuid,
  name: EvidenceFileName.optional(),
  filename: z.string().max(256).optional(),
});
export type UploadMeta = z.infer<typeof UploadMeta>;

/** A refusal with its HTTP status and a stable code; the receiver records and returns it. */
export class UploadRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadRejected';
  }
}

export function parseMeta(raw: Record<string, string | null | undefined> | undefined): UploadMeta {
  const clean = Object.fromEntries(
    Object.entries(raw ?? {}).filter(([, v]) => v !== null && v !== undefined),
  );
  const r = UploadMeta.safeParse(clean);
  if (!r.success)
    throw new UploadRejected(400, 'bad-metadata', `Upload-Metadata is invalid: ${describeIssues(r.error)}`);
  if (r.data.kind === 'file' && !r.data.name)
    throw new UploadRejected(400, 'bad-metadata', 'a file upload needs a name');
  return r.data;
}

interface PackageRow {
  state: string;
  manifest: { manifest: { files: { name: string; bytes: number; sha256: string }[] } };
}

/** Checks made when an upload is created (POST): before a single byte is accepted. */
export async function authorizeCreate(
  db: Queryable,
  meta: UploadMeta,
  size: number | undefined,
  maxUploadBytes: number,
): Promise<void> {
  if (size === undefined)
    throw new UploadRejected(
      400,
      'length-required',
      'Upload-Length is required (deferred length is not accepted)',
    );
  const inc = await db.query('SELECT 1 FROM incidents WHERE id = $1', [meta.incidentId]);
  if (inc.length === 0)
    throw new UploadRejected(404, 'unknown-incident', `incident ${meta.incidentId} is unknown`);
  const target = await db.query<{ request_id: string }>(
    'SELECT request_id FROM incident_targets WHERE incident_id = $1 AND device_id = $2',
    [meta.incidentId, meta.deviceId],
  );
  if (target[0]?.request_id !== meta.requestId) {
    throw new UploadRejected(
      403,
      'not-authorized',
      'this device was not asked for this incident, or the request id does not match',
    );
  }
  if (meta.kind === 'manifest') {
    if (size > MAX_MANIFEST_BYTES)
      throw new UploadRejected(413, 'too-large', `a manifest may be at most ${MAX_MANIFEST_BYTES} bytes`);
    return;
  }
  if (size > maxUploadBytes)
    throw new UploadRejected(413, 'too-large', `a file may be at most ${maxUploadBytes} bytes`);
  const pkg = await packageRow(db, meta);
  if (!pkg || pkg.state !== 'uploading') {
    throw new UploadRejected(
      409,
      'no-manifest',
      'upload the signed manifest first (or again, after a rejection)',
    );
  }
  const listed = pkg.manifest.manifest.files.find((f) => f.name === meta.name);
  if (!listed) throw new UploadRejected(403, 'not-in-manifest', `the manifest does not list ${meta.name}`);
  if (listed.bytes !== size) {
    throw new UploadRejected(
      400,
      'length-mismatch',
      `the manifest says ${meta.name} has ${listed.bytes} bytes, Upload-Length is ${size}`,
    );
  }
}

async function packageRow(db: Queryable, meta: UploadMeta): Promise<PackageRow | undefined> {
  const rows = await db.query<PackageRow>(
    'SELECT state, manifest FROM evidence_packages WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3',
    [meta.incidentId, meta.deviceId, meta.cameraId],
  );
  return rows[0];
}

/** Completion of a manifest upload: signature, binding to the incident, sizes. */
export async function acceptManifest(
  ctx: EvidenceContext,
  meta: UploadMeta,
  stagedFile: string,
): Promise<void> {
  const { db, limits } = ctx;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(stagedFile, 'utf8'));
  } catch (err) {
    throw new UploadRejected(422, 'bad-manifest', `the manifest is not JSON: ${(err as Error).message}`);
  }
  const r = SignedEvidenceManifest.safeParse(parsed);
  if (!r.success)
    throw new UploadRejected(422, 'bad-manifest', `the manifest is invalid: ${describeIssues(r.error)}`);
  const signed = r.data;
  const m = signed.manifest;
  if (m.incidentId !== meta.incidentId || m.deviceId !== meta.deviceId || m.cameraId !== meta.cameraId) {
    throw new UploadRejected(
      422,
      'manifest-mismatch',
      'the manifest names another incident, device or camera than the upload',
    );
  }
  const keys = await db.query<{ public_key: string }>('SELECT public_key FROM devices WHERE id = $1', [
    meta.deviceId,
  ]);
  const key = keys[0];
  if (!key) throw new UploadRejected(403, 'unknown-device', `device ${meta.deviceId} is not registered`);
  if (!verifyEvidenceManifest(signed, importPublicKeyRaw(key.public_key))) {
    throw new UploadRejected(
      422,
      'bad-signature',
      'the manifest signature does not verify with the device key',
    );
  }
  const incidents = await db.query<{ request: unknown }>('SELECT request FROM incidents WHERE id = $1', [
    meta.incidentId,
  ]);
  const request = SignedIncident.safeParse(incidents[0]?.request);
  if (!request.success || incidentSha256(request.data) !== m.requestSha256) {
    throw new UploadRejected(
      422,
      'wrong-request',
      'the manifest does not answer this incident request (requestSha256)',
    );
  }
  const big = m.files.find((f) => f.bytes > limits.maxUploadBytes);
  if (big)
    throw new UploadRejected(413, 'too-large', `${big.name} is over the ${limits.maxUploadBytes}-byte limit`);
  const total = m.files.reduce((s, f) => s + f.bytes, 0);
  const now = ctx.clock.now();
  const rows = await db.query(
    `INSERT INTO evidence_packages (incident_id, device_id, camera_id, manifest, total_bytes, state, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, 'uploading', $6)
     ON CONFLICT (incident_id, device_id, camera_id) DO UPDATE SET manifest = EXCLUDED.manifest,
       total_bytes = EXCLUDED.total_bytes, state = 'uploading', detail = NULL, package_sha256 = NULL,
       received_at = NULL, receipt = NULL, updated_at = EXCLUDED.updated_at
     WHERE evidence_packages.state IN ('uploading', 'rejected') RETURNING incident_id`,
    [meta.incidentId, meta.deviceId, meta.cameraId, JSON.stringify(signed), total, now],
  );
  if (rows.length === 0)
    throw new UploadRejected(409, 'already-verified', 'this package is already received and verified');
  // A new manifest starts the package afresh: earlier file uploads no longer count.
  await db.query(
    `UPDATE uploads SET state = 'rejected', detail = 'superseded by a new manifest', updated_at = $4
     WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3 AND kind = 'file' AND state <> 'rejected'`,
    [meta.incidentId, meta.deviceId, meta.cameraId, now],
  );
  await setCameraState(db, meta, 'uploading', null, 0, now);
}

/** Completion of a file upload: its hash against the manifest. */
export async function acceptFile(db: Queryable, meta: UploadMeta, stagedFile: string): Promise<string> {
  const pkg = await packageRow(db, meta);
  const listed = pkg?.manifest.manifest.files.find((f) => f.name === meta.name);
  if (!pkg || pkg.state !== 'uploading' || !listed)
    throw new UploadRejected(409, 'no-manifest', 'the package is no longer accepting files');
  const { sha256, bytes } = await sha256File(stagedFile);
  if (bytes !== listed.bytes || sha256 !== listed.sha256) {
    throw new UploadRejected(
      422,
      'hash-mismatch',
      `${meta.name}: SHA-256 ${sha256} does not match the manifest's ${listed.sha256}`,
    );
  }
  return sha256;
}

export async function setCameraState(
  db: Queryable,
  meta: { incidentId: string; deviceId: string; cameraId: string },
  state: string,
  detail: string | null,
  percent: number | null,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO incident_cameras (incident_id, device_id, camera_id, state, detail, percent, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (incident_id, device_id, camera_id) DO UPDATE SET state = EXCLUDED.state, detail = EXCLUDED.detail,
       percent = EXCLUDED.percent, updated_at = EXCLUDED.updated_at`,
    [meta.incidentId, meta.deviceId, meta.cameraId, state, detail, percent, now],
  );
}

export type { EvidenceReceipt };
export { packageSha256 };
