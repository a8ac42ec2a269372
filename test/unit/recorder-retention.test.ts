import { describe, expect, it } from 'vitest';
import { decideRetention, isPinned } from '../../agent/recorder/retention.js';
import type { Hold, Segment } from '../../agent/recorder/types.js';

const MIN = 60_000;
function seg(camera: string, i: number, bytes = 100): Segment {
  return {
    camera,
    file: `${camera}-${i}.ts`,
    start: i * MIN,
    end: (i + 1) * MIN,
    bytes,
    sha256: 'x',
    keyframe: true,
    audio: false,
  };
}
function hold(camera: string, from: number, to: number, until = Infinity): Hold {
  return { id: `${camera}-${from}`, camera, from, to, reason: 'incident', until, createdAt: 0 };
}
const files = (segs: Segment[]) => segs.map((s) => s.file);

describe('recorder retention (pure)', () => {
  it('evicts oldest first to fit the agent quota, counting the segment being written', () => {
    const segs = [
      ...Array.from({ length: 10 }, (_, i) => seg('a', i)),
      ...Array.from({ length: 10 }, (_, i) => seg('b', i)),
    ];
    const d = decideRetention({
      now: 20 * MIN,
      segments: segs,
      holds: [],
      pendingBytes: new Map([
        ['a', 100],
        ['b', 100],
      ]),
      policy: { maxBytes: 1200 },
    });
    // 2000 indexed + 200 pending must drop to <= 1200: ten oldest (by start, a/b interleaved) go.
    expect(d.evict).toHaveLength(10);
    expect(Math.max(...d.evict.map((s) => s.start))).toBeLessThan(
      Math.min(...segs.filter((s) => !d.evict.includes(s)).map((s) => s.start)) + 1,
    );
    expect(d.critical).toBe(false);
  });

  it('applies the per-camera quota to each camera separately', () => {
    const segs = [
      ...Array.from({ length: 5 }, (_, i) => seg('a', i)),
      ...Array.from({ length: 2 }, (_, i) => seg('b', i)),
    ];
    const d = decideRetention({
      now: 10 * MIN,
      segments: segs,
      holds: [],
      policy: { maxBytesPerCamera: 300 },
    });
    expect(files(d.evict)).toEqual(['a-0.ts', 'a-1.ts']);
  });

  it('evicts by age but never a pinned segment', () => {
    const segs = Array.from({ length: 5 }, (_, i) => seg('a', i));
    const d = decideRetention({
      now: 10 * MIN,
      segments: segs,
      holds: [hold('a', 1.5 * MIN, 1.6 * MIN)],
      policy: { maxAgeMs: 6 * MIN },
    });
    // segments ending more than 6 min before 10 min: ends at 1,2,3 min; a-1 is pinned.
    expect(files(d.evict)).toEqual(['a-0.ts', 'a-2.ts']);
  });

  it('keeps free space above the reserve, crediting what it evicts', () => {
    const segs = Array.from({ length: 6 }, (_, i) => seg('a', i));
    const d = decideRetention({
      now: 10 * MIN,
      segments: segs,
      holds: [],
      freeBytes: 50,
      pendingBytes: new Map([['a', 100]]),
      policy: { minFreeBytes: 200 },
    });
    // need 50 + evicted - 100 >= 200 -> evicted >= 250 -> three segments.
    expect(files(d.evict)).toEqual(['a-0.ts', 'a-1.ts', 'a-2.ts']);
  });

  it('reports critical, and evicts nothing pinned, when holds alone fill the quota', () => {
    const segs = Array.from({ length: 4 }, (_, i) => seg('a', i));
    const d = decideRetention({
      now: 10 * MIN,
      segments: segs,
      holds: [hold('a', 0, 3 * MIN)],
      policy: { maxBytes: 200 },
    });
    expect(files(d.evict)).toEqual(['a-3.ts']);
    expect(d.critical).toBe(true);
    expect(d.reasons.join()).toMatch(/quota/);
    expect(d.pinnedBytes).toBe(300);
  });

  it('ignores lapsed holds and holds of other cameras', () => {
    const s = seg('a', 1);
    expect(isPinned(s, [hold('a', 0, 10 * MIN, 5 * MIN)], 6 * MIN)).toBe(false);
    expect(isPinned(s, [hold('b', 0, 10 * MIN)], 6 * MIN)).toBe(false);
    expect(isPinned(s, [hold('a', 1.99 * MIN, 3 * MIN)], 6 * MIN)).toBe(true);
    expect(isPinned(s, [hold('a', 2 * MIN, 3 * MIN)], 6 * MIN)).toBe(false); // touching is not overlapping
  });

  it('does nothing when within every limit', () => {
    const segs = Array.from({ length: 3 }, (_, i) => seg('a', i));
    const d = decideRetention({
      now: 4 * MIN,
      segments: segs,
      holds: [],
      freeBytes: 1e9,
      policy: { maxBytes: 1e6, maxBytesPerCamera: 1e6, minFreeBytes: 1e6, maxAgeMs: 1e9 },
    });
    expect(d.evict).toEqual([]);
    expect(d.critical).toBe(false);
  });

  it('walks oldest-first across cameras given per-camera sorted lists (30 days x 16 cameras)', () => {
    const cams = new Map<string, Segment[]>();
    for (let c = 0; c < 16; c++)
      cams.set(
        `c${c}`,
        Array.from({ length: 43_200 }, (_, i) => ({
          ...seg(`c${c}`, i),
          start: i * MIN + c,
          end: (i + 1) * MIN + c,
        })),
      );
    const total = 16 * 43_200 * 100;
    const d = decideRetention({
      now: 43_200 * MIN,
      segments: cams,
      holds: [hold('c0', 0, MIN)],
      policy: { maxBytes: total - 150 },
    });
    // c0's first segment is pinned: the two oldest unpinned are c1's and c2's first.
    expect(files(d.evict)).toEqual(['c1-0.ts', 'c2-0.ts']);
    expect(d.pinnedBytes).toBe(100);
  });
});
