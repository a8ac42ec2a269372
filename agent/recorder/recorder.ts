/**
 * The recorder service: one supervised ffmpeg per camera, retention with
 * holds, and the queries the rest of the agent uses (segments, coverage,
 * clip, stats, pin/unpin). Constructing it does no I/O; start() takes the
 * folder's lock, loads holds and starts every camera.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { ffmpegPath } from '../../lib/ffmpeg.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { redactText } from '../../lib/redact.js';
import type { BackoffOptions } from './backoff.js';
import { CameraRecorder, type CameraConfig } from './camera.js';
import { cutClip, type ClipResult } from './clip.js';
import { errnoCode, mkdirDurable } from './fsutil.js';
import { HoldStore } from './holds.js';
import { decideRetention, type RetentionPolicy } from './retention.js';
import { coverage, overlapping } from './timeline.js';
import type { CameraStats, Coverage, Hold, RecorderStats, Segment } from './types.js';

export interface RecorderOptions {
  dir: string;
  cameras: CameraConfig[];
  /** Default 60 (see ffmpeg-cmd.ts for why). */
  segmentSeconds?: number;
  /** minFreeBytes defaults to 5% of the volume, at most 2 GiB; 0 turns the rule off. */
  retention?: RetentionPolicy;
  clock?: Clock;
  log?: Logger;
  graceMs?: number;
  ioTimeoutMs?: number;
  /** Write each packet of the segment in progress through at once (see ffmpeg-cmd.ts); default off. */
  flushPackets?: boolean;
  backoff?: BackoffOptions;
  retentionIntervalMs?: number;
  /** Escalating stop: how long to wait after "q", then after SIGTERM (defaults 5 s, 3 s). */
  quitTimeoutMs?: number;
  termTimeoutMs?: number;
}

export interface SegmentInfo extends Segment {
  /** Absolute path of the file. */
  path: string;
}

export class Recorder implements Service {
  readonly name = 'recorder';
  private readonly cams = new Map<string, CameraRecorder>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dir: string;
  private holds: HoldStore | undefined;
  private policy: RetentionPolicy = {};
  private timer: NodeJS.Timeout | undefined;
  private enforcing: Promise<void> | undefined;
  private enforceAgain = false;
  private started = false;
  private critical: string[] = [];
  private freeBytes: number | undefined;

