import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS, entryHash, readAuditFile, verifyAuditFile } from '../../agent/incidents/audit.js';

const dirs: string[] = [];
function file(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'audit-'));
  dirs.push(d);
  return path.join(d, 'audit.log');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function write(f: string, n: number): Promise<void> {
  let t = 1_000;
  const log = await AuditLog.open(f, () => t++);
  for (let i = 0; i < n; i++)
    await log.append('request-rejected', { requestId: `r${i}`, reason: 'bad-signature' });
  await log.close();
}

const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);

describe('audit log', () => {
  it('chains every entry to the one before and verifies', async () => {
    const f = file();
    await write(f, 5);
    const entries = await readAuditFile(f);
    expect(entries).toHaveLength(5);
    const [a, b] = entries as unknown as [
      { prev: string; hash: string; seq: number },
      { prev: string; seq: number },
    ];
    expect(a.prev).toBe(GENESIS);
    expect(b.prev).toBe(a.hash);
    expect(b.seq).toBe(2);
    expect(await verifyAuditFile(f)).toEqual({ ok: true, entries: 5 });
    // Reopening continues the chain.
    await write(f, 2);
    expect(await verifyAuditFile(f)).toEqual({ ok: true, entries: 7 });
  });

  it('names the edited line', async () => {
    const f = file();
    await write(f, 5);
    const l = lines(f);
    l[2] = l[2]!.replace('bad-signature', 'expired');
    writeFileSync(f, l.join('\n') + '\n');
    const r = await verifyAuditFile(f);
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ line: 3, seq: 3 });
    expect(r.problem?.reason).toMatch(/edited/);
    expect(r.entries).toBe(2);
  });

  it('names the line after a removed one, and a line whose hash was recomputed after an edit', async () => {
    const f = file();
    await write(f, 5);
    const l = lines(f);
    writeFileSync(f, [...l.slice(0, 2), ...l.slice(3)].join('\n') + '\n');
    expect((await verifyAuditFile(f)).problem).toMatchObject({ line: 3, seq: 4 });

    // An editor who recomputes the edited line's own hash still breaks the next line's link.
    const g = file();
    await write(g, 4);
    const m = lines(g);
    const e = JSON.parse(m[1]!) as {
      seq: number;
      at: number;
      event: string;
      data: Record<string, unknown>;
      prev: string;
      hash: string;
    };
    e.data['reason'] = 'expired';
    e.hash = entryHash(e);
    m[1] = JSON.stringify(e);
    writeFileSync(g, m.join('\n') + '\n');
    const r = await verifyAuditFile(g);
    expect(r.problem).toMatchObject({ line: 3, seq: 3 });
    expect(r.problem?.reason).toMatch(/does not chain to line 2/);
  });

  it('cuts a torn last line on open and records the repair in the log itself', async () => {
    const f = file();
    await write(f, 3);
    appendFileSync(f, '{"seq":4,"at":');
    expect((await verifyAuditFile(f)).problem).toMatchObject({
      line: 4,
      reason: expect.stringMatching(/torn/),
    });
    const log = await AuditLog.open(f, () => 5_000);
    await log.append('agent-started', {});
    await log.close();
    const entries = await readAuditFile(f);
    expect(entries.map((x) => ('event' in x ? x.event : 'raw'))).toEqual([
      'request-rejected',
      'request-rejected',
      'request-rejected',
      'audit-repaired',
      'agent-started',
    ]);
    expect(await verifyAuditFile(f)).toEqual({ ok: true, entries: 5 });
  });

  it('treats a missing log as an empty, intact one', async () => {
    expect(await verifyAuditFile(path.join(os.tmpdir(), 'no-such-audit.log'))).toEqual({
      ok: true,
      entries: 0,
    });
  });
});
