/**
 * The incidents service without ffmpeg or a bridge: a fake recorder, replies captured, uploads
 * pointed at a closed port (they retry until the service stops). Covers the gate, durable
 * replay protection, what each policy reveals, approvals, cancel, receipts and hold expiry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidents, type IncidentsService, type SharingPolicy } from '../../agent/incidents/index.js';
import { readAuditFile, verifyAuditFile } from '../../agent/incidents/audit.js';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeRequest } from '../../protocol/envelope.js';
import { destinationPoint } from '../../protocol/geofence.js';
import { createIncidentRequest, signIncident, type SignedIncident } from '../../protocol/incident.js';
import { generateSigningKeyPair } from '../../protocol/signing.js';
import type { ReplyPayload } from '../../protocol/schemas/replies.js';
import { FakeRecorder } from '../helpers/incident-fakes.js';

const SITE = { lat: 40.0, lon: -75.0 };
const CAMS = {
  cam1: destinationPoint(SITE, 90, 50),
  cam2: destinationPoint(SITE, 0, 50),
  cam3: destinationPoint(SITE, 180, 50),
};
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const rtcc = generateSigningKeyPair();
const device = generateSigningKeyPair();
const dirs: string[] = [];
const services: IncidentsService[] = [];

interface Harness {
  svc: IncidentsService;
  rec: FakeRecorder;
  replies: ReplyPayload[];
  clock: ManualClock;
  stateDir: string;
}

async function harness(
  o: {
    stateDir?: string;
    clock?: ManualClock;
    cameras?: Record<string, SharingPolicy>;
    rec?: FakeRecorder;
  } = {},
): Promise<Harness> {
  const stateDir = o.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'inc-unit-'));
  if (!o.stateDir) dirs.push(stateDir);
  const clock = o.clock ?? new ManualClock(NOW, 0);
  const rec = o.rec ?? new FakeRecorder(clock, NOW - 3600_000, ['cam1', 'cam2', 'cam3']);
  const replies: ReplyPayload[] = [];
  const svc = createIncidents({
    recorder: rec,
    replies: (r) => Promise.resolve(void replies.push(r)),
    identity: {
      agentId: 'agent-1',
      deviceKey: device.privateKey,
      rtccKeys: [rtcc.publicKey],
      bridgeUrl: 'http://127.0.0.1:9',
      site: { policy: 'auto', location: SITE },
    },
    cameras: () => Object.entries(CAMS).map(([id, location]) => ({ id, location })),
    stateDir,
    clock,
    log: silentLogger,
    software: 'test',
    limits: { maxRadiusM: 500, maxWindowMs: 3600_000, maxLookbackMs: 24 * 3600_000, holdMs: 3600_000 },
    policy: { cameras: o.cameras ?? {} },
    upload: { retryInitialMs: 50, retryMaxMs: 100, idleTimeoutMs: 1_000 },
    approvalPollMs: 50,
  });
  await svc.start(AbortSignal.timeout(10_000));
  services.push(svc);
  return { svc, rec, replies, clock, stateDir };
}

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function signed(
  over: Partial<Parameters<typeof createIncidentRequest>[0]> = {},
  now = NOW,
  key = rtcc.privateKey,
): SignedIncident {
  const input = {
    caseNumber: 'C-1',
    reason: 'test',
    area: { kind: 'circle' as const, center: SITE, radiusM: 100 },
    from: now - 600_000,
    to: now - 60_000,
    issuer: 'rtcc',
    ...over,
  };
  return signIncident(createIncidentRequest(input, { now }), key);
}

async function send(h: Harness, incident: SignedIncident, requestId?: string) {
  const req = makeRequest(
    { type: 'incident', incident },
    { now: h.clock.now(), ...(requestId ? { requestId } : {}) },
  );
  await h.svc.handlers.incident(req, { reply: () => Promise.resolve() });
  return h.replies.filter((r) => r.requestId === req.requestId);
}

describe('incidents service', () => {
  it('rejects each bad request with its reason and leaves nothing behind', async () => {
    const h = await harness();
    const tampered = signed();
    tampered.request = { ...tampered.request, caseNumber: 'C-2' };
    const cases: [SignedIncident, string][] = [
      [signed({}, NOW, generateSigningKeyPair().privateKey), 'bad-signature'],
      [tampered, 'bad-signature'],
      [signed({ from: NOW - 4 * 3600_000 - 60_000, to: NOW - 4 * 3600_000 }, NOW - 4 * 3600_000), 'expired'],
      [signed({}, NOW + 3600_000), 'not-yet-valid'],
      [signed({ area: { kind: 'circle', center: SITE, radiusM: 600 } }), 'radius-over-limit'],
      [signed({ from: NOW - 2 * 3600_000 }), 'window-over-limit'],
      [signed({ from: NOW - 26 * 3600_000, to: NOW - 25 * 3600_000 }), 'window-over-limit'],
      [signed({ from: NOW - 60_000, to: NOW + 600_000 }), 'window-in-future'],
    ];
    for (const [incident, code] of cases) {
      const replies = await send(h, incident);
      expect(replies).toEqual([expect.objectContaining({ type: 'error', code, seq: 0 })]);
    }
    expect(h.rec.holds).toEqual([]);
    expect(h.svc.health()).toMatchObject({ openJobs: 0, nonces: 0 });
    const audit = await readAuditFile(path.join(h.stateDir, 'audit.log'));
    expect(audit.filter((e) => 'event' in e && e.event === 'request-rejected')).toHaveLength(cases.length);
  });

  it('remembers nonces across a restart; a redelivered envelope gets the current state, not an error', async () => {
    const h = await harness();
    const inc = signed();
    const id = '7b0c2c6e-95b4-4c59-9d3e-4a0f7b0c2c6e';
    const first = await send(h, inc, id);
    expect(first[0]).toMatchObject({ type: 'incident-status', outcome: 'in-progress', seq: 0 });
    const before = h.replies.filter((r) => r.requestId === id).length;
    const again = await send(h, inc, id);
    expect(again.length).toBeGreaterThan(before);
    expect(again.every((r) => r.type === 'incident-status')).toBe(true);
    await h.svc.stop();
    const h2 = await harness({ stateDir: h.stateDir, clock: h.clock, rec: h.rec });
    expect(await send(h2, inc)).toEqual([expect.objectContaining({ type: 'error', code: 'replayed' })]);
  });

  it('reveals only "declined" for `never` and only "awaiting-approval" before the owner decides', async () => {
    const h = await harness({ cameras: { cam2: 'never', cam3: 'approve' } });
    const [status] = await send(h, signed());
    if (status?.type !== 'incident-status') throw new Error('expected a status');
    const byId = Object.fromEntries(status.cameras.map((c) => [c.cameraId, c]));
    expect(byId['cam2']).toEqual({ cameraId: 'cam2', state: 'declined' });
    expect(byId['cam3']).toEqual({ cameraId: 'cam3', state: 'awaiting-approval' });
    expect(byId['cam1']).toMatchObject({
      state: 'accepted',
      covered: { from: NOW - 600_000, to: NOW - 60_000 },
      gaps: [],
    });
    expect(h.rec.holds.map((x) => x.camera).sort()).toEqual(['cam1', 'cam3']);
    expect(h.svc.approvals.list()).toEqual([
      expect.objectContaining({ cameras: [expect.objectContaining({ cameraId: 'cam3' })] }),
    ]);

    expect(await h.svc.approvals.decide(status.incidentId, 'cam3', 'decline', 'owner')).toBe(1);
    const last = h.replies.at(-1);
    if (last?.type !== 'incident-status') throw new Error('expected a status');
    expect(last.cameras.find((c) => c.cameraId === 'cam3')).toEqual({ cameraId: 'cam3', state: 'declined' });
    expect(h.rec.holds.map((x) => x.camera)).not.toContain('cam3');
    expect(h.svc.approvals.list()).toEqual([]);
  });

  it('moves an approved camera on to cutting and uploading', async () => {
    const h = await harness({ cameras: { cam1: 'approve', cam2: 'approve', cam3: 'approve' } });
    const [status] = await send(h, signed({ area: { kind: 'circle', center: CAMS.cam1, radiusM: 10 } }));
    if (status?.type !== 'incident-status') throw new Error('expected a status');
    expect(h.rec.clips).toBe(0);
    await h.svc.approvals.decide(status.incidentId, null, 'approve', 'owner');
    const pkg = path.join(h.stateDir, 'packages', status.incidentId, 'cam1');
    await expect.poll(() => existsSync(path.join(pkg, 'manifest.json')), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(
        () => h.replies.some((r) => r.type === 'incident-status' && r.cameras[0]?.state === 'uploading'),
        { timeout: 10_000 },
      )
      .toBe(true);
    expect(h.rec.clips).toBe(1);
  });

  it('answers "no-footage" for a camera with nothing in the window, or one the recorder does not record', async () => {
    const clock = new ManualClock(NOW, 0);
    const rec = new FakeRecorder(clock, NOW - 3600_000, ['cam1', 'cam2']);
    rec.empty.add('cam2');
    const h = await harness({ clock, rec });
    await send(h, signed());
    const last = h.replies.at(-1);
    if (last?.type !== 'incident-status') throw new Error('expected a status');
    const states = Object.fromEntries(last.cameras.map((c) => [c.cameraId, c]));
    expect(states['cam2']).toEqual({ cameraId: 'cam2', state: 'no-footage' });
    expect(states['cam3']).toEqual({ cameraId: 'cam3', state: 'no-footage' });
    expect(rec.holds.map((x) => x.camera)).toEqual(['cam1']);
  });

  it('answers no-cameras-in-area, cancels, takes receipts, and lets holds expire', async () => {
    const h = await harness({ cameras: { cam3: 'approve' } });
    const [none] = await send(
      h,
      signed({ area: { kind: 'circle', center: destinationPoint(SITE, 270, 300), radiusM: 50 } }),
    );
    expect(none).toMatchObject({ type: 'incident-status', outcome: 'no-cameras-in-area', cameras: [] });

    const [a] = await send(h, signed({ area: { kind: 'circle', center: CAMS.cam1, radiusM: 10 } }));
    if (a?.type !== 'incident-status') throw new Error('expected a status');
    const acks: unknown[] = [];
    const ctx = { reply: (b: unknown) => Promise.resolve(void acks.push(b)) };
    await h.svc.handlers['cancel-incident'](
      makeRequest({ type: 'cancel-incident', incidentId: a.incidentId }, { now: NOW }),
      ctx,
    );
    expect(acks).toEqual([{ type: 'ack', detail: 'incident cancelled' }]);
    expect(h.replies.at(-1)).toMatchObject({
      incidentId: a.incidentId,
      outcome: 'done',
      cameras: [{ state: 'failed', detail: 'cancelled by the RTCC' }],
    });
    expect(h.rec.holds).toEqual([]);

    const [b] = await send(h, signed({ area: { kind: 'circle', center: CAMS.cam2, radiusM: 10 } }));
    if (b?.type !== 'incident-status') throw new Error('expected a status');
    await expect
      .poll(
        () =>
          h.replies.some(
            (r) =>
              r.type === 'incident-status' &&
              r.incidentId === b.incidentId &&
              r.cameras[0]?.state === 'uploading',
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    await h.svc.handlers['evidence-receipt'](
      makeRequest(
        { type: 'evidence-receipt', incidentId: b.incidentId, cameraId: 'cam2', status: 'verified' },
        { now: NOW },
      ),
      ctx,
    );
    await expect
      .poll(() => h.replies.at(-1), { timeout: 10_000 })
      .toMatchObject({ incidentId: b.incidentId, outcome: 'done', cameras: [{ state: 'verified' }] });
    expect(h.rec.holds).toEqual([]);

    const [c] = await send(h, signed({ area: { kind: 'circle', center: CAMS.cam3, radiusM: 10 } }));
    if (c?.type !== 'incident-status') throw new Error('expected a status');
    expect(h.rec.holds).toHaveLength(1);
    await h.svc.stop();
    h.clock.advance(3600_000 + 1);
    const h2 = await harness({
      stateDir: h.stateDir,
      clock: h.clock,
      rec: h.rec,
      cameras: { cam3: 'approve' },
    });
    expect(h2.replies.at(-1)).toMatchObject({
      incidentId: c.incidentId,
      outcome: 'done',
      cameras: [{ cameraId: 'cam3', state: 'declined' }],
    });
    expect(h.rec.holds).toEqual([]);
    expect((await verifyAuditFile(path.join(h.stateDir, 'audit.log'))).ok).toBe(true);
  });
});
