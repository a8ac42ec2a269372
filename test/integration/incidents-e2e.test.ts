/**
 * Incidents end to end: real ffmpeg recording three simulated cameras, the real link over the
 * bridge's embedded broker, the bridge signing and fanning out requests and receiving evidence
 * over tus. One recording serves every scenario: two of three cameras in the geofence; an area
 * with no camera; forged, tampered, expired, replayed and over-limit requests; the `approve`
 * policy; a cut link at half the upload; a byte changed in stored evidence; a broken audit chain.
 * No timing assertions: every wait is "eventually", with generous limits.
 */
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentRequest, signIncident, type SignedIncident } from '../../protocol/incident.js';
import { destinationPoint } from '../../protocol/geofence.js';
import { generateSigningKeyPair } from '../../protocol/signing.js';
import type { ReplyPayload } from '../../protocol/schemas/replies.js';
import { readAuditFile } from '../../agent/incidents/index.js';
import { probe } from '../helpers/gst-recorder.js';
import { eventually, type Json } from '../helpers/bridge-env.js';
import { camconnect } from '../helpers/incident-cli.js';
import { startTestAgent, type TestAgent } from '../helpers/incident-agent.js';
import {
  SITE,
  placeCameras,
  startIncidentWorld,
  until,
  storedPackageDir,
  waitForTarget,
  type IncidentWorld,
} from '../helpers/incident-env.js';

let world: IncidentWorld;
let agent: TestAgent;
let agentId: string;
let dataDir: string;
const cams = placeCameras(SITE);
let window: { from: number; to: number };
let firstIncident: Json;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function body(area: Json, over: Record<string, unknown> = {}) {
  return { caseNumber: 'DC-2026-0815', reason: 'robbery reported', area, ...window, ...over };
}

function uploadsFor(incidentIds: string[]): Promise<number> {
  return world.tb.bridge.db
    .query<{ n: number }>('SELECT count(*)::int AS n FROM uploads WHERE incident_id = ANY($1::text[])', [
      incidentIds,
    ])
    .then((r) => r[0]?.n ?? -1);
}

function holdsFor(incidentId: string) {
  return agent.recorder.listHolds().filter((h) => h.reason.includes(incidentId));
}

function replyTo(requestId: string): Promise<ReplyPayload> {
  return until(() => agent.replies.find((r) => r.requestId === requestId), `a reply to ${requestId}`);
}

async function publishIncident(incident: SignedIncident): Promise<string> {
  const requestId = randomUUID();
  await world.tb.bridge.link.publish(agentId, 'requests', {
    v: 1,
    ts: Date.now(),
    requestId,
    type: 'incident',
    incident,
  });
  return requestId;
}

beforeAll(async () => {
  world = await startIncidentWorld({ limits: { maxRadiusM: 800 } });
  const cfg = await world.agentConfig({
    name: 'e2e',
    site: SITE,
    cameraPolicies: { cam3: 'approve' },
    // The owner's limits are stricter than the RTCC's, so the bridge signs what the agent refuses.
    limits: { maxRadiusM: 300, maxWindowMs: 10 * 60_000, settleMs: 30_000 },
    upload: { bytesPerSecond: 1_000_000, parallel: 2 },
    keepPackages: true,
  });
  agentId = cfg.agentId;
  dataDir = cfg.dataDir;
  agent = await startTestAgent(cfg);
  await eventually(async () => {
    const devs = (await world.tb.api('GET', '/api/devices')).json.devices as Json[];
    return devs.find((d) => d.id === agentId)?.cameraCount === 3;
  }, 'the inventory at the bridge');
  // About 24 s of footage on every camera (2 s segments).
  await until(
    () => agent.recorder.stats().cameras.every((c) => c.segments >= 12),
    '12 segments per camera',
    240_000,
  );
  const starts = ['cam1', 'cam2', 'cam3'].map((c) => agent.recorder.segments(c, 0, Date.now()));
  window = {
    from: Math.max(...starts.map((s) => s[1]!.start)) + 500,
    to: Math.min(...starts.map((s) => s[s.length - 2]!.end)) - 500,
  };
});

afterAll(async () => {
  await agent?.stop();
  await world?.cleanup();
});

