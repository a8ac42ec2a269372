/**
 * Retention as a pure decision: given what is on disk, the holds and the
 * policy, which segments to evict. No I/O, no clock: the recorder passes
 * `now`, sizes and free space in, and carries out the evictions itself.
 *
 * Rules, in order, always oldest first (by start):
 *  1. age: unpinned segments that ended more than maxAgeMs ago;
 *  2. per-camera quota: a camera's indexed bytes + what it is writing + its
 *     reserve (one segment ahead) must fit maxBytesPerCamera;
 *  3. agent quota: the same over all cameras against maxBytes;
 *  4. free space: free bytes on the volume (after the evictions above, less
 *     the reserve about to be written) must stay >= minFreeBytes.
 * A pinned segment (any active hold overlapping it) is never evicted. When
 * pinned footage alone keeps a rule from being met, the decision says
 * `critical`: the recorder keeps recording into the free-space reserve and
 * reports "storage critical" rather than deleting evidence.
 */
import { overlapping } from './timeline.js';
import type { Hold, Segment } from './types.js';

export interface RetentionPolicy {
  maxBytes?: number;
  maxBytesPerCamera?: number;
  minFreeBytes?: number;
  maxAgeMs?: number;
}

export interface RetentionInput {
  now: number;
  /**
   * Indexed segments of all cameras: a flat list, or per camera already
   * sorted by start (what the recorder keeps, so no pass re-sorts ~700k rows).
   */
  segments: readonly Segment[] | ReadonlyMap<string, readonly Segment[]>;
  holds: readonly Hold[];
  /** Per camera: bytes of segments being written now plus the expected next segment. */
  pendingBytes?: ReadonlyMap<string, number>;
  /** Free bytes on the volume now; undefined skips the free-space rule. */
  freeBytes?: number;
  policy: RetentionPolicy;
}

export interface RetentionDecision {
  /** Segments to delete, oldest first. */
  evict: Segment[];
  critical: boolean;
  /** Why critical (one line per rule that pinned footage keeps from being met). */
  reasons: string[];
  pinnedBytes: number;
}

export function activeHolds(holds: readonly Hold[], now: number): Hold[] {
  return holds.filter((h) => h.until > now);
}

export function isPinned(
  seg: Pick<Segment, 'camera' | 'start' | 'end'>,
  holds: readonly Hold[],
  now: number,
): boolean {
  return holds.some((h) => h.until > now && h.camera === seg.camera && h.from < seg.end && h.to > seg.start);
}

function byCamera(segments: RetentionInput['segments']): ReadonlyMap<string, readonly Segment[]> {
  if (!Array.isArray(segments)) return segments as ReadonlyMap<string, readonly Segment[]>;
  const map = new Map<string, Segment[]>();
  for (const s of segments as readonly Segment[]) {
    const list = map.get(s.camera);
    if (list) list.push(s);
    else map.set(s.camera, [s]);
  }
  for (const list of map.values()) list.sort((a, b) => a.start - b.start);
  return map;
}

/**
 * Cost per pass: O(n) to total the bytes, then only the segments actually
 * visited (oldest first across cameras by a k-way walk), so a full ring
 * buffer evicting one segment a minute does not sort 700k rows every time.
 */
export function decideRetention(input: RetentionInput): RetentionDecision {
  const { now, policy } = input;
  const holds = activeHolds(input.holds, now);
  const cams = byCamera(input.segments);
  const names = [...cams.keys()].sort();

  const pinned = new Set<Segment>();
  for (const h of holds) for (const s of overlapping(cams.get(h.camera) ?? [], h.from, h.to)) pinned.add(s);
  let pinnedBytes = 0;
  for (const s of pinned) pinnedBytes += s.bytes;

  const camBytes = new Map<string, number>();
  let liveBytes = 0;
  for (const [cam, list] of cams) {
    let sum = 0;
    for (const s of list) sum += s.bytes;
    camBytes.set(cam, sum);
    liveBytes += sum;
  }
  const pendingOf = (cam: string) => input.pendingBytes?.get(cam) ?? 0;
  let pendingAll = 0;
  for (const v of input.pendingBytes?.values() ?? []) pendingAll += v;

  const evicted = new Set<Segment>();
  let evictedBytes = 0;
  const evict = (s: Segment) => {
    if (evicted.has(s) || pinned.has(s)) return;
    evicted.add(s);
    camBytes.set(s.camera, (camBytes.get(s.camera) ?? 0) - s.bytes);
    liveBytes -= s.bytes;
    evictedBytes += s.bytes;
  };
  const reasons: string[] = [];

  // 1. age: a segment that starts after the cutoff cannot have ended before it.
  if (policy.maxAgeMs !== undefined) {
    const cutoff = now - policy.maxAgeMs;
    for (const list of cams.values()) {
      for (let i = 0; i < list.length && list[i]!.start < cutoff; i++)
        if (list[i]!.end < cutoff) evict(list[i]!);
    }
  }

  // 2. per-camera quota
  if (policy.maxBytesPerCamera !== undefined) {
    const limit = policy.maxBytesPerCamera;
    for (const cam of new Set([...names, ...(input.pendingBytes?.keys() ?? [])])) {
      const over = () => (camBytes.get(cam) ?? 0) + pendingOf(cam) > limit;
      const list = cams.get(cam) ?? [];
      for (let i = 0; i < list.length && over(); i++) evict(list[i]!);
      if (over()) reasons.push(`camera ${cam}: held footage fills its quota of ${limit} bytes`);
    }
  }

  /** Evict oldest-first across all cameras while `over()`; false if pins prevent it. */
  const trimAll = (over: () => boolean): boolean => {
    const idx = new Map(names.map((n) => [n, 0]));
    while (over()) {
      let best: Segment | undefined;
      let bestCam = '';
      for (const n of names) {
        const list = cams.get(n)!;
        let i = idx.get(n)!;
        while (i < list.length && (evicted.has(list[i]!) || pinned.has(list[i]!))) i++;
        idx.set(n, i);
        const s = list[i];
        if (s && (!best || s.start < best.start)) {
          best = s;
          bestCam = n;
        }
      }
      if (!best) return false;
      evict(best);
      idx.set(bestCam, idx.get(bestCam)! + 1);
    }
    return true;
  };

  // 3. agent quota
  if (policy.maxBytes !== undefined) {
    const limit = policy.maxBytes;
    if (!trimAll(() => liveBytes + pendingAll > limit))
      reasons.push(`held footage fills the quota of ${limit} bytes`);
  }

  // 4. free space on the volume, crediting what this pass already frees
  if (policy.minFreeBytes !== undefined && input.freeBytes !== undefined) {
    const min = policy.minFreeBytes;
    const free0 = input.freeBytes;
    if (!trimAll(() => free0 + evictedBytes - pendingAll < min)) {
      reasons.push(`held footage keeps free space below the reserve of ${min} bytes`);
    }
  }

  return {
    evict: [...evicted].sort((a, b) => a.start - b.start || a.camera.localeCompare(b.camera)),
    critical: reasons.length > 0,
    reasons,
    pinnedBytes,
  };
}
