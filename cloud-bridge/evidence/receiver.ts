/**
 * The evidence receiver: resumable uploads over the tus protocol (tus 1.0.0 core: POST to
 * create with Upload-Length and Upload-Metadata, PATCH with Upload-Offset to append, HEAD to
 * learn the offset after a cut), served by @tus/server with its file store as staging.
 * The checks themselves are in packages.ts; this file maps them onto tus's hooks, and records
 * every refusal (evidence_events + a metric), whoever produced it: our checks or tus itself
 * (a size over the limit, a wrong offset).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Server, EVENTS } from '@tus/server';
import { FileStore } from '@tus/file-store';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { EvidenceContext } from './context.js';
import {
  acceptFile,
  acceptManifest,
  authorizeCreate,
  parseMeta,
  UploadRejected,
  type UploadMeta,
} from './packages.js';
import { finalizeIfComplete, recordEvent, rejectPackage } from './finalize.js';

export const UPLOAD_PATH = '/uploads';

interface TusError {
  status_code: number;
  body: string;
}

/** @tus/server answers a hook's error with its `status_code` and `body` fields. */
class TusHttpError extends Error implements TusError {
  readonly status_code: number;
  readonly body: string;
  constructor(err: UploadRejected) {
    super(err.message);
    this.status_code = err.status;
    this.body = JSON.stringify({ code: err.code, detail: err.message }) + '\n';
  }
}

function tusError(err: UploadRejected): TusHttpError {
  return new TusHttpError(err);
}

/** tus Upload-Metadata header: comma-separated `key base64(value)` pairs (tus 1.0.0 core). */
function parseMetadataHeader(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? '').split(',')) {
    const [k, v] = pair.trim().split(' ');
    if (k) out[k] = v ? Buffer.from(v, 'base64').toString('utf8') : '';
  }
  return out;
}

export class EvidenceReceiver implements Service {
  readonly name = 'evidence-receiver';
  private readonly tus: Server;
  private readonly staging: FileStore;
  private readonly stagingDir: string;

  constructor(
    private readonly ctx: EvidenceContext,
    stagingDir: string,
  ) {
    this.stagingDir = stagingDir;
    this.staging = new FileStore({ directory: stagingDir });
    this.tus = new Server({
      path: UPLOAD_PATH,
      datastore: this.staging,
      maxSize: ctx.limits.maxUploadBytes,
      // Unfinished uploads are resumable; the receiver never lets a finished one be deleted.
      disableTerminationForFinishedUploads: true,
      onUploadCreate: async (_req, upload) => {
        try {
          const meta = parseMeta(upload.metadata);
          await authorizeCreate(ctx.db, meta, upload.size, ctx.limits.maxUploadBytes);
          const now = ctx.clock.now();
          await ctx.db.query(
            `INSERT INTO uploads (id, incident_id, device_id, camera_id, name, kind, size, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'uploading', $8, $8)`,
            [
              upload.id,
              meta.incidentId,
              meta.deviceId,
              meta.cameraId,
              meta.name ?? 'manifest.json',
              meta.kind,
              upload.size,
              now,
            ],
          );
          ctx.metrics.uploads.inc({ result: 'created' });
          return {};
        } catch (err) {
          if (err instanceof UploadRejected) throw tusError(err);
          throw err;
        }
      },
      onUploadFinish: async (_req, upload) => {
        await this.finish(upload.id, parseMeta(upload.metadata));
        return {};
      },
      onResponseError: async (req, err) => {
        await this.recordRefusal(
          req.method,
          new URL(req.url).pathname,
          req.headers.get('upload-metadata'),
          err,
        );
        return undefined;
      },
    });
    this.tus.on(EVENTS.POST_RECEIVE, (_req, upload) => {
      void this.progress(upload.id, upload.offset);
    });
  }

  private staged(id: string): string {
    return path.join(this.stagingDir, id);
  }