describe('incidents end to end', () => {
  it('uploads exactly the two cameras in the geofence, verified and covering the window', async () => {
    const area = { kind: 'circle', center: destinationPoint(SITE, 45, 42), radiusM: 70 };
    firstIncident = await world.fileIncident(body(area));
    const id = firstIncident.id as string;
    const view = await waitForTarget(
      world,
      id,
      agentId,
      (t, v) => t.state === 'done' && v.evidence.length === 2,
      'two verified packages',
      180_000,
    );
    expect(view.evidence.map((e: Json) => [e.cameraId, e.state])).toEqual([
      ['cam1', 'verified'],
      ['cam2', 'verified'],
    ]);
    const target = view.targets.find((t: Json) => t.deviceId === agentId);
    expect(target.cameras.map((c: Json) => c.cameraId).sort()).toEqual(['cam1', 'cam2']);
    expect(readdirSync(path.join(world.tb.dataDir, 'evidence', 'incidents', id, agentId)).sort()).toEqual([
      'cam1',
      'cam2',
    ]);
    for (const cam of ['cam1', 'cam2']) {
      const dir = storedPackageDir(world, id, agentId, cam);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).manifest;
      const file = manifest.files[0];
      expect(manifest).toMatchObject({
        incidentId: id,
        deviceId: agentId,
        cameraId: cam,
        caseNumber: 'DC-2026-0815',
        requested: window,
      });
      expect(manifest.cameraLocation).toMatchObject(cams[cam as 'cam1']);
      expect(manifest.software).toBe('camconnect-edge test');
      expect(file.from).toBeLessThanOrEqual(window.from);
      expect(file.to).toBeGreaterThanOrEqual(window.to);
      const stored = path.join(dir, 'files', file.name);
      expect(sha(stored)).toBe(file.sha256);
      // The agent's package and the bridge's copy are the same bytes.
      expect(sha(path.join(agent.stateDir, 'packages', id, cam, 'files', file.name))).toBe(file.sha256);
      const p = await probe(stored);
      expect(p.streams.some((s) => s.codec_type === 'video' && s.codec_name === 'h264')).toBe(true);
      expect(Number(p.format.duration)).toBeGreaterThanOrEqual((window.to - window.from) / 1000);
      expect(holdsFor(id)).toEqual([]);
    }
    const status = await until(
      () =>
        agent.replies.find(
          (r) => r.type === 'incident-status' && r.incidentId === id && r.outcome === 'done',
        ),
      'a done reply',
    );
    expect(status.cameras.map((c: Json) => c.state)).toEqual(['verified', 'verified']);
    const check = await camconnect(['verify', path.join(world.tb.dataDir, 'evidence', 'incidents', id)]);
    expect(check.stdout).toContain('all 2 package(s) verified');
    expect(check.code).toBe(0);
  }, 300_000);

  it('answers an area with no camera of its own, and uploads nothing', async () => {
    const area = { kind: 'circle', center: destinationPoint(SITE, 180, 100), radiusM: 30 };
    const inc = await world.fileIncident(body(area));
    const view = await waitForTarget(
      world,
      inc.id,
      agentId,
      (t) => t.state === 'no-cameras-in-area',
      'no cameras in area',
    );
    expect(view.evidence).toEqual([]);
    const reply = agent.replies.find((r) => r.type === 'incident-status' && r.incidentId === inc.id);
    expect(reply).toMatchObject({ outcome: 'no-cameras-in-area', cameras: [] });
    expect(await uploadsFor([inc.id])).toBe(0);
    expect(holdsFor(inc.id)).toEqual([]);
  }, 300_000);

  it('rejects forged, tampered, expired, replayed and over-limit requests with the reason, and uploads nothing', async () => {
    const area = { kind: 'circle' as const, center: cams.cam1, radiusM: 50 };
    const input = { caseNumber: 'X-1', reason: 'test', area, ...window, issuer: 'rtcc' };
    const rtcc = world.tb.bridge.rtccKey.privateKey;
    const forged = signIncident(
      createIncidentRequest(input, { now: Date.now() }),
      generateSigningKeyPair().privateKey,
    );
    const tampered = signIncident(createIncidentRequest(input, { now: Date.now() }), rtcc);
    tampered.request = { ...tampered.request, caseNumber: 'X-2' };
    const old = Date.now() - 3 * 3600_000;
    const expired = signIncident(
      createIncidentRequest({ ...input, from: old - 60_000, to: old }, { now: old, validityMs: 3600_000 }),
      rtcc,
    );
    const rows = await world.tb.bridge.db.query<{ request: SignedIncident }>(
      'SELECT request FROM incidents WHERE id = $1',
      [firstIncident.id],
    );
    const replayed = rows[0]!.request;
    const cases: [SignedIncident, string][] = [
      [forged, 'bad-signature'],
      [tampered, 'bad-signature'],
      [expired, 'expired'],
      [replayed, 'replayed'],
    ];
    const holdsBefore = agent.recorder.listHolds().length;
    for (const [incident, reason] of cases) {
      const reply = await replyTo(await publishIncident(incident));
      expect(reply).toMatchObject({ type: 'error', code: reason });
    }
    // Over the owner's limits, signed by the real RTCC and sent by the bridge itself.
    const wide = await world.fileIncident(body({ kind: 'circle', center: SITE, radiusM: 450 }));
    const long = await world.fileIncident(body(area, { from: window.to - 20 * 60_000 }));
    for (const [inc, reason] of [
      [wide, 'radius-over-limit'],
      [long, 'window-over-limit'],
    ] as const) {
      const v = await waitForTarget(
        world,
        inc.id,
        agentId,
        (t) => t.state === 'error',
        `${reason} at the bridge`,
      );
      expect(v.targets.find((t: Json) => t.deviceId === agentId).detail).toMatch(new RegExp(`^${reason}: `));
    }
    expect(agent.recorder.listHolds().length).toBe(holdsBefore);
    const ids = [forged, tampered, expired].map((s) => s.request.id).concat(wide.id, long.id);
    expect(await uploadsFor(ids)).toBe(0);
    for (const id of ids) expect(existsSync(path.join(agent.stateDir, 'packages', id))).toBe(false);
    const audit = (await readAuditFile(path.join(agent.stateDir, 'audit.log'))).filter(
      (e) => 'event' in e && e.event === 'request-rejected',
    );
    expect(audit.map((e) => ('data' in e ? e.data['reason'] : null))).toEqual(
      expect.arrayContaining([
        'bad-signature',
        'expired',
        'replayed',
        'radius-over-limit',
        'window-over-limit',
      ]),
    );
  }, 300_000);

  it('with policy "approve", moves nothing until the owner approves, then uploads', async () => {
    const inc = await world.fileIncident(body({ kind: 'circle', center: cams.cam3, radiusM: 30 }));
    await waitForTarget(
      world,
      inc.id,
      agentId,
      (t) => t.cameras.some((c: Json) => c.cameraId === 'cam3' && c.state === 'awaiting-approval'),
      'awaiting approval',
    );
    const reply = agent.replies.filter((r) => r.type === 'incident-status' && r.incidentId === inc.id).pop();
    expect(reply).toMatchObject({
      outcome: 'in-progress',
      cameras: [{ cameraId: 'cam3', state: 'awaiting-approval' }],
    });
    // Held on the agent, nothing built, nothing at the bridge.
    expect(holdsFor(inc.id)).toHaveLength(1);
    expect(existsSync(path.join(agent.stateDir, 'packages', inc.id))).toBe(false);
    expect(await uploadsFor([inc.id])).toBe(0);
    const list = await camconnect(['agent', 'approvals', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(inc.id);
    expect(list.stdout).toContain('camera cam3: footage');
    const approve = await camconnect([
      'agent',
      'approvals',
      'approve',
      inc.id,
      '--data-dir',
      dataDir,
      '--wait',
      '30000',
    ]);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('approved');
    const view = await waitForTarget(
      world,
      inc.id,
      agentId,
      (t, v) => t.state === 'done' && v.evidence.length === 1,
      'the approved upload',
      180_000,
    );
    expect(view.evidence[0]).toMatchObject({ cameraId: 'cam3', state: 'verified' });
    const decisions = (await readAuditFile(path.join(agent.stateDir, 'audit.log'))).filter(
      (e) => 'event' in e && e.event === 'owner-decision',
    );
    expect(
      decisions.some(
        (e) => 'data' in e && e.data['incidentId'] === inc.id && e.data['decision'] === 'approve',
      ),
    ).toBe(true);
  }, 300_000);

  it('resumes an upload cut at half without sending confirmed bytes again', async () => {
    const before = world.proxy.bytesUp;
    const inc = await world.fileIncident(body({ kind: 'circle', center: cams.cam1, radiusM: 20 }));
    const jobFile = () => JSON.parse(readFileSync(path.join(agent.stateDir, 'jobs.json'), 'utf8'));
    const size: number = await until(
      () => {
        const job = jobFile().incidents.find((r: Json) => r.incidentId === inc.id)?.cameras[0];
        return job?.state === 'uploading' ? job.package.files[0].bytes : null;
      },
      'the package',
      120_000,
    );
    await until(() => world.proxy.bytesUp - before >= size / 2, 'half the clip on the wire', 120_000);
    const refusedBefore = world.proxy.refused;
    world.proxy.block();
    await until(() => world.proxy.refused > refusedBefore, 'the agent trying again', 60_000);
    world.proxy.unblock();
    const view = await waitForTarget(
      world,
      inc.id,
      agentId,
      (t, v) => t.state === 'done' && v.evidence.length === 1,
      'the resumed upload',
      180_000,
    );
    expect(view.evidence[0].state).toBe('verified');
    const dir = storedPackageDir(world, inc.id, agentId, 'cam1');
    const file = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).manifest.files[0];
    expect(sha(path.join(dir, 'files', file.name))).toBe(
      sha(path.join(agent.stateDir, 'packages', inc.id, 'cam1', 'files', file.name)),
    );
    const resumed = (await readAuditFile(path.join(agent.stateDir, 'audit.log'))).filter(
      (e) => 'event' in e && e.event === 'upload-resumed' && e.data['incidentId'] === inc.id,
    );
    expect(resumed.length).toBeGreaterThan(0);
    expect(
      Math.max(...resumed.map((e) => Number('data' in e ? e.data['confirmedOffset'] : 0))),
    ).toBeGreaterThan(0);
    // Everything sent for this incident: the clip once, the manifest, HTTP headers, and at most
    // what was in flight when the cable was cut. Starting over would have sent > 1.5 clips.
    expect(world.proxy.bytesUp - before).toBeLessThan(size + 256 * 1024);
  }, 300_000);

  it('camconnect verify names the file when one byte of a stored clip changed', async () => {
    const copy = path.join(world.tmp, 'tampered');
    cpSync(storedPackageDir(world, firstIncident.id, agentId, 'cam1'), copy, { recursive: true });
    const files = path.join(copy, 'files');
    const name = readdirSync(files)[0]!;
    const bytes = readFileSync(path.join(files, name));
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path.join(files, name), bytes);
    const r = await camconnect(['verify', copy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAIL  files/${name}: SHA-256`);
    expect(r.stdout).toContain('FAILED package');
  }, 300_000);

  it('agent audit --verify says where the chain was broken', async () => {
    const ok = await camconnect(['agent', 'audit', '--verify', '--data-dir', dataDir]);
    expect(ok.stdout).toContain('audit chain intact');
    expect(ok.code).toBe(0);
    const copyDir = path.join(world.tmp, 'audit-copy');
    cpSync(path.join(agent.stateDir, 'audit.log'), path.join(copyDir, 'incidents', 'audit.log'));
    const lines = readFileSync(path.join(copyDir, 'incidents', 'audit.log'), 'utf8').split('\n');
    const target = lines.findIndex((l) => l.includes('"request-rejected"'));
    lines[target] = lines[target]!.replace('"bad-signature"', '"expired"');
    writeFileSync(path.join(copyDir, 'incidents', 'audit.log'), lines.join('\n'));
    const broken = await camconnect(['agent', 'audit', '--verify', '--data-dir', copyDir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`BROKEN at line ${target + 1}`);
    expect(broken.stdout).toContain('edited');
  }, 300_000);
});
