/**
 * Evidence downloads: one file with HTTP Range (RFC 9110 §14) so a browser can play and seek a
 * clip, and the whole incident as a tar of its verified packages.
 */
import type { Queryable } from '../db/db.js';
import { writeTar, type TarEntry } from '../evidence/tar.js';
import type { EvidenceStore } from '../evidence/store.js';
import { HttpError } from './problem.js';
import type { RouteContext } from './router.js';

async function verifiedPrefixes(
  db: Queryable,
  incidentId: string,
): Promise<{ deviceId: string; cameraId: string; contentTypes: Map<string, string> }[]> {
  const exists = await db.query('SELECT 1 FROM incidents WHERE id = $1', [incidentId]);
  if (exists.length === 0) throw new HttpError(404, 'not-found', 'no such incident');
  const rows = await db.query<{
    device_id: string;
    camera_id: string;
    manifest: { manifest: { files: { name: string; contentType?: string }[] } };
  }>(
    `SELECT device_id, camera_id, manifest FROM evidence_packages WHERE incident_id = $1 AND state = 'verified' ORDER BY device_id, camera_id`,
    [incidentId],
  );
  return rows.map((r) => ({
    deviceId: r.device_id,
    cameraId: r.camera_id,
    contentTypes: new Map(
      r.manifest.manifest.files.map((f) => [f.name, f.contentType ?? 'application/octet-stream']),
    ),
  }));
}

export async function sendEvidenceFile(
  ctx: RouteContext,
  db: Queryable,
  store: EvidenceStore,
  key: string,
  incidentId: string,
): Promise<void> {
  const [, , deviceId, cameraId, , name] = key.split('/');
  const pkg = (await verifiedPrefixes(db, incidentId)).find(
    (p) => p.deviceId === deviceId && p.cameraId === cameraId,
  );
  const type = name ? pkg?.contentTypes.get(name) : undefined;
  const stat = type ? await store.stat(key) : null;
  if (!stat || !type) throw new HttpError(404, 'not-found', 'no such verified evidence file');
  const size = stat.bytes;
  const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range && size > 0) {
    if (range[1] === '' && range[2] !== '') start = Math.max(0, size - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= size) {
      ctx.res.writeHead(416, { 'content-range': `bytes */${size}` });
      ctx.res.end();
      return;
    }
    status = 206;
  }
  ctx.res.writeHead(status, {
    'content-type': type,
    'content-length': size === 0 ? 0 : end - start + 1,
    'accept-ranges': 'bytes',
    'cache-control': 'private, no-store',
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (ctx.req.method === 'HEAD' || size === 0) {
    ctx.res.end();
    return;
  }
  const body = store.get(key, { start, end });
  body.on('error', () => ctx.res.destroy());
  body.pipe(ctx.res);
  await new Promise<void>((resolve) => ctx.res.once('close', resolve));
}

export async function sendEvidenceTar(
  ctx: RouteContext,
  db: Queryable,
  store: EvidenceStore,
  incidentId: string,
): Promise<void> {
  const packages = await verifiedPrefixes(db, incidentId);
  const entries: TarEntry[] = [];
  for (const p of packages) {
    const prefix = `incidents/${incidentId}/${p.deviceId}/${p.cameraId}`;
    for (const key of await store.list(prefix)) {
      const stat = await store.stat(key);
      if (!stat) continue;
      // Inside the tar: {incidentId}/{deviceId}/{cameraId}/manifest.json, receipt.json, files/...
      entries.push({
        name: key.slice('incidents/'.length),
        size: stat.bytes,
        mtimeMs: Date.now(),
        open: () => store.get(key),
      });
    }
  }
  if (entries.length === 0)
    throw new HttpError(404, 'not-found', 'this incident has no verified evidence yet');
  ctx.res.writeHead(200, {
    'content-type': 'application/x-tar',
    'content-disposition': `attachment; filename="incident-${incidentId}.tar"`,
    'cache-control': 'private, no-store',
  });
  await writeTar(ctx.res, entries);
  ctx.res.end();
}
