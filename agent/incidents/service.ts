/**
 * The incidents service: the link's handlers for `incident`, `cancel-incident` and
 * `evidence-receipt`, the owner's approvals, and the lifecycle around the job runner.
 *
 * An incident request is checked before anything else (intake.ts): RTCC signature, validity,
 * limits, replay. Only then is its nonce recorded (fsynced), the job record written, footage
 * pinned and the first status sent. Intake, receipts, cancels and decisions run one at a time
 * (a promise chain), so two deliveries of one request cannot both pass the replay check.
 */
import path from 'node:path';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { RequestHandler, ReplyContext } from '../link/index.js';
import type { RequestOf } from '../../protocol/schemas/requests.js';
import { errorReply } from '../../protocol/envelope.js';
import { AUDIT_FILE, AuditLog } from './audit.js';
import { applyDecisions, decide } from './decisions.js';
import { IncidentContext } from './context.js';
import { ensureDir } from './durable-doc.js';
import { acceptIncident } from './intake.js';
import { FINAL_STATES, JobStore } from './jobs.js';
import { NonceStore } from './nonces.js';
import { pendingApprovals, type PendingApproval } from './approvals.js';
import { JobRunner } from './runner.js';
import { onCancel, onReceipt, sweepExpired } from './lifecycle-events.js';
import { ByteBucket } from './throttle.js';
import { TusClient } from './tus.js';
import { DEFAULT_LIMITS, type IncidentsOptions } from './types.js';

export interface IncidentHandlers {
  incident: RequestHandler<'incident'>;
  'cancel-incident': RequestHandler<'cancel-incident'>;
  'evidence-receipt': RequestHandler<'evidence-receipt'>;
}

export interface Approvals {
  /** Cameras awaiting the owner's decision, by incident. */
  list(): PendingApproval[];
  /** Approves or declines one camera (or all waiting cameras) of an incident; returns how many. */
  decide(
    incidentId: string,
    cameraId: string | null,
    decision: 'approve' | 'decline',
    by: string,
  ): Promise<number>;
}

const SWEEP_MS = 30_000;

export class IncidentsService implements Service {
  readonly name = 'incidents';
  readonly handlers: IncidentHandlers;
  readonly approvals: Approvals;
  private ctx: IncidentContext | undefined;
  private runner: JobRunner | undefined;
  private client: TusClient | undefined;
  private nonces: NonceStore | undefined;
  private timers: NodeJS.Timeout[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private state: Health['state'] = 'stopped';
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(private readonly opts: IncidentsOptions) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.handlers = {
      incident: (req, reply) => this.serial(() => this.onIncident(req, reply)),
      'cancel-incident': (req, reply) => this.serial(() => onCancel(this.parts(), req, reply)),
      'evidence-receipt': (req, reply) => this.serial(() => onReceipt(this.parts(), req, reply)),
    };
    this.approvals = {
      list: () => pendingApprovals(this.ctx?.jobs.list() ?? []),
      decide: (incidentId, cameraId, decision, by) =>
        this.serial(() => decide(this.parts(), { incidentId, cameraId, decision, by })),
    };
  }

