/**
 * Incidents end to end: an operator files an incident, the bridge signs it and sends it only to
 * agents in or near the area, agents answer, one uploads evidence with tus (cut and resumed),
 * the bridge verifies it and issues a receipt; bad input of every kind is refused and recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, createHash, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { verifyIncident } from '../../protocol/incident-verify.js';
import { importPublicKeyRaw } from '../../protocol/signing.js';
import { destinationPoint } from '../../protocol/geofence.js';
import type { SignedIncident } from '../../protocol/incident.js';
import { SimAgent } from '../../cloud-bridge/testing/sim-agent.js';
import { eventually, runId, startTestBridge, type Json, type TestBridge } from '../helpers/bridge-env.js';
import { buildManifest, uploadOne, uploadPackage, type UploadTarget } from '../helpers/bridge-evidence.js';

const CENTER = { lat: 38.8977, lon: -77.0365 };
const MAX_UPLOAD = 256 * 1024;
let tb: TestBridge;
let inside: SimAgent;
let near: SimAgent;
let far: SimAgent;
let incident: Json;

function sim(at: { lat: number; lon: number }): SimAgent {
  return new SimAgent({
    url: tb.bridge.mqttUrl,
    agentId: runId('inc').replace(/_/g, '-'),
    site: at,
    cameras: [{ id: 'cam1', ...at }],
  });
}

beforeAll(async () => {
  tb = await startTestBridge({ config: { limits: { maxUploadBytes: MAX_UPLOAD } } });
  inside = sim(destinationPoint(CENTER, 45, 100));
  near = sim(destinationPoint(CENTER, 180, 400)); // 100 m outside a 300 m circle: within the 200 m margin
  far = sim(destinationPoint(CENTER, 90, 5000));
  for (const a of [inside, near, far]) {
    expect((await tb.api('POST', '/api/devices', a.registration())).status).toBe(201);
    await a.connect();
    await a.online();
    await a.inventory();
  }
  await eventually(async () => {
    const devs = (await tb.api('GET', '/api/devices')).json.devices as { cameraCount: number }[];
    return devs.filter((d) => d.cameraCount === 1).length === 3;
  }, 'inventories');
});

afterAll(async () => {
  for (const a of [inside, near, far]) {
    await a?.close();
    await a?.clearRetained();
  }
  await tb?.cleanup();
});

function body(over: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    caseNumber: 'DC-2026-0042',
    reason: 'burglary in progress',
    area: { kind: 'circle', center: CENTER, radiusM: 300 },
    from: now - 3600_000,
    to: now - 600_000,
    ...over,
  };
}

describe('incidents', () => {
  it('signs an incident and sends it only to agents in or near the area', async () => {
    const res = await tb.api('POST', '/api/incidents', body());
    expect(res.status).toBe(201);
    incident = res.json;
    expect((incident.targets as { deviceId: string }[]).map((t) => t.deviceId).sort()).toEqual(
      [inside.agentId, near.agentId].sort(),
    );
    const cmd = await inside.waitForRequest('incident');
    const key = (await tb.api('GET', '/api/rtcc-key')).json;
    const verdict = verifyIncident(cmd.incident, importPublicKeyRaw(key.publicKey), {
      now: Date.now(),
      seenNonce: () => false,
    });
    expect(verdict.ok).toBe(true);
    await near.waitForRequest('incident');
    // The far agent never gets it. MQTT keeps one publisher's messages on one topic in order
    // (MQTT 5 §4.6), so once a ping sent after the incident arrives, the incident would have too.
    const pingId = randomUUID();
    await tb.bridge.link.publish(far.agentId, 'requests', {
      v: 1,
      ts: Date.now(),
      requestId: pingId,
      type: 'ping',
    });
    await far.waitForRequest('ping', (p) => p.requestId === pingId);
    expect(far.requests.filter((r) => r.type === 'incident')).toHaveLength(0);
  });

  it('tracks each agent and camera state from replies, ignoring stale ones', async () => {
    const cmdIn = await inside.waitForRequest('incident');
    const cmdNear = await near.waitForRequest('incident');
    const covered = { from: cmdIn.incident.request.from, to: cmdIn.incident.request.to };
    await inside.reply({
      requestId: cmdIn.requestId,
      type: 'incident-status',
      incidentId: incident.id,
      outcome: 'in-progress',
      cameras: [{ cameraId: 'cam1', state: 'uploading', covered, gaps: [], percent: 50 }],
    });
    await near.reply({
      requestId: cmdNear.requestId,
      type: 'incident-status',
      incidentId: incident.id,
      outcome: 'no-cameras-in-area',
      cameras: [],
    });
    const view = await eventually(async (): Promise<unknown> => {
      const v = (await tb.api('GET', `/api/incidents/${incident.id}`, undefined, tb.auditorToken)).json;
      return v.targets.every((t: Json) => t.state !== 'sent') ? v : null;
    }, 'replies applied');
    const tIn = view.targets.find((t: Json) => t.deviceId === inside.agentId);
    expect(tIn.state).toBe('in-progress');
    expect(tIn.cameras[0]).toMatchObject({ cameraId: 'cam1', state: 'uploading', percent: 50 });
    expect(view.targets.find((t: Json) => t.deviceId === near.agentId).state).toBe('no-cameras-in-area');
  });

  it('receives evidence over tus (cut and resumed), verifies it and issues a receipt', async () => {
    const cmd = await inside.waitForRequest('incident');
    const clip = Buffer.alloc(150 * 1024, 7);
    const files = [{ name: 'clip-0001.mp4', body: clip, contentType: 'video/mp4' }];
    const signed = buildManifest(cmd.incident, inside.agentId, 'cam1', files, inside.privateKey);
    const t: UploadTarget = {
      base: tb.url,
      incidentId: incident.id,
      deviceId: inside.agentId,
      cameraId: 'cam1',
      requestId: cmd.requestId,
    };
    expect((await uploadPackage(t, signed, files, 32 * 1024)).status).toBe(204);
    const receipt = await inside.waitForRequest('evidence-receipt');
    expect(receipt.status).toBe('verified');
    const view = (await tb.api('GET', `/api/incidents/${incident.id}`)).json;
    const ev = view.evidence[0];
    expect(ev).toMatchObject({
      deviceId: inside.agentId,
      cameraId: 'cam1',
      state: 'verified',
      packageSha256: receipt.packageSha256,
    });
    expect(ev.receipt.files[0].sha256).toBe(createHash('sha256').update(clip).digest('hex'));
    expect(view.targets.find((x: Json) => x.deviceId === inside.agentId).cameras[0].state).toBe('verified');
    // Stored in the evidence store; nothing of it is left in tus staging.
    expect(readdirSync(path.join(tb.dataDir, 'uploads'))).toEqual([]);

    const file = await fetch(
      `${tb.url}/api/incidents/${incident.id}/evidence/${inside.agentId}/cam1/clip-0001.mp4`,
      {
        headers: { authorization: `Bearer ${tb.token}`, range: 'bytes=10-19' },
      },
    );
    expect(file.status).toBe(206);
    expect(Buffer.from(await file.arrayBuffer())).toEqual(clip.subarray(10, 20));
    const tar = await fetch(`${tb.url}/api/incidents/${incident.id}/evidence`, {
      headers: { authorization: `Bearer ${tb.token}` },
    });
    expect(tar.status).toBe(200);
    const bytes = Buffer.from(await tar.arrayBuffer());
    expect(bytes.includes(Buffer.from('manifest.json'))).toBe(true);
    expect(bytes.includes(Buffer.from('receipt.json'))).toBe(true);
    expect(bytes.includes(clip.subarray(0, 1024))).toBe(true);
  });

  it('rejects and records bad uploads: unknown incident, wrong request id, oversize, wrong hash, bad signature', async () => {
    const cmd = await near.waitForRequest('incident');
    const signedIncident: SignedIncident = cmd.incident;
    const t: UploadTarget = {
      base: tb.url,
      incidentId: incident.id,
      deviceId: near.agentId,
      cameraId: 'cam1',
      requestId: cmd.requestId,
    };
    const small = [{ name: 'a.mp4', body: Buffer.alloc(1000, 1) }];

    expect(
      (
        await uploadOne(
          { ...t, incidentId: '00000000-0000-4000-8000-000000000000' },
          'manifest',
          Buffer.from('{}'),
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await uploadOne(
          { ...t, requestId: '00000000-0000-4000-8000-000000000000' },
          'manifest',
          Buffer.from('{}'),
        )
      ).status,
    ).toBe(403);
    expect(
      (await uploadOne(t, 'file', Buffer.alloc(10), 'x.mp4', { declaredSize: MAX_UPLOAD + 1 })).status,
    ).toBe(413);

    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const forged = buildManifest(signedIncident, near.agentId, 'cam1', small, otherKey);
    expect((await uploadOne(t, 'manifest', Buffer.from(JSON.stringify(forged)))).status).toBe(422);

    const lying = buildManifest(signedIncident, near.agentId, 'cam1', small, near.privateKey, (m) => {
      m.files[0]!.sha256 = 'a'.repeat(64);
    });
    expect((await uploadOne(t, 'manifest', Buffer.from(JSON.stringify(lying)))).status).toBe(204);
    expect((await uploadOne(t, 'file', small[0]!.body, 'a.mp4')).status).toBe(422);
    const rejected = await near.waitForRequest(
      'evidence-receipt',
      (r) => r.status === 'rejected' && /hash-mismatch/.test(r.detail ?? ''),
    );
    expect(rejected.incidentId).toBe(incident.id);

    const view = (await tb.api('GET', `/api/incidents/${incident.id}`)).json;
    expect(view.evidence.find((e: Json) => e.deviceId === near.agentId).state).toBe('rejected');
    const events = await tb.bridge.db.query<{ event: string }>(
      'SELECT event FROM evidence_events WHERE incident_id = $1 OR incident_id IS NULL OR incident_id LIKE $2',
      [incident.id, '0000%'],
    );
    const kinds = events.map((e) => e.event);
    for (const k of [
      'rejected:unknown-incident',
      'rejected:not-authorized',
      'rejected:too-large',
      'rejected:bad-signature',
      'rejected:hash-mismatch',
    ]) {
      expect(kinds).toContain(k);
    }
    const metrics = await (await fetch(`${tb.url}/metrics`)).text();
    expect(metrics).toMatch(/camconnect_bridge_uploads_total\{result="rejected"\} [5-9]/);
  });

  it('refuses malformed or over-limit incidents with problem details, and audits every call', async () => {
    const cases: [unknown, number, RegExp][] = [
      [body({ area: { kind: 'circle', center: CENTER, radiusM: 900 } }), 422, /radius of at most 800 m/],
      [body({ from: Date.now() - 13 * 3600_000, to: Date.now() }), 422, /at most 12 h/],
      [body({ caseNumber: undefined }), 422, /caseNumber/],
      [body({ area: { kind: 'polygon', points: [CENTER, CENTER, CENTER] } }), 422, /points/],
      ['{"caseNumber": ', 400, /not valid JSON/],
    ];
    for (const [b, status, detail] of cases) {
      const r = await tb.api('POST', '/api/incidents', b);
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(r.json.detail).toMatch(detail);
    }
    expect((await tb.api('POST', '/api/incidents', body(), 'ccb_nope')).status).toBe(401);
    expect((await tb.api('POST', '/api/incidents', body(), tb.auditorToken)).status).toBe(403);
    expect((await tb.api('GET', '/api/audit')).status).toBe(403);
    const audit = await tb.api('GET', '/api/audit?limit=500', undefined, tb.auditorToken);
    const entries = audit.json.entries as Json[];
    expect(entries.some((e) => e.method === 'POST' && e.path === '/api/incidents' && e.status === 422)).toBe(
      true,
    );
    expect(entries.some((e) => e.status === 401 && e.tokenId === null)).toBe(true);
    expect(entries.some((e) => e.status === 201 && e.role === 'operator')).toBe(true);
  });

  it('cancels an incident: agents not yet done are told, verified evidence stays', async () => {
    const res = await tb.api('POST', '/api/incidents', body({ caseNumber: 'DC-CANCEL' }));
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    expect(
      (await tb.api('POST', `/api/incidents/${id}/cancel`, { reason: 'suspect in custody' }, tb.auditorToken))
        .status,
    ).toBe(403);
    const c = await tb.api('POST', `/api/incidents/${id}/cancel`, { reason: 'suspect in custody' });
    expect(c.status).toBe(200);
    expect((c.json.cancelled as string[]).sort()).toEqual([inside.agentId, near.agentId].sort());
    const got = await inside.waitForRequest('cancel-incident', (r) => r.incidentId === id);
    expect(got.reason).toBe('suspect in custody');
    const view = (await tb.api('GET', `/api/incidents/${id}`)).json;
    expect((view.targets as { state: string }[]).every((t) => t.state === 'cancelled')).toBe(true);
    expect(
      (await tb.api('POST', '/api/incidents/00000000-0000-4000-8000-000000000000/cancel', {})).status,
    ).toBe(404);
    // The first incident's verified package is untouched by cancelling another.
    const first = (await tb.api('GET', `/api/incidents/${incident.id}`)).json;
    expect((first.evidence as Json[]).find((e) => e.deviceId === inside.agentId).state).toBe('verified');
  });

  it('streams live progress as server-sent events and serves its OpenAPI document', async () => {
    const ac = new AbortController();
    const res = await fetch(`${tb.url}/api/incidents/${incident.id}/events`, {
      headers: { authorization: `Bearer ${tb.token}` },
      signal: ac.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^event: incident\ndata: \{"id":"/);
    ac.abort();
    const doc = (await tb.api('GET', '/api/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/api/incidents'].post.requestBody).toBeTruthy();
    expect(doc.components.schemas.IncidentInput.properties.area).toBeTruthy();
  });
});
