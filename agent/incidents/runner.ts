/**
 * Drives camera jobs through the state machine (jobs.ts): pin, wait for the footage to be
 * finished, cut and sign the package, upload it, and release the hold once the bridge's
 * receipt arrived. One driver per job at a time; the cut runs one at a time (disk and CPU
 * belong to recording first), uploads at most `parallel` at a time under the shared cap.
 *
 * Every step reads the job from the store and persists its result before the next, so a
 * restart (start() calls kick() for every open job) continues where the last run stopped.
 */
import { refusalIsFinal, uploadDeps } from './runner-upload.js';
import { windowCoverage } from './decide.js';
import type { IncidentContext } from './context.js';
import { FINAL_STATES, type CameraJob, type IncidentRecord } from './jobs.js';
import { NoFootage, buildPackage, packageDir, removePackage } from './package.js';
import { Semaphore, type ByteBucket } from './throttle.js';
import { TusRefusal, type TusClient } from './tus.js';
import { freshUpload, uploadJob } from './uploader.js';

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

const key = (incidentId: string, cameraId: string) => `${incidentId}/${cameraId}`;

export class JobRunner {
  private readonly running = new Map<string, { ctrl: AbortController; done: Promise<void> }>();
  private readonly cutting = new Semaphore(1);
  private readonly uploads: Semaphore;
  private stopped = false;

  constructor(
    private readonly ctx: IncidentContext,
    private readonly client: TusClient,
    private readonly bucket: ByteBucket | undefined,
    parallel: number,
  ) {
    this.uploads = new Semaphore(parallel);
  }

  /** Starts a driver for the job unless one runs already. */
  kick(incidentId: string, cameraId: string): void {
    const k = key(incidentId, cameraId);
    if (this.stopped || this.running.has(k)) return;
    const ctrl = new AbortController();
    const done = this.drive(incidentId, cameraId, ctrl.signal)
      .catch((err: unknown) => {
        if (ctrl.signal.aborted) return;
        this.ctx.log.error('incident job stopped on an error', {
          incident: incidentId,
          camera: cameraId,
          error: String(err),
        });
      })
      .finally(() => {
        if (this.running.get(k)?.ctrl === ctrl) this.running.delete(k);
      });
    this.running.set(k, { ctrl, done });
  }

