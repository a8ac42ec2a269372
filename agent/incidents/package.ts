/**
 * One camera's evidence package for one incident, on the agent's disk:
 *
 *   <stateDir>/packages/<incidentId>/<cameraId>/manifest.json   signed manifest (RFC 8785 form)
 *                                              /request.json    the signed incident it answers
 *                                              /files/<camera>-<from>.mp4
 *
 * The same layout as the bridge's evidence store (manifest.json beside files/), so
 * `camconnect verify` checks either. The clip is cut by the recorder with stream copy (no
 * re-encode), from the keyframe at or before `from`, MP4 with the index first (faststart).
 * The manifest (protocol/evidence-manifest.ts) lists each file's size and SHA-256, the
 * requested and covered windows and the gaps, where the site and camera are, the software,
 * and the SHA-256 of the exact signed request; it is signed with the device key (Ed25519,
 * RFC 8032, over the RFC 8785 canonical form, `evidenceManifest` signing domain).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { canonicalize } from '../../protocol/canonical.js';
import {
  incidentSha256,
  packageSha256,
  signEvidenceManifest,
  type EvidenceManifest,
  type SignedEvidenceManifest,
} from '../../protocol/evidence-manifest.js';
import { exportPublicKeyRaw, publicKeyOf } from '../../protocol/signing.js';
import { windowCoverage, type WindowCoverage } from './decide.js';
import { writeFileDurable } from './durable-doc.js';
import type { CameraJob, IncidentRecord } from './jobs.js';
import type { IncidentIdentity, IncidentRecorder } from './types.js';

export const MANIFEST_FILE = 'manifest.json';
export const REQUEST_FILE = 'request.json';
export const FILES_DIR = 'files';

/** The window holds no footage of this camera: answered "no footage", not a failure. */
export class NoFootage extends Error {
  override name = 'NoFootage';
}

export function packageDir(stateDir: string, incidentId: string, cameraId: string): string {
  return path.join(stateDir, 'packages', incidentId, cameraId);
}

/** 20261125T071725Z: a file-name-safe UTC time. */
function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export async function sha256OfFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface BuiltPackage {
  dir: string;
  signed: SignedEvidenceManifest;
  manifestBytes: number;
  packageSha256: string;
  coverage: WindowCoverage;
  files: { name: string; bytes: number; sha256: string; from: number; to: number }[];
}

export interface BuildContext {
  recorder: IncidentRecorder;
  identity: IncidentIdentity;
  software: string;
  stateDir: string;
  now: () => number;
}

/** Cuts, hashes, writes and signs the package of one camera job. */
export async function buildPackage(
  ctx: BuildContext,
  record: IncidentRecord,
  job: CameraJob,
): Promise<BuiltPackage> {
  const { request } = record.signed;
  const cameraId = job.cameraId;
  const coverage = windowCoverage(ctx.recorder, cameraId, request.from, request.to);
  if (!coverage) throw new NoFootage(`no footage of ${cameraId} in the window`);

  const dir = packageDir(ctx.stateDir, record.incidentId, cameraId);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(path.join(dir, FILES_DIR), { recursive: true, mode: 0o700 });
  const name = `${cameraId}-${compactTime(request.from)}.mp4`;
  const out = path.join(dir, FILES_DIR, name);
  const clip = await ctx.recorder.clip(cameraId, request.from, request.to, out);
  await fsyncFile(out);
  const { sha256, bytes } = await sha256OfFile(out);

  const site = ctx.identity.site.location;
  const manifest: EvidenceManifest = {
    v: 1,
    incidentId: record.incidentId,
    deviceId: ctx.identity.agentId,
    cameraId,
    requestSha256: incidentSha256(record.signed),
    covered: coverage.covered,
    createdAt: ctx.now(),
    files: [{ name, bytes, sha256, contentType: 'video/mp4', from: clip.start, to: clip.end }],
    caseNumber: request.caseNumber,
    requested: { from: request.from, to: request.to },
    gaps: coverage.gaps.slice(0, 1000),
    ...(site ? { deviceLocation: { lat: site.lat, lon: site.lon } } : {}),
    ...(job.location ? { cameraLocation: job.location } : {}),
    software: ctx.software.slice(0, 64),
    devicePublicKey: exportPublicKeyRaw(publicKeyOf(ctx.identity.deviceKey)),
  };
  const signed = signEvidenceManifest(manifest, ctx.identity.deviceKey);
  const manifestText = canonicalize(signed);
  await writeFileDurable(path.join(dir, REQUEST_FILE), JSON.stringify(record.signed, null, 2) + '\n');
  await writeFileDurable(path.join(dir, MANIFEST_FILE), manifestText);
  return {
    dir,
    signed,
    manifestBytes: Buffer.byteLength(manifestText),
    packageSha256: packageSha256(signed),
    coverage,
    files: [{ name, bytes, sha256, from: clip.start, to: clip.end }],
  };
}

export async function removePackage(stateDir: string, incidentId: string, cameraId?: string): Promise<void> {
  const dir = cameraId
    ? packageDir(stateDir, incidentId, cameraId)
    : path.join(stateDir, 'packages', incidentId);
  await fsp.rm(dir, { recursive: true, force: true });
}
