/**
 * `camconnect agent approvals [list|approve|decline]`: the owner's side of the `approve`
 * policy. Listing reads the agent's jobs; a decision is handed to the running agent through
 * its decisions folder (agent/incidents/approvals.ts) and applied, audited, within a second.
 * Works while the agent is stopped too: the decision is applied when it starts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  incidentsStateDir,
  localUser,
  pendingApprovals,
  readRecords,
  submitDecision,
  type PendingApproval,
} from '../agent/incidents/index.js';
import { cameraState } from '../agent/incidents/replies.js';
import { UsageError, parseIntOption } from './util.js';

/** The agent's data folder default (provisioning/agent-state.ts DEFAULT_AGENT_DATA_DIR). */
const DEFAULT_DATA_DIR = 'camconnect-agent-data';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function describeArea(a: PendingApproval['area']): string {
  if (a.kind === 'circle')
    return `circle of ${Math.round(a.radiusM)} m around ${a.center.lat.toFixed(5)},${a.center.lon.toFixed(5)}`;
  return `polygon of ${a.points.length} points`;
}

function printPending(list: PendingApproval[]): void {
  if (list.length === 0) {
    process.stdout.write('nothing awaits your approval\n');
    return;
  }
  for (const p of list) {
    const minutes = Math.round((p.to - p.from) / 60_000);
    process.stdout.write(
      [
        `incident ${p.incidentId}  case ${p.caseNumber}`,
        `  requested by: ${p.issuer}`,
        `  reason: ${p.reason}`,
        `  window: ${iso(p.from)} to ${iso(p.to)} (${minutes} min), area: ${describeArea(p.area)}`,
        `  received ${iso(p.receivedAt)}${p.decideBy ? `; decide before ${iso(p.decideBy)} (no decision counts as declined)` : ''}`,
        ...p.cameras.map(
          (c) =>
            `  camera ${c.cameraId}: ${c.covered ? `footage ${iso(c.covered.from)} to ${iso(c.covered.to)}, ${c.gaps} gap(s)` : 'no footage in the window'}`,
        ),
        '',
      ].join('\n'),
    );
  }
  process.stdout.write(
    'approve: camconnect agent approvals approve INCIDENT [--camera ID]; decline: ... decline INCIDENT\n',
  );
}

interface CommonOptions {
  dataDir: string;
  json?: boolean;
}

async function list(o: CommonOptions): Promise<void> {
  const pending = pendingApprovals(await readRecords(incidentsStateDir(path.resolve(o.dataDir))));
  if (o.json) process.stdout.write(JSON.stringify(pending, null, 2) + '\n');
  else printPending(pending);
}

async function decideCmd(
  decision: 'approve' | 'decline',
  incidentId: string,
  o: CommonOptions & { camera?: string; wait: number },
): Promise<void> {
  const stateDir = incidentsStateDir(path.resolve(o.dataDir));
  const pending = pendingApprovals(await readRecords(stateDir)).find((p) => p.incidentId === incidentId);
  if (!pending)
    throw new UsageError(
      `nothing of incident ${incidentId} awaits approval (see: camconnect agent approvals)`,
    );
  if (o.camera && !pending.cameras.some((c) => c.cameraId === o.camera)) {
    throw new UsageError(
      `camera ${o.camera} of incident ${incidentId} does not await approval (waiting: ${pending.cameras.map((c) => c.cameraId).join(', ')})`,
    );
  }
  const file = await submitDecision(stateDir, {
    incidentId,
    cameraId: o.camera ?? null,
    decision,
    by: localUser(),
    at: Date.now(),
  });
  const until = Date.now() + o.wait;
  while (existsSync(file) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(file)) {
    process.stdout.write(
      `${decision} recorded; the agent applies it when it runs (it does not seem to be running now)\n`,
    );
    return;
  }
  const record = (await readRecords(stateDir)).find((r) => r.incidentId === incidentId);
  const cams = record?.cameras.filter((c) => !o.camera || c.cameraId === o.camera) ?? [];
  process.stdout.write(`${decision === 'approve' ? 'approved' : 'declined'}: incident ${incidentId}\n`);
  for (const c of cams) process.stdout.write(`  camera ${c.cameraId}: ${cameraState(c).state}\n`);
}

export function registerApprovalsCommand(agent: Command): void {
  const dataDir = ['--data-dir <dir>', 'agent data folder', DEFAULT_DATA_DIR] as const;
  const approvals = agent
    .command('approvals')
    .description('list, approve and decline incident requests that wait for the owner (policy "approve")');
  approvals
    .command('list', { isDefault: true })
    .description('list requests awaiting your decision')
    .option(...dataDir)
    .option('--json', 'print as JSON')
    .action((o: CommonOptions) => list(o));
  for (const decision of ['approve', 'decline'] as const) {
    approvals
      .command(decision)
      .argument('<incident>', 'incident id (from the list)')
      .description(
        decision === 'approve'
          ? 'let the footage be uploaded to the RTCC'
          : 'refuse: the RTCC is told only "declined"',
      )
      .option(...dataDir)
      .option('--camera <id>', 'only this camera (default: every waiting camera of the incident)')
      .option(
        '--wait <ms>',
        'how long to wait for the running agent to apply it',
        parseIntOption('--wait'),
        5_000,
      )
      .action((incident: string, o: CommonOptions & { camera?: string; wait: number }) =>
        decideCmd(decision, incident, o),
      );
  }
}
