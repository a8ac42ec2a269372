/**
 * A stand-in recorder for unit tests of the incidents service: every camera "holds" footage
 * for [recordedFrom, now), holds are kept in memory, and clip() writes a few bytes. With it the
 * gate, the policy, the state machine and the replies are tested without ffmpeg or a bridge.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { ClipResult, Coverage, Hold, RecorderStats } from '../../agent/recorder/index.js';
import type { IncidentRecorder } from '../../agent/incidents/index.js';
import type { Clock } from '../../lib/clock.js';

export class FakeRecorder implements IncidentRecorder {
  holds: Hold[] = [];
  clips = 0;
  /** Cameras with no footage at all. */
  empty = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly recordedFrom: number,
    private readonly cameras: readonly string[],
  ) {}

  coverage(camera: string, from: number, to: number): Coverage {
    const now = this.clock.now();
    const a = Math.max(from, this.recordedFrom);
    const b = Math.min(to, now);
    const covered = !this.empty.has(camera) && b > a ? [{ from: a, to: b }] : [];
    const gaps = covered.length
      ? a > from
        ? [{ from, to: a, cause: 'unknown' as const }]
        : []
      : [{ from, to, cause: 'unknown' as const }];
    return { camera, from, to, covered, gaps, ratio: covered.length ? (b - a) / (to - from) : 0 };
  }

  async clip(camera: string, from: number, to: number, out: string): Promise<ClipResult> {
    this.clips++;
    await writeFile(out, Buffer.from(`clip of ${camera} ${from}-${to}`));
    return {
      file: out,
      camera,
      start: from - 200,
      end: to + 300,
      bytes: 30,
      segments: [],
      complete: true,
      gaps: [],
    };
  }

  pin(camera: string, from: number, to: number, reason: string, until: number): Promise<Hold> {
    const hold = { id: randomUUID(), camera, from, to, reason, until, createdAt: this.clock.now() };
    this.holds.push(hold);
    return Promise.resolve(hold);
  }

  unpin(id: string): Promise<boolean> {
    const before = this.holds.length;
    this.holds = this.holds.filter((h) => h.id !== id);
    return Promise.resolve(this.holds.length !== before);
  }

  listHolds(): Hold[] {
    return this.holds.filter((h) => h.until > this.clock.now());
  }

  stats(): RecorderStats {
    const now = this.clock.now();
    return {
      bytes: 0,
      storageCritical: false,
      cameras: this.cameras.map((camera) => ({
        camera,
        state: 'recording' as const,
        bytes: 0,
        segments: 1,
        newest: now,
        restarts: 0,
      })),
    };
  }
}
