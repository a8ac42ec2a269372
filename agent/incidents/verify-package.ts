/**
 * Offline verification of evidence packages (`camconnect verify`): a folder with manifest.json
 * beside files/ (the agent's packages and the bridge's evidence store have this layout; an
 * incident tar from the bridge unpacks into such folders).
 *
 * Checked, and each failure named by the file it concerns:
 * - manifest.json parses and matches the manifest schema (protocol/evidence-manifest.ts);
 * - its device signature (Ed25519, RFC 8032, over the RFC 8785 canonical form) verifies with
 *   the key given (--device-key), else with the key the manifest carries, which proves the
 *   package is unchanged since signing but not who signed it (the output says which);
 * - every listed file exists with the listed size and SHA-256, and no unlisted file is there;
 * - receipt.json, when present (bridge), names this package's hash;
 * - request.json, when present (agent), is the request the manifest answers (requestSha256),
 *   and with --rtcc-key its RTCC signature verifies.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { describeIssues } from '../../protocol/codec.js';
import {
  EvidenceReceipt,
  SignedEvidenceManifest,
  incidentSha256,
  packageSha256,
  verifyEvidenceManifest,
} from '../../protocol/evidence-manifest.js';
import { SignedIncident } from '../../protocol/incident.js';
import {
  SIGNING_DOMAINS,
  findKey,
  importPublicKeyRaw,
  keyIdOf,
  verifyCanonical,
} from '../../protocol/signing.js';
import { errnoCode } from './durable-doc.js';
import { FILES_DIR, MANIFEST_FILE, REQUEST_FILE, sha256OfFile } from './package.js';

export interface Check {
  ok: boolean;
  /** The file the check is about, relative to the package folder. */
  subject: string;
  message: string;
}

export interface PackageReport {
  dir: string;
  ok: boolean;
  checks: Check[];
  packageSha256?: string;
}

export interface VerifyOptions {
  deviceKey?: KeyObject;
  rtccKeys?: readonly KeyObject[];
}

async function readJson(file: string): Promise<{ json?: unknown; missing?: true; error?: string }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { missing: true };
    return { error: (err as Error).message };
  }
  try {
    return { json: JSON.parse(text) };
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
}

/** Package folders under `root` (root itself when it holds a manifest), sorted. */
export async function findPackages(root: string, depth = 6): Promise<string[]> {
  const entries = await fsp.readdir(root, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name === MANIFEST_FILE)) return [root];
  if (depth === 0) return [];
  const out: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(...(await findPackages(path.join(root, e.name), depth - 1)));
  }
  return out;
}

export async function verifyPackage(dir: string, opts: VerifyOptions = {}): Promise<PackageReport> {
  const checks: Check[] = [];
  const add = (ok: boolean, subject: string, message: string) => checks.push({ ok, subject, message });
  const done = (extra: Partial<PackageReport> = {}): PackageReport => ({
    dir,
    ok: checks.every((c) => c.ok),
    checks,
    ...extra,
  });

  const raw = await readJson(path.join(dir, MANIFEST_FILE));
  if (raw.missing || raw.error) {
    add(false, MANIFEST_FILE, raw.missing ? 'missing' : (raw.error ?? 'unreadable'));
    return done();
  }
  const parsed = SignedEvidenceManifest.safeParse(raw.json);
  if (!parsed.success) {
    add(false, MANIFEST_FILE, `not a valid signed manifest: ${describeIssues(parsed.error)}`);
    return done();
  }
  const signed = parsed.data;
  const m = signed.manifest;
  const signer = signed.signature.keyId;

  let key = opts.deviceKey;
  let whose = 'the device key given';
  if (!key && m.devicePublicKey) {
    key = importPublicKeyRaw(m.devicePublicKey);
    whose =
      'the key inside the manifest (integrity only: compare the key id with the registered device key, or pass --device-key)';
  }
  if (!key) add(false, MANIFEST_FILE, 'no device key to check the signature with: pass --device-key');
  else if (keyIdOf(key) !== signer)
    add(false, MANIFEST_FILE, `signed by key ${signer}, not by ${whose} (${keyIdOf(key)})`);
  else if (!verifyEvidenceManifest(signed, key))
    add(false, MANIFEST_FILE, 'the device signature does not verify: the manifest was changed after signing');
  else add(true, MANIFEST_FILE, `signature valid, device ${m.deviceId} key ${signer}, checked with ${whose}`);

  const filesDir = path.join(dir, FILES_DIR);
  const inFilesDir = await fsp.readdir(filesDir).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return [] as string[];
    throw err;
  });
  for (const f of m.files) {
    const rel = inFilesDir.includes(f.name) ? `${FILES_DIR}/${f.name}` : f.name;
    let actual: { sha256: string; bytes: number };
    try {
      actual = await sha256OfFile(path.join(dir, rel));
    } catch (err) {
      add(false, rel, errnoCode(err) === 'ENOENT' ? 'missing' : `unreadable: ${(err as Error).message}`);
      continue;
    }
    if (actual.bytes !== f.bytes) add(false, rel, `${actual.bytes} bytes, the manifest says ${f.bytes}`);
    else if (actual.sha256 !== f.sha256)
      add(false, rel, `SHA-256 ${actual.sha256} does not match the manifest's ${f.sha256}`);
    else add(true, rel, `${f.bytes} bytes, SHA-256 matches`);
  }
  const listed = new Set(m.files.map((f) => f.name));
  for (const name of inFilesDir.filter((n) => !listed.has(n)))
    add(false, `${FILES_DIR}/${name}`, 'not listed in the manifest');

  const pkgHash = packageSha256(signed);
  const receipt = await readJson(path.join(dir, 'receipt.json'));
  if (!receipt.missing) {
    const r = EvidenceReceipt.safeParse(receipt.json);
    if (receipt.error || !r.success)
      add(false, 'receipt.json', receipt.error ?? `invalid: ${r.success ? '' : describeIssues(r.error)}`);
    else if (r.data.packageSha256 !== pkgHash)
      add(false, 'receipt.json', `names package ${r.data.packageSha256}, this package hashes to ${pkgHash}`);
    else if (
      r.data.incidentId !== m.incidentId ||
      r.data.cameraId !== m.cameraId ||
      r.data.deviceId !== m.deviceId
    )
      add(false, 'receipt.json', 'names another incident, device or camera');
    else
      add(
        r.data.status === 'verified',
        'receipt.json',
        `the bridge's receipt: ${r.data.status}, received ${new Date(r.data.receivedAt).toISOString()}`,
      );
  }

  const request = await readJson(path.join(dir, REQUEST_FILE));
  if (!request.missing) {
    const q = SignedIncident.safeParse(request.json);
    if (request.error || !q.success)
      add(false, REQUEST_FILE, request.error ?? 'not a signed incident request');
    else if (incidentSha256(q.data) !== m.requestSha256)
      add(false, REQUEST_FILE, 'is not the request the manifest answers (requestSha256 differs)');
    else if (opts.rtccKeys && opts.rtccKeys.length > 0) {
      const k = findKey(opts.rtccKeys, q.data.signature.keyId);
      const ok =
        k !== undefined && verifyCanonical(SIGNING_DOMAINS.incident, q.data.request, q.data.signature, k);
      add(
        ok,
        REQUEST_FILE,
        ok
          ? `RTCC signature valid (key ${q.data.signature.keyId})`
          : 'the RTCC signature does not verify with the key given',
      );
    } else
      add(true, REQUEST_FILE, 'the request the manifest answers (pass --rtcc-key to check its signature)');
  }
  return done({ packageSha256: pkgHash });
}
