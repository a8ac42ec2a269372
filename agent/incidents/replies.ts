/**
 * What the RTCC is told about an incident: each camera job mapped to its wire state.
 *
 * Disclosure rules (issue 8; the reply schema enforces the shape):
 * - declined (policy `never`, the owner declined, or the owner never decided before the hold
 *   ran out): only "declined". No coverage, no reason, no hint whether footage exists.
 * - awaiting approval: only that. Coverage is shown to the owner (approvals), not the RTCC,
 *   until the owner says yes.
 * - no footage: only that (the owner allowed sharing; there is nothing to share).
 * - accepted / uploading / received / verified: the covered span and the gaps.
 * - failed: a short reason (never a key, token or URL with credentials: sanitized).
 * Rejected requests never reach here: they get an `error` reply with the gate's reason.
 */
import { sanitizeMessage } from '../../protocol/envelope.js';
import type { CameraIncidentState, IncidentStatusReply } from '../../protocol/schemas/replies.js';
import type { z } from 'zod';
import { FINAL_STATES, type CameraJob, type IncidentRecord } from './jobs.js';

type Outcome = z.infer<typeof IncidentStatusReply>['outcome'];

function uploadedBytes(job: CameraJob): { sent: number; total: number } {
  const files = job.package?.files ?? [];
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const sent = files.reduce((n, f) => {
    const u = job.upload?.files[f.name];
    return n + (u ? (u.done ? f.bytes : u.offset) : 0);
  }, 0);
  return { sent, total };
}

export function uploadPercent(job: CameraJob): number {
  const { sent, total } = uploadedBytes(job);
  return total > 0 ? Math.min(100, Math.floor((sent / total) * 1000) / 10) : 0;
}

export function cameraState(job: CameraJob): CameraIncidentState {
  const cameraId = job.cameraId;
  const failed = (detail: string): CameraIncidentState => ({
    cameraId,
    state: 'failed',
    detail: sanitizeMessage(detail) || 'failed',
  });
  if (job.state === 'declined') return { cameraId, state: 'declined' };
  if (job.approval === 'pending' && !FINAL_STATES.has(job.state))
    return { cameraId, state: 'awaiting-approval' };
  if (job.state === 'no-footage') return { cameraId, state: 'no-footage' };
  if (job.state === 'failed') return failed(job.detail ?? 'failed');
  if (job.state === 'cancelled') return failed('cancelled by the RTCC');
  if (job.state === 'expired') return failed('the hold expired before the bridge confirmed receipt');
  const cov = job.coverage;
  if (!cov) return { cameraId, state: 'no-footage' };
  const coverage = { covered: cov.covered, gaps: cov.gaps };
  switch (job.state) {
    case 'requested':
    case 'pinned':
    case 'cutting':
      return { cameraId, state: 'accepted', ...coverage };
    case 'uploading': {
      const { sent, total } = uploadedBytes(job);
      return {
        cameraId,
        state: 'uploading',
        ...coverage,
        percent: uploadPercent(job),
        bytesSent: sent,
        bytesTotal: total,
      };
    }
    case 'uploaded':
      return { cameraId, state: 'received', ...coverage };
    case 'receipt':
    case 'released':
      return { cameraId, state: 'verified', ...coverage };
  }
}

export function outcomeOf(record: IncidentRecord): Outcome {
  if (record.cameras.length === 0) return 'no-cameras-in-area';
  return record.cameras.every((c) => FINAL_STATES.has(c.state)) ? 'done' : 'in-progress';
}

/** The body of an `incident-status` reply (the envelope is added with the persisted seq). */
export function statusBody(record: IncidentRecord) {
  return {
    type: 'incident-status' as const,
    incidentId: record.incidentId,
    outcome: outcomeOf(record),
    cameras: record.cameras.map(cameraState),
  };
}