  /** Stops a job's driver (cancel, expiry, a rejected package) and waits for it to let go. */
  async halt(incidentId: string, cameraId: string): Promise<void> {
    const r = this.running.get(key(incidentId, cameraId));
    if (!r) return;
    r.ctrl.abort(new Error('halted'));
    await r.done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.running.values()];
    for (const r of all) r.ctrl.abort(new Error('stopping'));
    await Promise.all(all.map((r) => r.done));
  }

  activeCount(): number {
    return this.running.size;
  }

  /** Pins the window for a job (intake, or the driver after an approval). */
  async pin(record: IncidentRecord, job: CameraJob, opts: { reply?: boolean } = {}): Promise<void> {
    const { ctx } = this;
    const { from, to, caseNumber } = record.signed.request;
    const coverage = windowCoverage(ctx.opts.recorder, job.cameraId, from, to);
    if (!coverage) {
      // Awaiting the owner: nothing to pin yet, and the RTCC learns nothing until they decide.
      if (job.approval !== 'pending') {
        await ctx.move(record, job, 'no-footage', {}, { why: 'nothing recorded in the window' }, opts);
      }
      return;
    }
    const until = record.receivedAt + ctx.limits.holdMs;
    const hold = await ctx.opts.recorder.pin(
      job.cameraId,
      from,
      to,
      `incident ${record.incidentId} (case ${caseNumber})`,
      until,
    );
    await ctx.audit.append('hold-placed', {
      incidentId: record.incidentId,
      cameraId: job.cameraId,
      holdId: hold.id,
      from,
      to,
      until,
    });
    await ctx.move(record, job, 'pinned', { hold: { id: hold.id, until }, coverage }, {}, { reply: false });
  }

  /** Lets the hold go and the package disk space too (the receipt is the bridge's promise). */
  async release(record: IncidentRecord, job: CameraJob, why: string): Promise<void> {
    const { ctx } = this;
    if (job.hold) {
      const removed = await ctx.opts.recorder.unpin(job.hold.id);
      await ctx.audit.append('hold-released', {
        incidentId: record.incidentId,
        cameraId: job.cameraId,
        holdId: job.hold.id,
        why,
        removed,
      });
    }
    if (!ctx.opts.keepPackages || why !== 'receipt')
      await removePackage(ctx.opts.stateDir, record.incidentId, job.cameraId);
  }

  private async drive(incidentId: string, cameraId: string, signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    for (;;) {
      signal.throwIfAborted();
      const record = ctx.jobs.get(incidentId);
      const job = record?.cameras.find((c) => c.cameraId === cameraId);
      if (!record || !job || FINAL_STATES.has(job.state)) return;
      if (job.approval === 'pending' || job.approval === 'declined') return;
      switch (job.state) {
        case 'requested':
          await this.pin(record, job);
          if (job.state === 'requested') return;
          break;
        case 'pinned':
          await this.settle(record, job, signal);
          await ctx.move(record, job, 'cutting');
          break;
        case 'cutting':
          await this.cut(record, job, signal);
          break;
        case 'uploading':
          await this.uploads.run(() => this.upload(record, job, signal), signal);
          break;
        case 'uploaded':
          return; // the bridge's receipt (service.ts) moves it on
        case 'receipt':
          await this.release(record, job, 'receipt');
          await ctx.move(record, job, 'released');
          break;
      }
    }
  }

  /** Waits until the recorder has finished the segment holding `to` (or it cannot). */
  private async settle(record: IncidentRecord, job: CameraJob, signal: AbortSignal): Promise<void> {
    const { to } = record.signed.request;
    const deadline = to + this.ctx.limits.settleMs;
    while (this.ctx.now() < deadline) {
      const cam = this.ctx.opts.recorder.stats().cameras.find((c) => c.camera === job.cameraId);
      if (!cam || cam.newest === undefined || cam.newest >= to) return;
      if (cam.state !== 'recording' && cam.state !== 'starting') return;
      await pause(1000, signal);
    }
  }

  private async cut(record: IncidentRecord, job: CameraJob, signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    await this.cutting.run(async () => {
      signal.throwIfAborted();
      try {
        const pkg = await buildPackage(
          {
            recorder: ctx.opts.recorder,
            identity: ctx.opts.identity,
            software: ctx.opts.software,
            stateDir: ctx.opts.stateDir,
            now: () => ctx.now(),
          },
          record,
          job,
        );
        const summary = {
          files: pkg.files,
          manifestBytes: pkg.manifestBytes,
          packageSha256: pkg.packageSha256,
        };
        await ctx.audit.append('package-built', {
          incidentId: record.incidentId,
          cameraId: job.cameraId,
          ...summary,
          covered: pkg.coverage.covered,
          gaps: pkg.coverage.gaps.length,
        });
        await ctx.move(record, job, 'uploading', {
          package: summary,
          upload: freshUpload(summary),
          coverage: pkg.coverage,
        });
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof NoFootage) {
          await ctx.move(record, job, 'no-footage', {}, { why: err.message });
          return;
        }
        await this.retryOrFail(record, job, `could not build the package: ${(err as Error).message}`, signal);
      }
    }, signal);
  }

  private async upload(record: IncidentRecord, job: CameraJob, signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    if (job.state !== 'uploading') return;
    const dir = packageDir(ctx.opts.stateDir, record.incidentId, job.cameraId);
    const deps = uploadDeps(ctx, this.client, this.bucket, record, job);
    await ctx.audit.append('upload-started', {
      incidentId: record.incidentId,
      cameraId: job.cameraId,
      confirmed: job.upload,
    });
    try {
      const outcome = await uploadJob(deps, record, job, dir, signal);
      if (outcome === 'already-verified') {
        await ctx.move(record, job, 'receipt', {}, { via: 'the bridge already holds this package verified' });
      } else {
        await ctx.move(
          record,
          job,
          'uploaded',
          {},
          { bytes: job.package?.files.reduce((n, f) => n + f.bytes, 0) },
          { from: ['uploading'] },
        );
      }
    } catch (err) {
      if (signal.aborted) throw err;
      const refusal = err instanceof TusRefusal ? err : undefined;
      await ctx.audit.append('upload-refused', {
        incidentId: record.incidentId,
        cameraId: job.cameraId,
        status: refusal?.status,
        code: refusal?.code ?? 'error',
        detail: (err as Error).message.slice(0, 300),
      });
      if (refusal && refusalIsFinal(refusal)) {
        await ctx.move(record, job, 'failed', { detail: `the bridge refused the upload (${refusal.code})` });
        await removePackage(ctx.opts.stateDir, record.incidentId, job.cameraId);
        return;
      }
      await this.retryOrFail(record, job, (err as Error).message, signal);
    }
  }

  /** Rebuilds the package (from cutting) up to maxAttempts times, then fails the job. */
  private async retryOrFail(
    record: IncidentRecord,
    job: CameraJob,
    detail: string,
    signal: AbortSignal,
  ): Promise<void> {
    const { ctx } = this;
    const attempts = job.attempts + 1;
    await ctx.jobs.update(record.incidentId, job.cameraId, (j) => (j.attempts = attempts));
    if (attempts >= ctx.limits.maxAttempts) {
      await ctx.move(record, job, 'failed', { detail: detail.slice(0, 300) }, { attempts });
      await removePackage(ctx.opts.stateDir, record.incidentId, job.cameraId);
      return;
    }
    await ctx.audit.append('job-retry', {
      incidentId: record.incidentId,
      cameraId: job.cameraId,
      attempts,
      detail: detail.slice(0, 300),
    });
    if (job.state !== 'cutting') await ctx.move(record, job, 'cutting', {}, {}, { reply: false });
    await pause(Math.min(60_000, 2_000 * 2 ** attempts), signal);
  }
}
