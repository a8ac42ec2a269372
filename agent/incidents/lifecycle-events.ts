/**
 * What happens to jobs after intake, from outside the runner: the bridge's receipt, the RTCC's
 * cancel, and the hold running out.
 *
 * - Receipt `verified`: the bridge stored the package and checked every hash and the device
 *   signature. The job moves to `receipt`, the runner releases the hold (and the package's disk
 *   space) and the job is `released`. The receipt may overtake the answer to our last PATCH
 *   (the bridge publishes it from the upload's completion hook), so it is accepted while the
 *   job is still `uploading`.
 * - Receipt `rejected` after our upload completed: the package is cut and signed again (up to
 *   maxAttempts). A rejection during the upload reaches the uploader as the HTTP answer and is
 *   handled there, so it is not counted twice.
 * - Cancel: stops uploads not yet finished, releases holds, deletes local packages. It can
 *   only reduce what leaves the premises, so it needs no signature (protocol/schemas).
 * - Hold expiry: the bridge never confirmed within holdMs. The job ends (`expired`, or
 *   `declined` if the owner never decided), the hold and the package go, so an unreachable
 *   bridge cannot pin footage for ever. The audit log records it.
 */
import { sanitizeMessage } from '../../protocol/envelope.js';
import type { RequestOf } from '../../protocol/schemas/requests.js';
import type { ReplyContext } from '../link/index.js';
import type { Parts } from './context.js';
import { FINAL_STATES } from './jobs.js';
import { removePackage } from './package.js';
import { freshUpload } from './uploader.js';

/**
 * Uploaded but no receipt for this long (it was lost, e.g. the MQTT session expired while the
 * agent was away): send the manifest again. The bridge answers 409 already-verified when it
 * holds the package (then it counts as the receipt), or takes it as a fresh start.
 */
export const RECEIPT_WAIT_MS = 10 * 60_000;

export async function onReceipt(
  parts: Parts,
  req: RequestOf<'evidence-receipt'>,
  reply: ReplyContext,
): Promise<void> {
  const { ctx, runner } = parts;
  const record = ctx.jobs.get(req.incidentId);
  const job = record?.cameras.find((c) => c.cameraId === req.cameraId);
  if (!record || !job) {
    await ctx.audit.append('receipt-unknown', {
      incidentId: req.incidentId,
      cameraId: req.cameraId,
      status: req.status,
    });
    await reply.reply({
      type: 'error',
      code: 'unknown-incident',
      message: 'no such incident job on this agent',
    });
    return;
  }
  await ctx.audit.append('receipt', {
    incidentId: req.incidentId,
    cameraId: req.cameraId,
    status: req.status,
    packageSha256: req.packageSha256,
    ours: job.package?.packageSha256,
    detail: req.detail,
  });
  if (req.status === 'verified' && (job.state === 'uploading' || job.state === 'uploaded')) {
    if (req.packageSha256 && job.package && req.packageSha256 !== job.package.packageSha256) {
      // An earlier attempt's package (also ours, also signed) is the one the bridge verified.
      ctx.log.warn('the bridge verified another package of ours than the last one built', {
        incident: req.incidentId,
        camera: req.cameraId,
      });
    }
    // Normally the upload has finished; if not (our last PATCH still in flight), stop it.
    if (job.state === 'uploading') await runner.halt(record.incidentId, job.cameraId);
    await ctx.move(record, job, 'receipt', {}, { packageSha256: req.packageSha256 });
    runner.kick(record.incidentId, job.cameraId);
  } else if (req.status === 'rejected' && job.state === 'uploaded') {
    const attempts = job.attempts + 1;
    await ctx.jobs.update(record.incidentId, job.cameraId, (j) => (j.attempts = attempts));
    const detail = sanitizeMessage(`the bridge rejected the package: ${req.detail ?? 'no reason given'}`);
    if (attempts >= ctx.limits.maxAttempts) {
      await ctx.move(record, job, 'failed', { detail }, { attempts });
      // Failed keeps its hold until it lapses: the RTCC can still ask again for the footage.
      await removePackage(ctx.opts.stateDir, record.incidentId, job.cameraId);
    } else {
      await ctx.move(record, job, 'cutting', {}, { attempts, why: detail });
      runner.kick(record.incidentId, job.cameraId);
    }
  }
  await reply.reply({ type: 'ack', detail: 'receipt recorded' });
}

export async function onCancel(
  parts: Parts,
  req: RequestOf<'cancel-incident'>,
  reply: ReplyContext,
): Promise<void> {
  const { ctx, runner } = parts;
  const record = ctx.jobs.get(req.incidentId);
  if (!record) {
    await ctx.audit.append('cancel-unknown', { requestId: req.requestId, incidentId: req.incidentId });
    await reply.reply({ type: 'error', code: 'unknown-incident', message: 'no such incident on this agent' });
    return;
  }
  await ctx.audit.append('incident-cancelled', {
    requestId: req.requestId,
    incidentId: req.incidentId,
    reason: req.reason,
  });
  for (const job of record.cameras) {
    if (FINAL_STATES.has(job.state) || job.state === 'receipt') continue;
    await runner.halt(record.incidentId, job.cameraId);
    if (await ctx.move(record, job, 'cancelled', { detail: 'cancelled by the RTCC' }, {}, { reply: false })) {
      await runner.release(record, job, 'cancelled');
    }
  }
  await ctx.sendStatus(record.incidentId);
  await reply.reply({ type: 'ack', detail: 'incident cancelled' });
}

export async function sweepExpired(parts: Parts): Promise<void> {
  const { ctx, runner } = parts;
  const now = ctx.now();
  for (const record of ctx.jobs.list()) {
    let changed = false;
    for (const job of record.cameras) {
      if (FINAL_STATES.has(job.state) || job.state === 'receipt') continue;
      const deadline = job.hold?.until ?? record.receivedAt + ctx.limits.holdMs;
      if (deadline > now) {
        if (job.state === 'uploaded' && job.package && now - job.updatedAt > RECEIPT_WAIT_MS) {
          const upload = freshUpload(job.package);
          const why = { why: 'no receipt yet: asking the bridge again' };
          if (await ctx.move(record, job, 'uploading', { upload }, why, { reply: false })) {
            runner.kick(record.incidentId, job.cameraId);
          }
        }
        continue;
      }
      await runner.halt(record.incidentId, job.cameraId);
      const pending = job.approval === 'pending';
      const moved = pending
        ? await ctx.move(
            record,
            job,
            'declined',
            { detail: 'no decision before the hold expired' },
            {},
            { reply: false },
          )
        : await ctx.move(
            record,
            job,
            'expired',
            { detail: 'hold expired before the bridge confirmed receipt' },
            {},
            { reply: false },
          );
      if (moved) await runner.release(record, job, 'hold expired');
      changed ||= moved;
    }
    if (changed) await ctx.sendStatus(record.incidentId);
  }
  await ctx.jobs.prune(now, ctx.limits.keepFinishedMs);
}