  private async finish(id: string, meta: UploadMeta): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    try {
      if (meta.kind === 'manifest') {
        await acceptManifest(ctx, meta, this.staged(id));
        await ctx.db.query(
          `UPDATE uploads SET state = 'received', received = size, updated_at = $2 WHERE id = $1`,
          [id, now],
        );
      } else {
        const sha256 = await acceptFile(ctx.db, meta, this.staged(id));
        await ctx.db.query(
          `UPDATE uploads SET state = 'received', received = size, sha256 = $2, updated_at = $3 WHERE id = $1`,
          [id, sha256, now],
        );
      }
      ctx.metrics.uploads.inc({ result: 'received' });
      if (await finalizeIfComplete(ctx, meta, (u) => this.staged(u))) await this.discardStaged(meta);
    } catch (err) {
      if (!(err instanceof UploadRejected)) throw err;
      await ctx.db.query(
        `UPDATE uploads SET state = 'rejected', detail = $2, updated_at = $3 WHERE id = $1`,
        [id, err.code, now],
      );
      await this.removeStaged(id);
      // A forged or corrupted package is a fact the RTCC must see, not only the uploader.
      if (
        ['bad-signature', 'hash-mismatch', 'wrong-request', 'manifest-mismatch', 'bad-manifest'].includes(
          err.code,
        )
      ) {
        await rejectPackage(ctx, meta, `${err.code}: ${err.message}`);
      }
      throw tusError(err);
    }
  }

  /** Once a package is in the evidence store, its staged uploads are only taking disk space. */
  private async discardStaged(meta: UploadMeta): Promise<void> {
    const rows = await this.ctx.db.query<{ id: string }>(
      'SELECT id FROM uploads WHERE incident_id = $1 AND device_id = $2 AND camera_id = $3',
      [meta.incidentId, meta.deviceId, meta.cameraId],
    );
    for (const r of rows) await this.removeStaged(r.id);
  }

  private async removeStaged(id: string): Promise<void> {
    try {
      await this.staging.remove(id);
    } catch (err) {
      // Already gone (removed earlier, or never written): nothing to free.
      this.ctx.log.debug('staged upload not removed', { upload: id, error: (err as Error).message });
    }
  }

  private async progress(id: string, offset: number): Promise<void> {
    try {
      await this.ctx.db.query(
        'UPDATE uploads SET received = GREATEST(received, $2), updated_at = $3 WHERE id = $1',
        [id, offset, this.ctx.clock.now()],
      );
    } catch (err) {
      this.ctx.log.warn('could not record upload progress', { upload: id, error: (err as Error).message });
    }
  }

  private async recordRefusal(
    method: string,
    pathname: string,
    metaHeader: string | null,
    err: Error | TusError,
  ): Promise<void> {
    const status = 'status_code' in err ? err.status_code : 500;
    const body = 'body' in err ? err.body : err.message;
    let code = `http-${status}`;
    let detail = body.trim();
    try {
      const parsed = JSON.parse(body) as { code?: string; detail?: string };
      if (parsed.code) code = parsed.code;
      if (parsed.detail) detail = parsed.detail;
    } catch {
      // tus's own errors are plain text ("Maximum size exceeded"): keep the text as the detail.
      code = status === 413 ? 'too-large' : code;
    }
    const id = method === 'POST' ? null : (pathname.split('/').pop() ?? null);
    let k: { incidentId?: string; deviceId?: string } = {};
    if (id) {
      const rows = await this.ctx.db.query<{ incident_id: string; device_id: string }>(
        'SELECT incident_id, device_id FROM uploads WHERE id = $1',
        [id],
      );
      if (rows[0]) k = { incidentId: rows[0].incident_id, deviceId: rows[0].device_id };
    } else {
      const m = parseMetadataHeader(metaHeader);
      k = { incidentId: m['incidentId']?.slice(0, 64), deviceId: m['deviceId']?.slice(0, 64) };
    }
    this.ctx.metrics.uploads.inc({ result: 'rejected' });
    this.ctx.log.warn('evidence upload refused', { method, status, code, ...k });
    await recordEvent(this.ctx, k, id, `rejected:${code}`, detail);
  }

  /** Handles a request under /uploads (the HTTP server routes it here). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.tus.handle(req, res);
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  health(): Health {
    return { state: 'ok' };
  }
}
