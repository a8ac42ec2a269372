/**
 * `camconnect verify PATH`: checks evidence offline (agent/incidents/verify-package.ts). PATH is
 * a package folder (manifest.json beside files/) or any folder holding packages, e.g. an
 * incident tar from the bridge after `tar xf`. Exit 0 only when every check of every package
 * holds; otherwise 1, with each failure naming its file. 2 when PATH holds no package.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { importPublicKeyPem, importPublicKeyRaw } from '../protocol/signing.js';
import { findPackages, verifyPackage, type PackageReport } from '../agent/incidents/verify-package.js';
import { UsageError } from './util.js';

/** A public key given as raw base64url (43 characters), or a file with that or a PEM key. */
export function loadPublicKey(value: string, what: string): KeyObject {
  let text = value.trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) {
    try {
      text = readFileSync(text, 'utf8').trim();
    } catch (err) {
      throw new UsageError(
        `${what}: neither a raw Ed25519 key nor a readable file (${(err as Error).message})`,
      );
    }
  }
  try {
    return text.startsWith('-----BEGIN') ? importPublicKeyPem(text) : importPublicKeyRaw(text);
  } catch (err) {
    throw new UsageError(`${what}: not an Ed25519 public key (${(err as Error).message})`);
  }
}

function print(report: PackageReport, root: string): void {
  const name = path.relative(root, report.dir) || path.basename(report.dir);
  process.stdout.write(`${report.ok ? 'OK    ' : 'FAILED'} package ${name}\n`);
  for (const c of report.checks)
    process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.subject}: ${c.message}\n`);
  if (report.packageSha256) process.stdout.write(`  package SHA-256 ${report.packageSha256}\n`);
}

interface VerifyCliOptions {
  deviceKey?: string;
  rtccKey?: string[];
  json?: boolean;
}

export async function runVerify(target: string, o: VerifyCliOptions): Promise<number> {
  const root = path.resolve(target);
  try {
    if (!statSync(root).isDirectory())
      throw new UsageError(`${target} is not a folder (unpack a tar first: tar xf FILE)`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${target}: ${(err as Error).message}`);
  }
  const deviceKey = o.deviceKey ? loadPublicKey(o.deviceKey, '--device-key') : undefined;
  const rtccKeys = (o.rtccKey ?? []).map((k) => loadPublicKey(k, '--rtcc-key'));
  const packages = await findPackages(root);
  if (packages.length === 0) throw new UsageError(`no evidence package (manifest.json) under ${target}`);
  const reports: PackageReport[] = [];
  for (const dir of packages)
    reports.push(await verifyPackage(dir, { ...(deviceKey ? { deviceKey } : {}), rtccKeys }));
  if (o.json)
    process.stdout.write(
      JSON.stringify({ ok: reports.every((r) => r.ok), packages: reports }, null, 2) + '\n',
    );
  else {
    for (const r of reports) print(r, root);
    const bad = reports.filter((r) => !r.ok).length;
    process.stdout.write(
      bad === 0
        ? `all ${reports.length} package(s) verified\n`
        : `${bad} of ${reports.length} package(s) FAILED\n`,
    );
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<path>', 'an evidence package folder, or a folder of packages')
    .description(
      'check evidence offline: every file hash, the device signature, the manifest (exit 0 only if all hold)',
    )
    .option(
      '--device-key <key>',
      "the device's public key (raw base64url, or a file): checks who signed, not only integrity",
    )
    .option(
      '--rtcc-key <key>',
      'an RTCC public key to check request.json with (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--json', 'print the report as JSON')
    .action(async (target: string, o: VerifyCliOptions) => {
      process.exitCode = await runVerify(target, o);
    });
}
