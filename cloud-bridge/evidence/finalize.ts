/**
 * Turning a complete package into stored evidence, and recording rejections.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { canonicalize } from '../../protocol/canonical.js';
import {
  packageSha256,
  type EvidenceReceipt,
  type SignedEvidenceManifest,
} from '../../protocol/evidence-manifest.js';
import { redactText } from '../../lib/redact.js';
import type { EvidenceContext } from './context.js';
import { setCameraState, type UploadMeta } from './packages.js';
import { evidenceKey } from './store.js';

type PackageKey = Pick<UploadMeta, 'incidentId' | 'deviceId' | 'cameraId'>;

export function packagePrefix(k: PackageKey): string {
  return evidenceKey('incidents', k.incidentId, k.deviceId, k.cameraId);
}

/**
 * Finalizes the package if every listed file has been received. Exactly one caller wins the
 * claim (an atomic UPDATE ... WHERE state = 'uploading'), so two last files finishing at once,
 * even on two bridge instances, store the package once. Returns the receipt when it finalized.
 */
export async function finalizeIfComplete(
  ctx: EvidenceContext,
  k: PackageKey,
  stagedPath: (uploadId: string) => string,
): Promise<EvidenceReceipt | null> {
  const { db } = ctx;
  const claimed = await db.query<{ manifest: SignedEvidenceManifest }>(
    `UPDATE evidence_packages p SET state = 'finalizing'
     WHERE p.incident_id = $1 AND p.device_id = $2 AND p.camera_id = $3 AND p.state = 'uploading'
       AND (SELECT count(DISTINCT u.name) FROM uploads u WHERE u.incident_id = p.incident_id AND u.device_id = p.device_id
            AND u.camera_id = p.camera_id AND u.kind = 'file' AND u.state = 'received')
           = jsonb_array_length(p.manifest -> 'manifest' -> 'files')
     RETURNING p.manifest`,
    [k.incidentId, k.deviceId, k.cameraId],
  );
  const signed = claimed[0]?.manifest;
  if (!signed) return null;
  const uploads = await db.query<{ id: string; name: string; updated_at: number }>(
    `SELECT DISTINCT ON (name) id, name, updated_at FROM uploads
     WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3 AND kind = 'file' AND state = 'received'
     ORDER BY name, updated_at DESC`,
    [k.incidentId, k.deviceId, k.cameraId],
  );
  const prefix = packagePrefix(k);
  try {
    for (const f of signed.manifest.files) {
      const up = uploads.find((u) => u.name === f.name);
      if (!up) throw new Error(`${f.name} has no received upload`);
      // Hashed again while copying: what lands in the store is what the manifest names.
      const stored = await ctx.store.put(
        `${prefix}/files/${evidenceKey(f.name)}`,
        createReadStream(stagedPath(up.id)),
      );
      if (stored.sha256 !== f.sha256) throw new Error(`${f.name} changed while being stored`);
    }
    const receivedAt = Math.max(...uploads.map((u) => u.updated_at));
    const receipt: EvidenceReceipt = {
      v: 1,
      incidentId: k.incidentId,
      deviceId: k.deviceId,
      cameraId: k.cameraId,
      status: 'verified',
      packageSha256: packageSha256(signed),
      receivedAt,
      checkedAt: ctx.clock.now(),
      files: signed.manifest.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })),
      signatureValid: true,
      receiver: ctx.receiverName,
    };
    await ctx.store.put(`${prefix}/manifest.json`, Readable.from([canonicalize(signed)]));
    await ctx.store.put(`${prefix}/receipt.json`, Readable.from([JSON.stringify(receipt, null, 2)]));
    await db.query(
      `UPDATE evidence_packages SET state = 'verified', package_sha256 = $4, received_at = $5, receipt = $6::jsonb, updated_at = $7
       WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3`,
      [
        k.incidentId,
        k.deviceId,
        k.cameraId,
        receipt.packageSha256,
        receivedAt,
        JSON.stringify(receipt),
        receipt.checkedAt,
      ],
    );
    await setCameraState(db, k, 'verified', null, 100, receipt.checkedAt);
    await recordEvent(ctx, k, null, 'verified', receipt.packageSha256);
    ctx.metrics.uploads.inc({ result: 'verified' });
    await sendReceipt(ctx, k, 'verified', receipt.packageSha256);
    return receipt;
  } catch (err) {
    await rejectPackage(ctx, k, `could not store the package: ${(err as Error).message}`);
    throw err;
  }
}

export async function recordEvent(
  ctx: EvidenceContext,
  k: Partial<PackageKey>,
  uploadId: string | null,
  event: string,
  detail: string | null,
): Promise<void> {
  await ctx.db.query(
    'INSERT INTO evidence_events (at, incident_id, device_id, upload_id, event, detail) VALUES ($1, $2, $3, $4, $5, $6)',
    [
      ctx.clock.now(),
      k.incidentId ?? null,
      k.deviceId ?? null,
      uploadId,
      event,
      detail === null ? null : redactText(detail).slice(0, 1000),
    ],
  );
}

/** Marks a package rejected (bad signature, wrong hash, ...) and tells the agent. */
export async function rejectPackage(ctx: EvidenceContext, k: PackageKey, detail: string): Promise<void> {
  const now = ctx.clock.now();
  const short = detail.slice(0, 300);
  await ctx.db.query(
    `UPDATE evidence_packages SET state = 'rejected', detail = $4, updated_at = $5
     WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3 AND state <> 'verified'`,
    [k.incidentId, k.deviceId, k.cameraId, short, now],
  );
  await setCameraState(ctx.db, k, 'failed', short, null, now);
  await sendReceipt(ctx, k, 'rejected', undefined, short);
}

async function sendReceipt(
  ctx: EvidenceContext,
  k: PackageKey,
  status: 'verified' | 'rejected',
  packageSha256?: string,
  detail?: string,
): Promise<void> {
  if (!ctx.publisher) return;
  try {
    await ctx.publisher.publish(k.deviceId, 'requests', {
      v: 1,
      ts: ctx.clock.now(),
      requestId: randomUUID(),
      type: 'evidence-receipt',
      incidentId: k.incidentId,
      cameraId: k.cameraId,
      status,
      ...(packageSha256 ? { packageSha256 } : {}),
      ...(detail ? { detail: detail.replace(/\p{Cc}/gu, ' ') } : {}),
    });
  } catch (err) {
    // The receipt is also in the API; an agent that misses it asks again by re-uploading (409).
    ctx.log.warn('could not send an evidence receipt', { device: k.deviceId, error: (err as Error).message });
  }
}