  constructor(private readonly opts: RecorderOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger).child({ part: 'recorder' });
    this.dir = path.resolve(opts.dir);
    const names = new Set<string>();
    for (const c of opts.cameras) {
      if (names.has(c.name)) throw new Error(`camera "${c.name}" is listed twice`);
      names.add(c.name);
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await mkdirDurable(this.dir);
    await this.lock();
    this.holds = new HoldStore(path.join(this.dir, 'holds.json'), this.clock);
    await this.holds.load();
    if (this.holds.damaged)
      this.log.error(`${this.holds.damaged}: nothing will be evicted until it is fixed`);
    this.policy = { ...this.opts.retention };
    if (this.policy.minFreeBytes === undefined) {
      const st = await fsp.statfs(this.dir);
      this.policy.minFreeBytes = Math.min(2 * 1024 ** 3, Math.floor(st.blocks * st.bsize * 0.05));
    }
    const ffmpeg = ffmpegPath();
    for (const c of this.opts.cameras) {
      const cam = new CameraRecorder(c, {
        dir: this.dir,
        segmentSeconds: this.opts.segmentSeconds ?? 60,
        ffmpeg,
        clock: this.clock,
        log: this.log,
        ...(this.opts.graceMs !== undefined ? { graceMs: this.opts.graceMs } : {}),
        ...(this.opts.ioTimeoutMs !== undefined ? { ioTimeoutMs: this.opts.ioTimeoutMs } : {}),
        ...(this.opts.flushPackets ? { flushPackets: true } : {}),
        ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
        ...(this.opts.quitTimeoutMs !== undefined ? { quitTimeoutMs: this.opts.quitTimeoutMs } : {}),
        ...(this.opts.termTimeoutMs !== undefined ? { termTimeoutMs: this.opts.termTimeoutMs } : {}),
        onSegment: () => this.scheduleRetention(),
      });
      this.cams.set(c.name, cam);
      cam.start();
    }
    this.timer = setInterval(() => this.scheduleRetention(), this.opts.retentionIntervalMs ?? 10_000);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.timer);
    await Promise.all([...this.cams.values()].map((c) => c.stop()));
    await this.enforcing;
    await fsp.rm(path.join(this.dir, 'recorder.lock'), { force: true });
  }

  health(): Health {
    if (!this.started) return { state: 'stopped' };
    const cameras = this.cameraStats();
    const problems = cameras
      .filter((c) => c.state !== 'recording' && c.state !== 'starting')
      .map((c) => `${c.camera}: ${c.detail ?? c.state}`);
    if (this.critical.length > 0) problems.push(`storage critical: ${this.critical.join('; ')}`);
    const state =
      problems.length > 0 ? 'degraded' : cameras.some((c) => c.state === 'starting') ? 'starting' : 'ok';
    return {
      state,
      ...(problems.length ? { detail: problems.join('; ') } : {}),
      storageCritical: this.critical.length > 0,
      cameras,
    };
  }

  private cam(camera: string): CameraRecorder {
    const c = this.cams.get(camera);
    if (!c) throw new Error(`unknown camera "${camera}"`);
    return c;
  }

  /** Finished segments overlapping [from, to), oldest first. */
  segments(camera: string, from: number, to: number): SegmentInfo[] {
    const c = this.cam(camera);
    return overlapping(c.store.segments, from, to).map((s) => ({
      ...s,
      path: path.join(c.store.paths.root, s.file),
    }));
  }

  coverage(camera: string, from: number, to: number): Coverage {
    const c = this.cam(camera);
    return coverage(camera, c.store.segments, from, to, {
      gaps: c.store.gaps,
      now: this.clock.now(),
      ...(c.openGap ? { open: c.openGap } : {}),
    });
  }

  /** One MP4 from the keyframe at or before `from` to at or after `to`. Pin first if it must survive. */
  async clip(camera: string, from: number, to: number, out: string): Promise<ClipResult> {
    const c = this.cam(camera);
    return cutClip({
      root: c.store.paths.root,
      segments: overlapping(c.store.segments, from, to),
      from,
      to,
      out,
      ffmpeg: ffmpegPath(),
      gaps: this.coverage(camera, from, to).gaps,
    });
  }

  stats(): RecorderStats {
    const cameras = this.cameraStats();
    const oldest = cameras.reduce<number | undefined>(
      (m, c) => (c.oldest !== undefined && (m === undefined || c.oldest < m) ? c.oldest : m),
      undefined,
    );
    return {
      bytes: cameras.reduce((n, c) => n + c.bytes, 0),
      ...(oldest !== undefined ? { oldest } : {}),
      ...(this.freeBytes !== undefined ? { freeBytes: this.freeBytes } : {}),
      storageCritical: this.critical.length > 0,
      cameras,
    };
  }

  private cameraStats(): CameraStats[] {
    const now = this.clock.now();
    return [...this.cams.values()].map((c) => {
      const segs = c.store.segments;
      const newest = segs.reduce<number | undefined>(
        (m, s) => (m === undefined || s.end > m ? s.end : m),
        undefined,
      );
      return {
        camera: c.name,
        state: c.state,
        ...(c.detail ? { detail: c.detail } : {}),
        bytes: c.store.bytes(),
        segments: segs.length,
        ...(segs[0] ? { oldest: segs[0].start } : {}),
        ...(newest !== undefined ? { newest, segmentAgeMs: now - newest } : {}),
        restarts: c.restarts,
      };
    });
  }

  async pin(camera: string, from: number, to: number, reason: string, until: number): Promise<Hold> {
    this.cam(camera);
    if (!this.holds) throw new Error('recorder is not started');
    const hold = await this.holds.pin(camera, from, to, reason, until);
    this.log.info('footage pinned', {
      camera,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      reason,
      id: hold.id,
    });
    return hold;
  }

  async unpin(id: string): Promise<boolean> {
    if (!this.holds) throw new Error('recorder is not started');
    const removed = await this.holds.unpin(id);
    if (removed) this.scheduleRetention();
    return removed;
  }

  listHolds(): Hold[] {
    return this.holds?.list() ?? [];
  }

  /** Coalesces requests: one pass at a time, and one more if asked during it. */
  private scheduleRetention(): void {
    if (this.enforcing) {
      this.enforceAgain = true;
      return;
    }
    this.enforcing = this.enforce()
      .catch((err: unknown) =>
        this.log.error('retention pass failed', { error: redactText(String(err)), code: errnoCode(err) }),
      )
      .finally(() => {
        this.enforcing = undefined;
        if (this.enforceAgain && this.started) {
          this.enforceAgain = false;
          this.scheduleRetention();
        }
      });
  }

  private async enforce(): Promise<void> {
    const holds = this.holds;
    if (!holds) return;
    const now = this.clock.now();
    const cams = [...this.cams.values()];
    const pendingBytes = new Map<string, number>();
    for (const c of cams) {
      // The segment being written grows to about the size of the last ones; 1.5x covers a longer first segment.
      const recent = c.store.segments.slice(-3).map((s) => s.bytes);
      pendingBytes.set(c.name, Math.round(1.5 * Math.max(0, ...recent)));
    }
    const st = await fsp.statfs(this.dir);
    this.freeBytes = st.bavail * st.bsize;
    if (holds.damaged) {
      this.setCritical([`${holds.damaged}; evicting nothing`]);
      return;
    }
    const decision = decideRetention({
      now,
      segments: new Map(cams.map((c) => [c.name, c.store.segments])),
      holds: holds.list(),
      pendingBytes,
      freeBytes: this.freeBytes,
      policy: this.policy,
    });
    for (const seg of decision.evict) await this.cam(seg.camera).store.evict(seg, 'retention');
    if (decision.evict.length) this.log.debug('retention evicted segments', { count: decision.evict.length });
    this.setCritical(decision.reasons);
  }

  private setCritical(reasons: string[]): void {
    const was = this.critical.length > 0;
    this.critical = reasons;
    if (reasons.length > 0 && !was)
      this.log.error(
        'storage critical: held footage fills the storage; recording continues into the reserve',
        { reasons },
      );
    if (reasons.length === 0 && was) this.log.info('storage no longer critical');
  }

  /** One recorder per folder: two would evict each other's files and fight over cameras. */
  private async lock(): Promise<void> {
    const file = path.join(this.dir, 'recorder.lock');
    try {
      const pid = Number((await fsp.readFile(file, 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 1 && pid !== process.pid && (await isRecorder(pid))) {
        throw new Error(`another recorder (pid ${pid}) is using ${this.dir}`);
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    try {
      await fsp.writeFile(file, `${process.pid}\n`);
    } catch (err) {
      // A read-only volume must not stop the service: cameras report it and retry until it is writable.
      if (errnoCode(err) !== 'EROFS') throw err;
      this.log.error(
        `storage is read-only: cannot write ${file}; recording resumes once ${this.dir} is writable`,
      );
    }
  }
}

async function isRecorder(pid: number): Promise<boolean> {
  try {
    const cmd = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('node');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ESRCH') return false;
    throw err;
  }
}
