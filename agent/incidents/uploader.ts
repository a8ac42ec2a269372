/**
 * Uploading one camera's package to the bridge over tus: the signed manifest first (the bridge
 * refuses files no verified manifest lists), then each file, in chunks.
 *
 * Resuming: before any byte is sent the upload's id is persisted in the job, and after every
 * confirmed chunk its offset. After a cut link or a restart the uploader asks the bridge for
 * the offset it stored (tus HEAD) and continues from there: bytes the bridge confirmed are
 * never sent again (tus 1.0.0 core §HEAD, §PATCH). An upload the bridge no longer knows (404,
 * 410) is created anew. Network errors and 5xx answers wait out a growing pause and retry,
 * for as long as the job lives (its hold bounds that); refusals (4xx with the bridge's code)
 * go back to the caller, which decides between rebuilding the package and giving up.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/log.js';
import type { CameraJob, IncidentRecord, JobStore, UploadProgress } from './jobs.js';
import { FILES_DIR, MANIFEST_FILE } from './package.js';
import { paced, type ByteBucket } from './throttle.js';
import { TusRefusal, TusTransient, type TusClient } from './tus.js';

export interface UploaderDeps {
  client: TusClient;
  bucket: ByteBucket | undefined;
  chunkBytes: number;
  retryInitialMs: number;
  retryMaxMs: number;
  jobs: JobStore;
  agentId: string;
  log: Logger;
  /** After each confirmed chunk (progress replies); `resumedAt` on a resume with bytes already there. */
  onProgress(job: CameraJob): void;
  onResume(name: string, offset: number): void;
  onFirstByte(): void;
}

export type UploadOutcome = 'uploaded' | 'already-verified';

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface UploadObject {
  key: string;
  file: string;
  size: number;
  meta: Record<string, string>;
}

/** A fresh progress record for a newly built package. */
export function freshUpload(pkg: NonNullable<CameraJob['package']>): NonNullable<CameraJob['upload']> {
  return {
    manifest: { offset: 0, done: false },
    files: Object.fromEntries(pkg.files.map((f) => [f.name, { offset: 0, done: false }])),
  };
}

export async function uploadJob(
  deps: UploaderDeps,
  record: IncidentRecord,
  job: CameraJob,
  dir: string,
  signal: AbortSignal,
): Promise<UploadOutcome> {
  const pkg = job.package;
  const progress = job.upload;
  if (!pkg || !progress) throw new Error('uploadJob: the job has no package');
  const base = {
    incidentId: record.incidentId,
    deviceId: deps.agentId,
    cameraId: job.cameraId,
    requestId: record.requestId,
  };
  const objects: UploadObject[] = [
    {
      key: '',
      file: path.join(dir, MANIFEST_FILE),
      size: pkg.manifestBytes,
      meta: { kind: 'manifest', ...base },
    },
    ...pkg.files.map((f) => ({
      key: f.name,
      file: path.join(dir, FILES_DIR, f.name),
      size: f.bytes,
      meta: { kind: 'file', ...base, name: f.name },
    })),
  ];
  let firstByte = false;
  for (const obj of objects) {
    const state = obj.key === '' ? progress.manifest : progress.files[obj.key];
    if (!state) throw new Error(`uploadJob: no progress record for ${obj.key}`);
    if (state.done) continue;
    let delay = deps.retryInitialMs;
    for (;;) {
      signal.throwIfAborted();
      try {
        await sendObject(deps, record, job, obj, state, signal, () => {
          if (firstByte || obj.key === '') return;
          firstByte = true;
          deps.onFirstByte();
        });
        break;
      } catch (err) {
        if (signal.aborted) throw signal.reason as Error;
        if (err instanceof TusRefusal) {
          if (obj.key === '' && err.code === 'already-verified') return 'already-verified';
          if (err.code === 'upload-gone' || err.code === 'offset-conflict') {
            // Gone: start this object over. Conflict: the next HEAD says where we are.
            if (err.code === 'upload-gone')
              await setState(deps, record, job, state, { offset: 0, done: false, path: undefined });
            continue;
          }
          throw err;
        }
        if (!(err instanceof TusTransient)) throw err;
        deps.log.info('upload interrupted; resuming after a pause', {
          camera: job.cameraId,
          error: err.message,
          pauseMs: delay,
        });
        await pause(delay * (0.75 + Math.random() / 2), signal);
        delay = Math.min(deps.retryMaxMs, delay * 2);
      }
    }
  }
  return 'uploaded';
}

async function setState(
  deps: UploaderDeps,
  record: IncidentRecord,
  job: CameraJob,
  state: UploadProgress,
  next: UploadProgress,
): Promise<void> {
  await deps.jobs.update(record.incidentId, job.cameraId, () => {
    state.path = next.path;
    state.offset = next.offset;
    state.done = next.done;
    if (next.path === undefined) delete state.path;
  });
}

async function sendObject(
  deps: UploaderDeps,
  record: IncidentRecord,
  job: CameraJob,
  obj: UploadObject,
  state: UploadProgress,
  signal: AbortSignal,
  sending: () => void,
): Promise<void> {
  let offset: number;
  if (state.path === undefined) {
    const id = await deps.client.create(obj.size, obj.meta, signal);
    // Persisted before any byte is sent: a restart finds the upload and asks for its offset.
    await setState(deps, record, job, state, { path: id, offset: 0, done: false });
    offset = 0;
  } else {
    offset = await deps.client.offset(state.path, signal);
    if (offset > 0) deps.onResume(obj.key || MANIFEST_FILE, offset);
    state.offset = offset;
  }
  const id = state.path;
  if (id === undefined) throw new Error('unreachable: upload id not set');
  let persistedAt = performance.now();
  while (offset < obj.size) {
    const length = Math.min(deps.chunkBytes, obj.size - offset);
    // Uncapped, the file stream goes to the socket as it is (no per-piece generator hop).
    const highWaterMark = deps.bucket ? 64 * 1024 : 1024 * 1024;
    const source = createReadStream(obj.file, { start: offset, end: offset + length - 1, highWaterMark });
    source.once('data', sending);
    const body = deps.bucket ? paced(source as AsyncIterable<Buffer>, deps.bucket, signal) : source;
    try {
      offset = await deps.client.append(id, offset, body, length, signal);
    } finally {
      source.destroy();
    }
    // Only the upload id must be durable (above): after a cut or a restart the bridge's HEAD
    // says where to go on, and a finished object answers with its full length. Offsets and
    // `done` are written for progress reporting, at most once a second (each write fsyncs),
    // and with the job's next state change.
    state.offset = offset;
    state.done = offset >= obj.size;
    if (!state.done && performance.now() - persistedAt >= 1_000) {
      await deps.jobs.persist();
      persistedAt = performance.now();
    }
    deps.onProgress(job);
  }
  state.done = true;
}
