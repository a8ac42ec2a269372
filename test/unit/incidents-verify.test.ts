/**
 * Offline verification of an evidence package (what `camconnect verify` runs), on a package
 * built by the agent's own builder from a fake recorder.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage } from '../../agent/incidents/package.js';
import { findPackages, verifyPackage } from '../../agent/incidents/verify-package.js';
import type { IncidentRecord } from '../../agent/incidents/jobs.js';
import { ManualClock } from '../../lib/clock.js';
import { createIncidentRequest, signIncident } from '../../protocol/incident.js';
import { EvidenceManifest, packageSha256 } from '../../protocol/evidence-manifest.js';
import { generateSigningKeyPair } from '../../protocol/signing.js';
import { FakeRecorder } from '../helpers/incident-fakes.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const rtcc = generateSigningKeyPair();
const device = generateSigningKeyPair();
let stateDir: string;
let dir: string;
let fileName: string;

function copy(): string {
  const d = mkdtempSync(path.join(stateDir, 'copy-'));
  cpSync(dir, d, { recursive: true });
  return d;
}

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'inc-verify-'));
  const clock = new ManualClock(NOW, 0);
  const signed = signIncident(
    createIncidentRequest(
      {
        caseNumber: 'C-9',
        reason: 'r',
        area: { kind: 'circle', center: { lat: 1, lon: 1 }, radiusM: 50 },
        from: NOW - 60_000,
        to: NOW - 10_000,
        issuer: 'rtcc',
      },
      { now: NOW },
    ),
    rtcc.privateKey,
  );
  const record: IncidentRecord = {
    incidentId: signed.request.id,
    requestId: '6f1c2c6e-95b4-4c59-9d3e-4a0f7b0c2c6e',
    signed,
    keyId: 'k',
    receivedAt: NOW,
    nextSeq: 0,
    cameras: [],
  };
  const pkg = await buildPackage(
    {
      recorder: new FakeRecorder(clock, NOW - 3600_000, ['cam1']),
      identity: {
        agentId: 'agent-1',
        deviceKey: device.privateKey,
        rtccKeys: [rtcc.publicKey],
        bridgeUrl: 'http://x',
        site: { policy: 'auto', location: { lat: 1, lon: 1 } },
      },
      software: 'camconnect-edge test',
      stateDir,
      now: () => NOW,
    },
    record,
    {
      cameraId: 'cam1',
      state: 'cutting',
      policy: 'auto',
      approval: 'auto',
      location: { lat: 1, lon: 1.0001, heading: 90 },
      attempts: 0,
      updatedAt: NOW,
    },
  );
  dir = pkg.dir;
  fileName = pkg.files[0]!.name;
});

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('evidence package verification', () => {
  it('builds a manifest with the fields the issue asks for, and verifies it', async () => {
    const m = EvidenceManifest.parse(
      JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).manifest,
    );
    expect(m).toMatchObject({
      caseNumber: 'C-9',
      deviceId: 'agent-1',
      cameraId: 'cam1',
      requested: { from: NOW - 60_000, to: NOW - 10_000 },
      covered: { from: NOW - 60_000, to: NOW - 10_000 },
      gaps: [],
      deviceLocation: { lat: 1, lon: 1 },
      cameraLocation: { lat: 1, lon: 1.0001, heading: 90 },
      software: 'camconnect-edge test',
      createdAt: NOW,
    });
    expect(m.files[0]).toMatchObject({ name: fileName, contentType: 'video/mp4' });
    const r = await verifyPackage(dir, { deviceKey: device.publicKey, rtccKeys: [rtcc.publicKey] });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(await findPackages(path.dirname(path.dirname(dir)))).toEqual([dir]);
  });

  it('names the file whose bytes changed, and an unlisted file', async () => {
    const d = copy();
    const f = path.join(d, 'files', fileName);
    const bytes = readFileSync(f);
    bytes[3] = bytes[3]! ^ 0xff;
    writeFileSync(f, bytes);
    writeFileSync(path.join(d, 'files', 'extra.mp4'), 'x');
    const r = await verifyPackage(d);
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.subject)).toEqual([
      `files/${fileName}`,
      'files/extra.mp4',
    ]);
  });

  it('fails on another device key, an edited manifest, and a receipt for another package', async () => {
    expect(
      (await verifyPackage(dir, { deviceKey: generateSigningKeyPair().publicKey })).checks[0],
    ).toMatchObject({ ok: false, subject: 'manifest.json' });
    const d = copy();
    const doc = JSON.parse(readFileSync(path.join(d, 'manifest.json'), 'utf8'));
    doc.manifest.caseNumber = 'C-10';
    writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(doc));
    const r = await verifyPackage(d);
    expect(r.checks[0]).toMatchObject({
      ok: false,
      subject: 'manifest.json',
      message: expect.stringMatching(/changed after signing/),
    });

    const e = copy();
    const receipt = {
      v: 1,
      incidentId: doc.manifest.incidentId,
      deviceId: 'agent-1',
      cameraId: 'cam1',
      status: 'verified',
      packageSha256: packageSha256(doc),
      receivedAt: NOW,
      checkedAt: NOW,
      files: [],
      signatureValid: true,
      receiver: 'bridge',
    };
    writeFileSync(path.join(e, 'receipt.json'), JSON.stringify(receipt));
    const bad = await verifyPackage(e);
    expect(bad.checks.find((c) => c.subject === 'receipt.json')).toMatchObject({ ok: false });
  });
});
