/**
 * Building and uploading an evidence package the way an agent will: a manifest listing each
 * file's SHA-256, signed with the device key, uploaded first, then the files, all over tus.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  incidentSha256,
  signEvidenceManifest,
  type SignedEvidenceManifest,
} from '../../protocol/evidence-manifest.js';
import type { SignedIncident } from '../../protocol/incident.js';
import { tusCreate, tusSend } from './tus-client.js';

export interface PackageFile {
  name: string;
  body: Buffer;
  contentType?: string;
}

export function buildManifest(
  signed: SignedIncident,
  deviceId: string,
  cameraId: string,
  files: readonly PackageFile[],
  key: KeyObject,
  tamper?: (m: SignedEvidenceManifest['manifest']) => void,
): SignedEvidenceManifest {
  const manifest = {
    v: 1 as const,
    incidentId: signed.request.id,
    deviceId,
    cameraId,
    requestSha256: incidentSha256(signed),
    covered: { from: signed.request.from, to: signed.request.to },
    createdAt: Date.now(),
    files: files.map((f) => ({
      name: f.name,
      bytes: f.body.length,
      sha256: createHash('sha256').update(f.body).digest('hex'),
      ...(f.contentType ? { contentType: f.contentType } : {}),
    })),
  };
  tamper?.(manifest);
  return signEvidenceManifest(manifest, key);
}

export interface UploadTarget {
  base: string;
  incidentId: string;
  deviceId: string;
  cameraId: string;
  requestId: string;
}

/** Uploads one object; returns the final status (204 accepted, else the refusal). */
export async function uploadOne(
  t: UploadTarget,
  kind: 'manifest' | 'file',
  body: Buffer,
  name?: string,
  opts: { declaredSize?: number; chunkSize?: number; cutAfterChunks?: number } = {},
): Promise<{ status: number; body: string }> {
  const meta: Record<string, string> = {
    kind,
    incidentId: t.incidentId,
    deviceId: t.deviceId,
    cameraId: t.cameraId,
    requestId: t.requestId,
  };
  if (name) meta['name'] = name;
  const created = await tusCreate(t.base, opts.declaredSize ?? body.length, meta);
  if (!created.ok) return created;
  if (opts.cutAfterChunks !== undefined) {
    // A cut link: send part, then resume from the server's offset (HEAD), as tus 1.0.0 intends.
    const partial = await tusSend(created.location, body, opts.chunkSize, opts.cutAfterChunks);
    // Done already (it fitted in the first chunks): the bridge may have stored it and freed
    // the staged upload, so there is nothing to resume.
    if (partial.status !== 204 || partial.offset >= body.length) return partial;
  }
  return tusSend(created.location, body, opts.chunkSize);
}

export async function uploadPackage(
  t: UploadTarget,
  signed: SignedEvidenceManifest,
  files: readonly PackageFile[],
  chunkSize?: number,
) {
  const m = await uploadOne(t, 'manifest', Buffer.from(JSON.stringify(signed)));
  if (m.status !== 204) return m;
  for (const f of files) {
    const r = await uploadOne(t, 'file', f.body, f.name, { chunkSize, cutAfterChunks: 1 });
    if (r.status !== 204) return r;
  }
  return { status: 204, body: '' };
}
