/**
 * Applying the owner's decisions (approvals.ts explains where they come from). An approved
 * camera goes on to be cut and uploaded; a declined one releases its hold at once and the RTCC
 * is told "declined", nothing more. Every decision is audited with who made it.
 */
import { promises as fsp } from 'node:fs';
import { decisionFiles, readDecision } from './approvals.js';
import type { Parts } from './context.js';
import { FINAL_STATES } from './jobs.js';

export interface OwnerDecision {
  incidentId: string;
  cameraId: string | null;
  decision: 'approve' | 'decline';
  by: string;
}

/** Applies one decision; returns how many cameras it concerned (0: nothing was waiting). */
export async function decide(parts: Parts, d: OwnerDecision): Promise<number> {
  const { ctx, runner } = parts;
  const record = ctx.jobs.get(d.incidentId);
  if (!record) return 0;
  const waiting = record.cameras.filter(
    (c) =>
      c.approval === 'pending' &&
      !FINAL_STATES.has(c.state) &&
      (d.cameraId === null || c.cameraId === d.cameraId),
  );
  for (const job of waiting) {
    await ctx.audit.append('owner-decision', {
      incidentId: d.incidentId,
      cameraId: job.cameraId,
      decision: d.decision,
      by: d.by,
    });
    if (d.decision === 'approve') {
      await ctx.jobs.update(d.incidentId, job.cameraId, (j) => {
        j.approval = 'approved';
        j.decidedBy = d.by;
      });
      continue;
    }
    await ctx.jobs.update(d.incidentId, job.cameraId, (j) => {
      j.approval = 'declined';
      j.decidedBy = d.by;
    });
    await ctx.move(
      record,
      job,
      'declined',
      { detail: `declined by ${d.by}` },
      { by: d.by },
      { reply: false },
    );
    await runner.release(record, job, 'declined by the owner');
  }
  if (waiting.length > 0) await ctx.sendStatus(d.incidentId);
  for (const job of waiting) if (job.approval === 'approved') runner.kick(d.incidentId, job.cameraId);
  return waiting.length;
}

/** Applies and removes every decision file in the folder (see approvals.ts). */
export async function applyDecisions(parts: Parts): Promise<void> {
  for (const file of await decisionFiles(parts.ctx.opts.stateDir)) {
    const d = await readDecision(file);
    if (d) {
      const n = await decide(parts, d);
      if (n === 0) {
        await parts.ctx.audit.append('owner-decision-ignored', {
          incidentId: d.incidentId,
          cameraId: d.cameraId,
          decision: d.decision,
          by: d.by,
          why: 'nothing of this incident awaits approval',
        });
      }
    }
    await fsp.rm(file, { force: true });
  }
}
