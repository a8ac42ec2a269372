import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { foldJournal, JournalWriter, loadJournal, segLine } from '../../agent/recorder/journal.js';
import { isHourPath, segmentRelPath, startFromRelPath } from '../../agent/recorder/paths.js';
import { coverage, overlapping } from '../../agent/recorder/timeline.js';
import type { Segment } from '../../agent/recorder/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rec-journal-'));
  dirs.push(d);
  return d;
}
const S = 1000;
function seg(i: number, len = 10 * S, at = 1_700_000_000_000): Segment {
  const start = at + i * len;
  return {
    camera: 'c',
    file: segmentRelPath(start),
    start,
    end: start + len,
    bytes: 10,
    sha256: 'a'.repeat(64),
    keyframe: true,
    audio: false,
  };
}

describe('recorder paths', () => {
  it('names segments by UTC start inside hour folders, and reads the start back', () => {
    const t = Date.UTC(2025, 0, 31, 23, 59, 58, 7);
    const rel = segmentRelPath(t);
    expect(rel).toBe('2025/01/31/23/20250131T235958.007Z.ts');
    expect(isHourPath(rel)).toBe(true);
    expect(startFromRelPath(rel)).toBe(t);
    expect(startFromRelPath(segmentRelPath(t, '-1'))).toBe(t);
    expect(startFromRelPath('incoming/x-000001.ts')).toBeUndefined();
  });
});

describe('recorder journal', () => {
  it('appends fsynced lines and folds them (del and quarantine remove, later seg wins)', async () => {
    const file = path.join(tmp(), 'journal.jsonl');
    const w = new JournalWriter(file);
    await w.open();
    await w.append({ v: 1, t: 'start', at: 1 }, segLine(seg(0)), segLine(seg(1)), segLine(seg(2)));
    await w.append(
      { v: 1, t: 'del', file: seg(0).file, reason: 'retention' },
      { v: 1, t: 'gap', from: 5, to: 6, cause: 'stalled' },
    );
    await w.close();
    const loaded = await loadJournal(file);
    expect(loaded.state).toBe('ok');
    const f = foldJournal('c', loaded.lines);
    expect([...f.segments.keys()]).toEqual([seg(1).file, seg(2).file]);
    expect(f.gaps).toEqual([{ from: 5, to: 6, cause: 'stalled' }]);
    expect(f.crashed).toBe(true); // a start with no stop: the agent died
  });

  it('treats a torn last line as a crash mid-append and cuts it off on open', async () => {
    const file = path.join(tmp(), 'journal.jsonl');
    writeFileSync(file, JSON.stringify(segLine(seg(0))) + '\n' + '{"v":1,"t":"seg","fi');
    const loaded = await loadJournal(file);
    expect(loaded.state).toBe('ok');
    expect(loaded.tornTail).toBe(true);
    expect(loaded.lines).toHaveLength(1);
    const w = new JournalWriter(file);
    await w.open(loaded.goodBytes);
    await w.append({ v: 1, t: 'stop', at: 2 });
    await w.close();
    const again = await loadJournal(file);
    expect(again.tornTail).toBe(false);
    expect(again.lines.map((l) => l.t)).toEqual(['seg', 'stop']);
    expect(foldJournal('c', again.lines).cleanStopAt).toBe(2);
  });

  it('reports damage before the last line (so the recorder rebuilds instead of guessing)', async () => {
    const file = path.join(tmp(), 'journal.jsonl');
    writeFileSync(
      file,
      [JSON.stringify(segLine(seg(0))), 'not json', JSON.stringify(segLine(seg(1)))].join('\n') + '\n',
    );
    const loaded = await loadJournal(file);
    expect(loaded.state).toBe('damaged');
    expect(loaded.damagedLine).toBe(2);
    expect(readFileSync(file, 'utf8')).toContain('not json'); // loading never rewrites
  });

  it('reports a missing journal as missing', async () => {
    expect((await loadJournal(path.join(tmp(), 'nope.jsonl'))).state).toBe('missing');
  });
});

describe('recorder timeline', () => {
  const segs = [seg(0), seg(1), seg(2), seg(5), seg(6)]; // hole between 3*10s and 5*10s
  const at = segs[0]!.start;

  it('finds segments overlapping a window', () => {
    expect(overlapping(segs, at + 15 * S, at + 25 * S).map((s) => s.start)).toEqual([
      at + 10 * S,
      at + 20 * S,
    ]);
    expect(overlapping(segs, at + 35 * S, at + 45 * S)).toEqual([]);
    expect(overlapping(segs, at - 5 * S, at + 1)).toHaveLength(1);
  });

  it('reports covered spans and gaps with the journaled cause', () => {
    const c = coverage('c', segs, at, at + 70 * S, {
      gaps: [{ from: at + 30 * S, to: at + 50 * S, cause: 'camera-unreachable' }],
      now: at + 100 * S,
    });
    expect(c.covered).toEqual([
      { from: at, to: at + 30 * S },
      { from: at + 50 * S, to: at + 70 * S },
    ]);
    expect(c.gaps).toEqual([{ from: at + 30 * S, to: at + 50 * S, cause: 'camera-unreachable' }]);
    expect(c.ratio).toBeCloseTo(50 / 70);
  });

  it('reports the gap still open (camera down now) and does not call the future a gap', () => {
    const c = coverage('c', segs, at + 60 * S, at + 200 * S, {
      gaps: [],
      open: { from: at + 70 * S, cause: 'auth-failed' },
      now: at + 90 * S,
    });
    expect(c.gaps).toEqual([{ from: at + 70 * S, to: at + 90 * S, cause: 'auth-failed' }]);
  });
});
