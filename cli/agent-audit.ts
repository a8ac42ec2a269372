/**
 * `camconnect agent audit [--verify]`: the owner reads the agent's hash-chained audit log
 * (agent/incidents/audit.ts): every request, accepted or rejected and why, every decision,
 * hold, package, upload and receipt. `--verify` checks the chain and names the first line
 * that breaks it; exit 0 only when it is intact.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  AUDIT_FILE,
  incidentsStateDir,
  readAuditFile,
  verifyAuditFile,
  type AuditEntry,
} from '../agent/incidents/index.js';
import { parseIntOption } from './util.js';

const DEFAULT_DATA_DIR = 'camconnect-agent-data';

interface AuditOptions {
  dataDir: string;
  verify?: boolean;
  json?: boolean;
  incident?: string;
  tail?: number;
}

function line(e: AuditEntry): string {
  const data = Object.entries(e.data)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `#${e.seq} ${new Date(e.at).toISOString()} ${e.event} ${data}`.trimEnd();
}

export async function runAudit(o: AuditOptions): Promise<number> {
  const file = path.join(incidentsStateDir(path.resolve(o.dataDir)), AUDIT_FILE);
  if (o.verify) {
    if (!existsSync(file)) {
      // The agent writes an entry on every start, so no log means it never ran here, or the
      // whole log was removed: absence proves nothing, so it is not reported as intact.
      process.stdout.write(
        `no audit log at ${file} (wrong --data-dir, the agent never ran, or the log was removed)\n`,
      );
      return 1;
    }
    const r = await verifyAuditFile(file);
    if (o.json) process.stdout.write(JSON.stringify({ file, ...r }, null, 2) + '\n');
    else if (r.ok) process.stdout.write(`audit chain intact: ${r.entries} entries in ${file}\n`);
    else {
      const p = r.problem;
      const where = p
        ? `line ${p.line}${p.seq !== undefined ? ` (entry #${p.seq})` : ''}`
        : 'an unknown line';
      process.stdout.write(
        `audit chain BROKEN at ${where}: ${p?.reason ?? 'unknown'}\n${r.entries} entries before it are intact (${file})\n`,
      );
    }
    return r.ok ? 0 : 1;
  }
  let entries = await readAuditFile(file);
  if (o.incident) {
    entries = entries.filter(
      (e) =>
        'raw' in e ||
        e.data['incidentId'] === o.incident ||
        (e.data['claimed'] as { incidentId?: string } | undefined)?.incidentId === o.incident,
    );
  }
  if (o.tail !== undefined) entries = entries.slice(-o.tail);
  for (const e of entries) {
    if ('raw' in e)
      process.stdout.write(
        `?? line ${e.line} is not a readable entry (run --verify): ${e.raw.slice(0, 200)}\n`,
      );
    else process.stdout.write((o.json ? JSON.stringify(e) : line(e)) + '\n');
  }
  if (entries.length === 0 && !o.json) process.stdout.write(`no audit entries (${file})\n`);
  return 0;
}

export function registerAuditCommand(agent: Command): void {
  agent
    .command('audit')
    .description(
      'print the audit log of incident requests, decisions, holds and uploads; --verify checks its hash chain',
    )
    .option('--data-dir <dir>', 'agent data folder', DEFAULT_DATA_DIR)
    .option('--verify', 'check the hash chain (exit 1 and name the first broken line)')
    .option('--incident <id>', 'only entries about this incident')
    .option('--tail <n>', 'only the last n entries', parseIntOption('--tail'))
    .option('--json', 'JSON lines (with --verify: one JSON report)')
    .action(async (o: AuditOptions) => {
      process.exitCode = await runAudit(o);
    });
}
