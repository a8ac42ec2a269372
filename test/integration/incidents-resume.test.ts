/**
 * Evidence survives the bad days: the agent runs in a child process with a tight retention
 * (footage older than 24 s is evicted) and a bandwidth cap. An incident arrives while the
 * bridge's HTTP side is unreachable, so its upload stays pending while retention works around
 * it: the neighbours of the window go, the pinned window stays. Then the bridge comes back, the
 * agent is killed (SIGKILL) in the middle of the upload, started again, and resumes from the
 * offset the bridge confirmed: the bridge ends with the same bytes, and the hold is released.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFootage } from '../../agent/recorder/index.js';
import { readAuditFile } from '../../agent/incidents/index.js';
import { eventually, type Json } from '../helpers/bridge-env.js';
import type { TestAgentConfig } from '../helpers/incident-agent.js';
import {
  SITE,
  placeCameras,
  startIncidentWorld,
  until,
  storedPackageDir,
  waitForTarget,
  type IncidentWorld,
} from '../helpers/incident-env.js';

const CHILD = fileURLToPath(new URL('../helpers/incident-agent-child.ts', import.meta.url));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let world: IncidentWorld;
let cfg: TestAgentConfig;
let cfgFile: string;
let child: ChildProcess | undefined;

function startChild(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, cfgFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on('line', (l) => {
      if (l === 'up') resolve(proc);
    });
    proc.once('exit', (code, signal) =>
      reject(new Error(`agent child exited (${code ?? signal}) before it was up: ${stderr}`)),
    );
  });
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', () => r()));
}

const recDir = () => path.join(cfg.dataDir, 'recordings');
const stateDir = () => path.join(cfg.dataDir, 'incidents');
const segmentFiles = async () =>
  new Map((await readFootage(recDir(), 'cam1')).segments.map((s) => [s.file, s.sha256]));

beforeAll(async () => {
  world = await startIncidentWorld();
  cfg = await world.agentConfig({
    name: 'resume',
    site: SITE,
    retention: { maxAgeMs: 24_000, minFreeBytes: 0 },
    upload: { bytesPerSecond: 300_000, parallel: 1 },
    limits: { settleMs: 30_000 },
    keepPackages: true,
  });
  cfgFile = path.join(world.tmp, 'resume-agent.json');
  writeFileSync(cfgFile, JSON.stringify(cfg));
  child = await startChild();
});

afterAll(async () => {
  if (child) {
    child.kill('SIGTERM');
    await exited(child);
  }
  await world?.cleanup();
});

describe('incidents: pending uploads under retention pressure, killed and resumed', () => {
  it('keeps pinned footage while retention evicts around it, and resumes after a kill -9 mid-upload', async () => {
    const footage = await eventually(
      async () => {
        const f = await readFootage(recDir(), 'cam1');
        return f.segments.length >= 5 ? f.segments : null;
      },
      '5 segments',
      180_000,
    );
    // The bridge's HTTP side goes away: the upload will wait, the footage must not.
    world.proxy.block();
    const [before, first, , last, after] = footage as [Json, Json, Json, Json, Json];
    const win = { from: first.start + 300, to: last.end - 300 };
    const inc = await world.fileIncident({
      caseNumber: 'DC-2026-0999',
      reason: 'hit and run',
      area: { kind: 'circle', center: placeCameras(SITE).cam1, radiusM: 20 },
      ...win,
    });
    await waitForTarget(
      world,
      inc.id,
      cfg.agentId,
      (t) => t.cameras.some((c: Json) => c.state === 'accepted' || c.state === 'uploading'),
      'accepted',
    );
    const holds = JSON.parse(readFileSync(path.join(recDir(), 'holds.json'), 'utf8')).holds as Json[];
    expect(holds.filter((h) => h.reason.includes(inc.id))).toHaveLength(1);

    // Retention at work: the unpinned neighbours of the window are evicted...
    await eventually(
      async () => {
        const now = await segmentFiles();
        return !now.has(before.file) && !now.has(after.file);
      },
      'retention evicting around the window',
      180_000,
    );
    // ...while every pinned segment of the window is still there, unchanged.
    const kept = await segmentFiles();
    for (const s of footage.slice(1, 4)) {
      expect(kept.get(s.file)).toBe(s.sha256);
      expect(sha(path.join(recDir(), 'cam1', s.file))).toBe(s.sha256);
    }

    // The bridge comes back; kill the agent for real halfway through the upload.
    const jobs = () =>
      JSON.parse(readFileSync(path.join(stateDir(), 'jobs.json'), 'utf8')).incidents as Json[];
    const bytesBefore = world.proxy.bytesUp;
    world.proxy.unblock();
    const size: number = await until(
      () => {
        const job = jobs().find((r) => r.incidentId === inc.id)?.cameras[0];
        return job?.package ? job.package.files[0].bytes : null;
      },
      'the package',
      120_000,
    );
    await until(() => world.proxy.bytesUp - bytesBefore >= size * 0.4, '40 % of the clip sent', 120_000);
    child!.kill('SIGKILL');
    await exited(child!);
    const sentBeforeKill = world.proxy.bytesUp - bytesBefore;
    expect(sentBeforeKill).toBeLessThan(size);

    child = await startChild();
    const view = await waitForTarget(
      world,
      inc.id,
      cfg.agentId,
      (t, v) => t.state === 'done' && v.evidence.length === 1,
      'verified after the restart',
      240_000,
    );
    expect(view.evidence[0]).toMatchObject({ cameraId: 'cam1', state: 'verified' });

    const dir = storedPackageDir(world, inc.id, cfg.agentId, 'cam1');
    const file = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).manifest.files[0];
    expect(file.bytes).toBe(size);
    expect(sha(path.join(dir, 'files', file.name))).toBe(
      sha(path.join(stateDir(), 'packages', inc.id, 'cam1', 'files', file.name)),
    );
    const audit = await readAuditFile(path.join(stateDir(), 'audit.log'));
    const resumed = audit.filter(
      (e) => 'event' in e && e.event === 'upload-resumed' && e.data['incidentId'] === inc.id,
    );
    expect(resumed.some((e) => 'data' in e && Number(e.data['confirmedOffset']) > 0)).toBe(true);
    // Confirmed bytes were not sent again: the clip once, plus the manifest, headers and at most
    // what was in flight at the kill.
    expect(world.proxy.bytesUp - bytesBefore).toBeLessThan(size + 256 * 1024);

    // The receipt released the hold; retention may take the footage again.
    await until(() => {
      const h = JSON.parse(readFileSync(path.join(recDir(), 'holds.json'), 'utf8')).holds as Json[];
      return !h.some((x) => x.reason.includes(inc.id));
    }, 'the hold released');
    await eventually(
      async () => !(await segmentFiles()).has(first.file),
      'the window evicted after release',
      120_000,
    );
  }, 600_000);
});
