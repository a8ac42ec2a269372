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
import type { Hold, Segment } from './types.js';

export interface RetentionPolicy {
  maxBytes?: number;
  maxBytesPerCamera?: number;
  minFreeBytes?: number;
  maxAgeMs?: number;
}

export interface RetentionInput {
  now: number;
  /** Indexed segments of all cameras. */
  segments: readonly Segment[];
  holds: readonly Hold[];
  /** Per camera: bytes of segments being written now plus the expected next segment. */
  pendingBytes?: ReadonlyMap<string, number>;
  /** Free bytes on the volume now; undefined skips the free-space rule. */
  freeBytes?: number;
  policy: RetentionPolicy;
}

export interface RetentionDecision {
  evict: Segment[];
  critical: boolean;
  /** Why critical (one line per rule that pinned footage keeps from being met). */
  reasons: string[];
  pinnedBytes: number;
}

export function activeHolds(holds: readonly Hold[], now: number): Hold[] {
  return holds.filter((h) => h.until > now);
}

export function isPinned(seg: Pick<Segment, 'camera' | 'start' | 'end'>, holds: readonly Hold[], now: number): boolean {
  return holds.some((h) => h.until > now && h.camera === seg.camera && h.from < seg.end && h.to > seg.start);
}

export function decideRetention(input: RetentionInput): RetentionDecision {
  const { now, policy } = input;
  const holds = activeHolds(input.holds, now);
  const all = [...input.segments].sort((a, b) => a.start - b.start || a.camera.localeCompare(b.camera));
  const pinned = new Set(all.filter((s) => isPinned(s, holds, now)));
  const evicted = new Set<Segment>();
  const reasons: string[] = [];
  const pending = (cam?: string): number => {
    if (!input.pendingBytes) return 0;
    if (cam !== undefined) return input.pendingBytes.get(cam) ?? 0;
    let sum = 0;
    for (const v of input.pendingBytes.values()) sum += v;
    return sum;
  };
  // Running totals keep every rule O(n): 30 days x 16 cameras is ~700k segments.
  const camBytes = new Map<string, number>();
  let liveBytes = 0;
  let evictedBytes = 0;
  for (const s of all) {
    camBytes.set(s.camera, (camBytes.get(s.camera) ?? 0) + s.bytes);
    liveBytes += s.bytes;
  }
  const evict = (s: Segment) => {
    if (evicted.has(s)) return;
    evicted.add(s);
    camBytes.set(s.camera, (camBytes.get(s.camera) ?? 0) - s.bytes);
    liveBytes -= s.bytes;
    evictedBytes += s.bytes;
  };
  let pinnedBytes = 0;
  for (const s of pinned) pinnedBytes += s.bytes;

  // 1. age
  if (policy.maxAgeMs !== undefined) {
    for (const s of all) if (now - s.end > policy.maxAgeMs && !pinned.has(s)) evict(s);
  }

  /** Evict oldest unpinned from `list` until `over()` is false; returns false if pins prevent it. */
  const trim = (list: readonly Segment[], over: () => boolean): boolean => {
    if (!over()) return true;
    for (const s of list) {
      if (!over()) return true;
      if (!evicted.has(s) && !pinned.has(s)) evict(s);
    }
    return !over();
  };

  // 2. per-camera quota
  if (policy.maxBytesPerCamera !== undefined) {
    const byCamera = new Map<string, Segment[]>();
    for (const s of all) {
      const list = byCamera.get(s.camera);
      if (list) list.push(s);
      else byCamera.set(s.camera, [s]);
    }
    const cams = [...new Set([...all.map((s) => s.camera), ...(input.pendingBytes?.keys() ?? [])])].sort();
    for (const cam of cams) {
      const mine = byCamera.get(cam) ?? [];
      const limit = policy.maxBytesPerCamera;
      if (!trim(mine, () => (camBytes.get(cam) ?? 0) + pending(cam) > limit)) {
        reasons.push(`camera ${cam}: held footage fills its quota of ${limit} bytes`);
      }
    }
  }

  // 3. agent quota
  if (policy.maxBytes !== undefined) {
    const limit = policy.maxBytes;
    const pendingAll = pending();
    if (!trim(all, () => liveBytes + pendingAll > limit)) {
      reasons.push(`held footage fills the quota of ${limit} bytes`);
    }
  }

  // 4. free space on the volume
  if (policy.minFreeBytes !== undefined && input.freeBytes !== undefined) {
    const min = policy.minFreeBytes;
    const free0 = input.freeBytes;
    const pendingAll = pending();
    const freeAfter = () => free0 + evictedBytes - pendingAll;
    if (!trim(all, () => freeAfter() < min)) {
      reasons.push(`held footage keeps free space below the reserve of ${min} bytes`);
    }
  }

  return {
    evict: all.filter((s) => evicted.has(s)),
    critical: reasons.length > 0,
    reasons,
    pinnedBytes,
  };
}
