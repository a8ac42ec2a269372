/**
 * Intake of one `incident` request: the gate, then the record, the holds and the first reply.
 *
 * The gate (protocol/incident-verify.ts) checks, in this order: shape, the RTCC signature
 * against the key(s) from enrollment, validity (issued, expiry, at most maxValidityMs), the
 * radius and window limits the owner set, that the window is in the past, and last the nonce
 * (replay), so forged traffic never touches the nonce store. This file adds what only the agent
 * knows: a window older than anything retention can hold (`window-over-limit`), and an
 * incident id it already has (`replayed`). A request that fails gets an `error` reply with the
 * reason and leaves nothing behind but an audit entry: no nonce, no record, no hold, no upload.
 *
 * The audit entry of a rejected request names the incident id it claims only as `claimed`:
 * nothing in a request that failed the signature check is the RTCC's word.
 */
import { verifyIncident, type IncidentRejectReason } from '../../protocol/incident-verify.js';
import type { RequestOf } from '../../protocol/schemas/requests.js';
import type { Parts } from './context.js';
import { camerasInArea } from './decide.js';
import type { CameraJob, IncidentRecord } from './jobs.js';

export type IntakeVerdict = { ok: true } | { ok: false; reason: IncidentRejectReason; detail: string };

export async function acceptIncident(parts: Parts, req: RequestOf<'incident'>): Promise<IntakeVerdict> {
  const { ctx, runner, nonces } = parts;
  const { limits } = ctx;
  const now = ctx.now();
  let verdict = verifyIncident(req.incident, ctx.opts.identity.rtccKeys, {
    now,
    maxRadiusM: limits.maxRadiusM,
    maxWindowMs: limits.maxWindowMs,
    maxSkewMs: limits.maxSkewMs,
    maxValidityMs: limits.maxValidityMs,
    seenNonce: (n) => nonces.seen(n),
  });
  if (!verdict.ok && verdict.reason === 'replayed') {
    // The same envelope again (QoS 1 redelivery, the outbox re-sending): not an attack.
    // Answer with the current state; a different request id carrying a used nonce is a replay.
    const same = ctx.jobs
      .list()
      .find((r) => r.requestId === req.requestId && r.signed.request.nonce === req.incident.request.nonce);
    if (same) {
      await ctx.audit.append('duplicate-delivery', { requestId: req.requestId, incidentId: same.incidentId });
      await ctx.sendStatus(same.incidentId);
      return { ok: true };
    }
  }
  if (verdict.ok && limits.maxLookbackMs !== undefined && verdict.request.to < now - limits.maxLookbackMs) {
    const detail = `the window ended ${now - verdict.request.to} ms ago; this site keeps at most ${limits.maxLookbackMs} ms`;
    verdict = { ok: false, reason: 'window-over-limit', detail };
  }
  if (verdict.ok && ctx.jobs.get(verdict.request.id)) {
    verdict = {
      ok: false,
      reason: 'replayed',
      detail: `incident ${verdict.request.id} was already received`,
    };
  }
  if (!verdict.ok) {
    const claimed = req.incident.request;
    await ctx.audit.append('request-rejected', {
      requestId: req.requestId,
      claimed: { incidentId: claimed.id, issuer: claimed.issuer },
      reason: verdict.reason,
      detail: verdict.detail,
    });
    ctx.log.warn('incident request rejected', {
      requestId: req.requestId,
      reason: verdict.reason,
      detail: verdict.detail,
    });
    return { ok: false, reason: verdict.reason, detail: verdict.detail };
  }

  const request = verdict.request;
  // Recorded (fsynced) before anything is acted on: after a crash it stays used.
  await nonces.record(request.nonce, request.expiresAt + limits.maxSkewMs, now);
  const inArea = camerasInArea(ctx.opts.cameras(), request.area, ctx.policy, limits.useFieldOfView);
  const cameras: CameraJob[] = inArea.map(({ camera, policy }) => ({
    cameraId: camera.id,
    state: policy === 'never' ? 'declined' : 'requested',
    policy,
    approval: policy === 'never' ? 'declined' : policy === 'approve' ? 'pending' : 'auto',
    location: camera.location,
    attempts: 0,
    updatedAt: now,
    ...(policy === 'never' ? { detail: 'owner policy: never share', decidedBy: 'policy' } : {}),
  }));
  const record: IncidentRecord = {
    incidentId: request.id,
    requestId: req.requestId,
    signed: req.incident,
    keyId: verdict.keyId,
    receivedAt: now,
    nextSeq: 0,
    cameras,
    ...(cameras.every((c) => c.state === 'declined') ? { finishedAt: now } : {}),
  };
  await ctx.jobs.add(record);
  await ctx.audit.append('request-accepted', {
    requestId: req.requestId,
    incidentId: request.id,
    caseNumber: request.caseNumber,
    reason: request.reason,
    issuer: request.issuer,
    keyId: verdict.keyId,
    area: request.area,
    from: request.from,
    to: request.to,
    expiresAt: request.expiresAt,
    cameras: inArea.map((d) => ({ cameraId: d.camera.id, policy: d.policy })),
  });
  ctx.log.info('incident request accepted', {
    incident: request.id,
    cameras: inArea.length,
    declined: cameras.filter((c) => c.state === 'declined').length,
  });

  for (const job of cameras) {
    if (job.state === 'declined') continue;
    try {
      await runner.pin(record, job, { reply: false });
    } catch (err) {
      ctx.log.error('could not pin footage for an incident', {
        incident: request.id,
        camera: job.cameraId,
        error: String(err),
      });
      await ctx.move(
        record,
        job,
        'failed',
        { detail: 'could not hold the footage on the agent' },
        { error: String(err) },
        { reply: false },
      );
    }
  }
  await ctx.sendStatus(record.incidentId);
  for (const job of cameras) if (job.approval === 'auto') runner.kick(record.incidentId, job.cameraId);
  return { ok: true };
}
