/**
 * The owner's approvals, for cameras whose policy is `approve`.
 *
 * Approval is given on the appliance only, never over MQTT (protocol/schemas/requests.ts): the
 * `approve` policy exists to hold the requester to the owner's decision. The running agent owns
 * jobs.json, so `camconnect agent approvals approve|decline` does not write it: it drops a
 * decision file into `<stateDir>/decisions/` (atomic: temp file, fsync, rename) and the agent
 * applies, audits and deletes it (it polls the folder; a decision made while the agent is
 * stopped is applied when it starts). Whoever can write the agent's data folder is the owner
 * here, which is the same trust as editing its configuration.
 *
 * Listing reads jobs.json (written atomically by the agent, so a reader never sees half of it).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ensureDir, errnoCode, readDoc, writeFileDurable } from './durable-doc.js';
import { FINAL_STATES, JOBS_FILE, JobsDoc, type IncidentRecord } from './jobs.js';

export const DECISIONS_DIR = 'decisions';

export const Decision = z.strictObject({
  v: z.literal(1),
  incidentId: z.uuid(),
  /** One camera, or every camera of the incident that awaits approval. */
  cameraId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .nullable(),
  decision: z.enum(['approve', 'decline']),
  /** Who decided (local user name), for the audit log. */
  by: z.string().max(128),
  at: z.number(),
});
export type Decision = z.infer<typeof Decision>;

export interface PendingApproval {
  incidentId: string;
  caseNumber: string;
  reason: string;
  issuer: string;
  area: IncidentRecord['signed']['request']['area'];
  from: number;
  to: number;
  receivedAt: number;
  /** Hold expiry: without a decision by then, the request counts as declined. */
  decideBy: number | undefined;
  cameras: { cameraId: string; covered: { from: number; to: number } | null; gaps: number }[];
}

/** Cameras awaiting the owner, grouped by incident (oldest first). */
export function pendingApprovals(records: readonly IncidentRecord[]): PendingApproval[] {
  const out: PendingApproval[] = [];
  for (const r of [...records].sort((a, b) => a.receivedAt - b.receivedAt)) {
    const waiting = r.cameras.filter((c) => c.approval === 'pending' && !FINAL_STATES.has(c.state));
    if (waiting.length === 0) continue;
    const q = r.signed.request;
    const holds = waiting.map((c) => c.hold?.until).filter((u): u is number => u !== undefined);
    out.push({
      incidentId: r.incidentId,
      caseNumber: q.caseNumber,
      reason: q.reason,
      issuer: q.issuer,
      area: q.area,
      from: q.from,
      to: q.to,
      receivedAt: r.receivedAt,
      decideBy: holds.length > 0 ? Math.min(...holds) : undefined,
      cameras: waiting.map((c) => ({
        cameraId: c.cameraId,
        covered: c.coverage?.covered ?? null,
        gaps: c.coverage?.gaps.length ?? 0,
      })),
    });
  }
  return out;
}

/** Reads the agent's jobs (for the CLI); an agent that never ran has none. */
export async function readRecords(stateDir: string): Promise<IncidentRecord[]> {
  const doc = await readDoc(path.join(stateDir, JOBS_FILE), JobsDoc);
  return doc?.incidents ?? [];
}

export function localUser(): string {
  try {
    return os.userInfo().username || `uid ${process.getuid?.() ?? '?'}`;
  } catch (err) {
    // No passwd entry (a container's arbitrary uid): name the uid instead.
    return `uid ${process.getuid?.() ?? '?'} (${(err as Error).message})`.slice(0, 128);
  }
}

/** Drops a decision for the agent to apply; returns the file written. */
export async function submitDecision(stateDir: string, d: Omit<Decision, 'v'>): Promise<string> {
  const dir = path.join(stateDir, DECISIONS_DIR);
  await ensureDir(dir);
  const decision = Decision.parse({ v: 1, ...d });
  const file = path.join(dir, `${decision.at}-${randomBytes(4).toString('hex')}.json`);
  await writeFileDurable(file, JSON.stringify(decision) + '\n');
  return file;
}

/** Decision files waiting, oldest first. */
export async function decisionFiles(stateDir: string): Promise<string[]> {
  try {
    const names = await fsp.readdir(path.join(stateDir, DECISIONS_DIR));
    return names
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort()
      .map((n) => path.join(stateDir, DECISIONS_DIR, n));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Reads one decision file; null (and the file is set aside) when it is not a decision. */
export async function readDecision(file: string): Promise<Decision | null> {
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    json = { error: (err as Error).message };
  }
  const parsed = Decision.safeParse(json);
  if (parsed.success) return parsed.data;
  await fsp.rename(file, `${file}.invalid`);
  return null;
}