  async start(signal: AbortSignal): Promise<void> {
    this.state = 'starting';
    const { opts } = this;
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    await ensureDir(opts.stateDir);
    const jobs = await JobStore.open(opts.stateDir);
    this.nonces = await NonceStore.open(opts.stateDir);
    const audit = await AuditLog.open(path.join(opts.stateDir, AUDIT_FILE), () => opts.clock.now());
    signal.throwIfAborted();
    const ctx = new IncidentContext(opts, limits, jobs, audit);
    const upload = opts.upload ?? {};
    const parallel = upload.parallel ?? 2;
    this.client = new TusClient(opts.identity.bridgeUrl, upload.idleTimeoutMs ?? 30_000, parallel + 1);
    const bucket =
      upload.bytesPerSecond !== undefined ? new ByteBucket(upload.bytesPerSecond, opts.clock) : undefined;
    this.runner = new JobRunner(ctx, this.client, bucket, parallel);
    this.ctx = ctx;
    await audit.append('agent-started', {
      software: opts.software,
      openIncidents: jobs.list().filter((r) => r.finishedAt === undefined).length,
    });
    await jobs.prune(ctx.now(), limits.keepFinishedMs);
    // Handlers wait for `ready`, so these run alone without going through serial().
    await this.resume();
    await applyDecisions(this.parts());
    await sweepExpired(this.parts());
    this.timers.push(
      setInterval(
        () =>
          void this.serial(() => applyDecisions(this.parts())).catch((e: unknown) =>
            this.warn('approvals', e),
          ),
        opts.approvalPollMs ?? 1_000,
      ),
      setInterval(
        () =>
          void this.serial(() => sweepExpired(this.parts())).catch((e: unknown) =>
            this.warn('expiry sweep', e),
          ),
        SWEEP_MS,
      ),
    );
    this.state = 'ok';
    this.markReady();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.runner?.stop();
    await this.queue.catch(() => undefined);
    this.client?.close();
    await this.ctx?.audit.close();
  }

  health(): Health {
    const records = this.ctx?.jobs.list() ?? [];
    const open = records.flatMap((r) => r.cameras).filter((c) => !FINAL_STATES.has(c.state));
    return {
      state: this.state,
      openJobs: open.length,
      awaitingApproval: open.filter((c) => c.approval === 'pending').length,
      uploading: this.runner?.activeCount() ?? 0,
      nonces: this.nonces?.size() ?? 0,
    };
  }

  private parts() {
    if (!this.ctx || !this.runner || !this.nonces) throw new Error('the incidents service is not started');
    return { ctx: this.ctx, runner: this.runner, nonces: this.nonces };
  }

  private warn(what: string, err: unknown): void {
    this.opts.log.warn(`incidents: ${what} failed`, { error: String(err) });
  }

  /** Runs intake-type work one at a time, after start(). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      await this.ready;
      if (this.state === 'stopped') throw new Error('the agent is stopping; the request was not handled');
      return fn();
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async onIncident(req: RequestOf<'incident'>, _reply: ReplyContext): Promise<void> {
    const parts = this.parts();
    this.opts.onEvent?.({ type: 'request', requestId: req.requestId, at: this.opts.clock.monotonic() });
    const verdict = await acceptIncident(parts, req);
    if (!verdict.ok) {
      // seq 0 on this request id: the only reply a rejected request ever gets.
      await this.opts.replies(
        errorReply(req.requestId, verdict.reason, verdict.detail, { now: parts.ctx.now(), seq: 0 }),
      );
    }
  }

  /** Re-pins where needed and restarts every open job after a restart. */
  private async resume(): Promise<void> {
    const { ctx, runner } = this.parts();
    const now = ctx.now();
    const held = new Set(ctx.opts.recorder.listHolds().map((h) => h.id));
    for (const record of ctx.jobs.list()) {
      for (const job of record.cameras) {
        if (FINAL_STATES.has(job.state)) continue;
        // A hold the recorder lost (its folder replaced) is placed again while the job needs it.
        if (job.hold && !held.has(job.hold.id) && job.hold.until > now && job.state !== 'receipt') {
          const { from, to } = record.signed.request;
          const hold = await ctx.opts.recorder.pin(
            job.cameraId,
            from,
            to,
            `incident ${record.incidentId}`,
            job.hold.until,
          );
          await ctx.jobs.update(
            record.incidentId,
            job.cameraId,
            (j) => (j.hold = { id: hold.id, until: job.hold?.until ?? hold.until }),
          );
          await ctx.audit.append('hold-placed', {
            incidentId: record.incidentId,
            cameraId: job.cameraId,
            holdId: hold.id,
            from,
            to,
            until: hold.until,
            why: 'restored after restart',
          });
        }
        runner.kick(record.incidentId, job.cameraId);
      }
    }
  }
}
