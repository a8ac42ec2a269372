/**
 * Durable incident jobs: one record per accepted incident, one job per camera in its geofence.
 * Lives in `<stateDir>/jobs.json` (a lowdb document, written atomically and fsynced), so an
 * agent restart resumes every job where it stood.
 *
 * Per-camera state machine (the only transitions `transition()` allows):
 *
 *   requested ─► pinned ─► cutting ─► uploading(offsets) ─► uploaded ─► receipt ─► released
 *       │           │          │            │    ▲               │
 *       │           │          │            └────┼── rejected by the bridge: back to cutting
 *       │           │          │                 └── no receipt for long: ask again (uploaded)
 *       ▼           ▼          ▼            ▼    │               ▼
 *   declined / no-footage / failed / cancelled / expired  (final, like released)
 *
 * - requested: accepted, nothing done yet. pinned: the window's footage is held; with policy
 *   `approve` the job waits here until the owner decides (approval pending).
 * - uploading keeps, per object (manifest, each file), the tus upload path and the offset the
 *   bridge confirmed, so a restart asks the bridge (HEAD) and sends only what is missing.
 * - receipt: the bridge's `evidence-receipt` said verified; released: the hold is gone.
 *   declined and cancelled release the hold at once; failed keeps it until it lapses (the
 *   RTCC may ask again for footage that is still there); expired is the hold running out.
 *   A receipt may overtake our own bookkeeping (the bridge publishes it before it answers the
 *   last PATCH), hence uploading → receipt.
 */
import path from 'node:path';
import type { Low } from 'lowdb';
import { z } from 'zod';
import { SignedIncident } from '../../protocol/incident.js';
import { CameraLocation, Interval } from '../../protocol/schemas/common.js';
import { openDoc } from './durable-doc.js';

