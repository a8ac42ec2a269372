/**
 * The glue between the job runner and the uploader: progress replies, audit of resumes, the
 * first-byte event, and which refusals no rebuild of the package can fix.
 */
import type { IncidentContext } from './context.js';
import type { CameraJob, IncidentRecord } from './jobs.js';
import { uploadPercent } from './replies.js';
import type { ByteBucket } from './throttle.js';
import type { TusClient, TusRefusal } from './tus.js';
import type { UploaderDeps } from './uploader.js';

/** Progress replies: at each 10 % step, else at most every 30 s (replies are never dropped from the outbox, so they are kept few). */
const PROGRESS_STEP = 10;
const PROGRESS_MIN_GAP_MS = 30_000;

/**
 * Codes the bridge uses (cloud-bridge/evidence/packages.ts) for problems a new package cannot
 * solve: the device or incident is not (or no longer) one the bridge will take evidence for.
 * Anything else (hash mismatch, a manifest the bridge did not accept, a length mismatch) is
 * answered by cutting and signing the package again, up to maxAttempts.
 */
const FINAL_CODES = new Set([
  'not-authorized',
  'unknown-incident',
  'unknown-device',
  'too-large',
  'bad-metadata',
  'length-required',
]);

export function refusalIsFinal(r: TusRefusal): boolean {
  return FINAL_CODES.has(r.code) || r.status === 401 || r.status === 403;
}

/**
 * Bytes per tus PATCH without a cap. The bridge's HEAD gives the exact offset after a cut
 * whatever the chunk size, so a chunk only bounds how much one request carries; each costs a
 * request and the receiver's per-PATCH work (lock, metadata). 64 MiB keeps that under a few
 * percent on loopback (bench incidents). Behind a reverse proxy with a body limit (nginx's
 * client_max_body_size), set upload.chunkBytes below it.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface UploadSettings {
  chunkBytes: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export function uploadSettings(ctx: IncidentContext): UploadSettings {
  const u = ctx.opts.upload ?? {};
  let chunkBytes = u.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  // Under a cap, a PATCH every few seconds keeps the persisted offset (and progress) fresh.
  if (u.bytesPerSecond !== undefined)
    chunkBytes = Math.min(chunkBytes, Math.max(256 * 1024, u.bytesPerSecond * 4));
  return { chunkBytes, retryInitialMs: u.retryInitialMs ?? 1_000, retryMaxMs: u.retryMaxMs ?? 30_000 };
}

export function uploadDeps(
  ctx: IncidentContext,
  client: TusClient,
  bucket: ByteBucket | undefined,
  record: IncidentRecord,
  job: CameraJob,
): UploaderDeps {
  let lastStep = Math.floor(uploadPercent(job) / PROGRESS_STEP);
  let lastAt = ctx.clock.monotonic();
  return {
    client,
    bucket,
    ...uploadSettings(ctx),
    jobs: ctx.jobs,
    agentId: ctx.opts.identity.agentId,
    log: ctx.log,
    onProgress: (j) => {
      const step = Math.floor(uploadPercent(j) / PROGRESS_STEP);
      const now = ctx.clock.monotonic();
      if (step === lastStep && now - lastAt < PROGRESS_MIN_GAP_MS) return;
      lastStep = step;
      lastAt = now;
      void ctx.sendStatus(record.incidentId);
    },
    onResume: (name, offset) => {
      ctx.log.info('resuming an upload where the bridge stopped', {
        incident: record.incidentId,
        camera: job.cameraId,
        file: name,
        offset,
      });
      void ctx.audit
        .append('upload-resumed', {
          incidentId: record.incidentId,
          cameraId: job.cameraId,
          file: name,
          confirmedOffset: offset,
        })
        .catch((err: unknown) => ctx.log.error('audit append failed', { error: String(err) }));
    },
    onFirstByte: () => {
      ctx.opts.onEvent?.({
        type: 'first-byte',
        incidentId: record.incidentId,
        cameraId: job.cameraId,
        at: ctx.clock.monotonic(),
      });
    },
  };
}
