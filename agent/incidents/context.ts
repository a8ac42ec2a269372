/**
 * What the intake (service.ts) and the job runner (runner.ts) share: the stores, the audit log,
 * the settings, and the one way to move a job (transition + audit + event + status reply).
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { makeReply } from '../../protocol/envelope.js';
import type { AuditLog } from './audit.js';
import type { PolicySettings } from './decide.js';
import type { CameraJob, IncidentRecord, JobState, JobStore } from './jobs.js';
import { statusBody } from './replies.js';
import type { IncidentLimits, IncidentsOptions } from './types.js';
import type { NonceStore } from './nonces.js';
import type { JobRunner } from './runner.js';

/** What the service's handlers work with once it is started. */
export interface Parts {
  ctx: IncidentContext;
  runner: JobRunner;
  nonces: NonceStore;
}

export class IncidentContext {
  readonly limits: IncidentLimits;
  readonly policy: PolicySettings;
  readonly clock: Clock;
  readonly log: Logger;

  constructor(
    readonly opts: IncidentsOptions,
    limits: IncidentLimits,
    readonly jobs: JobStore,
    readonly audit: AuditLog,
  ) {
    this.limits = limits;
    this.policy = {
      site: opts.policy?.site ?? opts.identity.site.policy,
      cameras: opts.policy?.cameras ?? {},
    };
    this.clock = opts.clock;
    this.log = opts.log;
  }

  now(): number {
    return this.clock.now();
  }

  /** Sends the incident's current state on `replies`, with the next persisted seq. */
  async sendStatus(incidentId: string): Promise<void> {
    const record = this.jobs.get(incidentId);
    if (!record) return;
    try {
      const seq = await this.jobs.nextSeq(incidentId);
      await this.opts.replies(makeReply(record.requestId, statusBody(record), { now: this.now(), seq }));
    } catch (err) {
      // The outbox is durable and never drops replies; failing here means the disk failed.
      this.log.error('could not queue an incident status reply', {
        incident: incidentId,
        error: String(err),
      });
    }
  }

  /**
   * Moves a job along the state machine (jobs.ts), audits the move with `data`, reports it to
   * observers and the RTCC. False when the job was not in a state that allows the move.
   */
  async move(
    record: IncidentRecord,
    job: CameraJob,
    to: JobState,
    patch: Partial<CameraJob> = {},
    data: Record<string, unknown> = {},
    opts: { from?: readonly JobState[]; reply?: boolean } = {},
  ): Promise<boolean> {
    const from = job.state;
    const moved = await this.jobs.transition(
      record.incidentId,
      job.cameraId,
      to,
      patch,
      this.now(),
      opts.from,
    );
    if (!moved) return false;
    await this.audit.append('job-state', {
      incidentId: record.incidentId,
      cameraId: job.cameraId,
      from,
      to,
      ...data,
    });
    this.opts.onEvent?.({
      type: 'state',
      incidentId: record.incidentId,
      cameraId: job.cameraId,
      state: to,
      at: this.clock.monotonic(),
    });
    if (opts.reply !== false) await this.sendStatus(record.incidentId);
    return true;
  }
}