export const JOB_STATES = [
  'requested',
  'pinned',
  'cutting',
  'uploading',
  'uploaded',
  'receipt',
  'released',
  'declined',
  'no-footage',
  'failed',
  'cancelled',
  'expired',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_STATES: ReadonlySet<JobState> = new Set([
  'released',
  'declined',
  'no-footage',
  'failed',
  'cancelled',
  'expired',
]);

const ENDS: JobState[] = ['failed', 'cancelled', 'expired'];
const NEXT: Record<JobState, readonly JobState[]> = {
  requested: ['pinned', 'declined', 'no-footage', ...ENDS],
  pinned: ['cutting', 'declined', 'no-footage', ...ENDS],
  cutting: ['uploading', 'no-footage', ...ENDS],
  uploading: ['uploading', 'uploaded', 'receipt', 'cutting', ...ENDS],
  uploaded: ['receipt', 'uploading', 'cutting', ...ENDS],
  receipt: ['released'],
  released: [],
  declined: [],
  'no-footage': [],
  failed: [],
  cancelled: [],
  expired: [],
};

export function canMove(from: JobState, to: JobState): boolean {
  return NEXT[from].includes(to);
}

const UploadProgress = z.strictObject({
  /** Path of the tus upload resource on the bridge (resolved against the bridge URL). */
  path: z.string().optional(),
  /** Bytes the bridge confirmed (tus Upload-Offset). */
  offset: z.int().min(0),
  done: z.boolean(),
});
export type UploadProgress = z.infer<typeof UploadProgress>;

const PackageFile = z.strictObject({
  name: z.string(),
  bytes: z.int().min(0),
  sha256: z.string(),
  from: z.number(),
  to: z.number(),
});

export const CameraJob = z.strictObject({
  cameraId: z.string(),
  state: z.enum(JOB_STATES),
  policy: z.enum(['auto', 'approve', 'never']),
  approval: z.enum(['auto', 'pending', 'approved', 'declined']),
  location: CameraLocation.nullable(),
  hold: z.strictObject({ id: z.string(), until: z.number() }).optional(),
  coverage: z.strictObject({ covered: Interval, gaps: z.array(Interval) }).optional(),
  package: z
    .strictObject({ files: z.array(PackageFile), manifestBytes: z.int().min(0), packageSha256: z.string() })
    .optional(),
  upload: z
    .strictObject({ manifest: UploadProgress, files: z.record(z.string(), UploadProgress) })
    .optional(),
  attempts: z.int().min(0),
  /** Why it failed or was declined: for the owner and the audit log; replies say less. */
  detail: z.string().optional(),
  decidedBy: z.string().optional(),
  updatedAt: z.number(),
});
export type CameraJob = z.infer<typeof CameraJob>;

export const IncidentRecord = z.strictObject({
  incidentId: z.string(),
  /** The envelope id the bridge sent with the request: replies quote it, uploads present it. */
  requestId: z.string(),
  signed: SignedIncident,
  keyId: z.string(),
  receivedAt: z.number(),
  /** Next `seq` for replies to requestId; persisted so replies after a restart stay newer. */
  nextSeq: z.int().min(0),
  cameras: z.array(CameraJob),
  finishedAt: z.number().optional(),
});
export type IncidentRecord = z.infer<typeof IncidentRecord>;

const JobsDoc = z.strictObject({ v: z.literal(1), incidents: z.array(IncidentRecord) });
type JobsDoc = z.infer<typeof JobsDoc>;
export const JOBS_FILE = 'jobs.json';
export { JobsDoc };

export class JobStore {
  private writing: Promise<void> | undefined;
  private dirty = false;

  private constructor(private readonly db: Low<JobsDoc>) {}

  static async open(stateDir: string): Promise<JobStore> {
    return new JobStore(await openDoc(path.join(stateDir, JOBS_FILE), JobsDoc, { v: 1, incidents: [] }));
  }

  list(): readonly IncidentRecord[] {
    return this.db.data.incidents;
  }

  get(incidentId: string): IncidentRecord | undefined {
    return this.db.data.incidents.find((r) => r.incidentId === incidentId);
  }

  job(incidentId: string, cameraId: string): CameraJob | undefined {
    return this.get(incidentId)?.cameras.find((c) => c.cameraId === cameraId);
  }

  async add(record: IncidentRecord): Promise<void> {
    this.db.data.incidents.push(record);
    await this.persist();
  }

  /**
   * Moves a job to `to` if the state machine allows it from where it stands (and, when given,
   * only from one of `from`), applying `patch`. False when it did not move: a concurrent event
   * (receipt, cancel, expiry) got there first.
   */
  async transition(
    incidentId: string,
    cameraId: string,
    to: JobState,
    patch: Partial<CameraJob> = {},
    now: number,
    from?: readonly JobState[],
  ): Promise<boolean> {
    const job = this.job(incidentId, cameraId);
    if (!job || !canMove(job.state, to) || (from && !from.includes(job.state))) return false;
    Object.assign(job, patch, { state: to, updatedAt: now });
    this.markFinished(incidentId, now);
    await this.persist();
    return true;
  }

  /** Changes a job in place without a state change (upload offsets, approval). */
  async update(incidentId: string, cameraId: string, change: (job: CameraJob) => void): Promise<void> {
    const job = this.job(incidentId, cameraId);
    if (!job) return;
    change(job);
    await this.persist();
  }

  /** The next reply `seq` for an incident, persisted before it is used. */
  async nextSeq(incidentId: string): Promise<number> {
    const r = this.get(incidentId);
    if (!r) throw new Error(`unknown incident ${incidentId}`);
    const seq = r.nextSeq;
    r.nextSeq = seq + 1;
    await this.persist();
    return seq;
  }

  /** Drops incidents finished longer ago than keepMs (the audit log remembers them). */
  async prune(now: number, keepMs: number): Promise<number> {
    const before = this.db.data.incidents.length;
    this.db.data.incidents = this.db.data.incidents.filter(
      (r) => r.finishedAt === undefined || now - r.finishedAt < keepMs,
    );
    const dropped = before - this.db.data.incidents.length;
    if (dropped > 0) await this.persist();
    return dropped;
  }

  private markFinished(incidentId: string, now: number): void {
    const r = this.get(incidentId);
    if (r && r.finishedAt === undefined && r.cameras.every((c) => FINAL_STATES.has(c.state)))
      r.finishedAt = now;
  }

  /**
   * Writes the current document. Writes never overlap (two renames finishing out of order
   * could leave an older document on disk); changes made during a write go in the next one.
   */
  async persist(): Promise<void> {
    this.dirty = true;
    while (this.writing) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = this.db.write().finally(() => (this.writing = undefined));
    await this.writing;
  }
}
