/**
 * One camera's supervised recording ffmpeg (the only place the recorder
 * spawns it). Loop: reconcile the store once, then run ffmpeg; every segment
 * it reports is indexed; when it exits (or stalls, and is killed) the gap is
 * opened with a cause and the next attempt waits out a jittered backoff.
 *
 * Stop escalates: "q" on stdin (ffmpeg closes the segment cleanly and reports
 * it), then SIGTERM, then SIGKILL. A pid file lets the next agent reap an
 * ffmpeg orphaned by a kill -9 of this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { redactText } from '../../lib/redact.js';
import { Backoff, stallAfterMs, type BackoffOptions } from './backoff.js';
import { StreamAnchor } from './anchor.js';
import { CameraStore } from './camera-store.js';
import {
  classifyFsError,
  classifyStderr,
  parseSegmentListLine,
  recordArgs,
  type Classified,
} from './ffmpeg-cmd.js';
import { errnoCode } from './fsutil.js';
import { reapOrphan, waitExit } from './process.js';
import { reconcile, salvage } from './reconcile.js';
import { GAP_TOLERANCE_MS, type OpenGap } from './timeline.js';
import { GENERIC_CAUSES, type CameraState, type Segment } from './types.js';

export interface CameraConfig {
  name: string;
  url: string;
  transport?: 'tcp' | 'udp';
}

export interface CameraRecorderOptions {
  dir: string;
  segmentSeconds: number;
  ffmpeg: string;
  clock: Clock;
  log: Logger;
  /** Added to 2 x segment length before a silent ffmpeg counts as stalled. */
  graceMs?: number;
  ioTimeoutMs?: number;
  /** See RecordArgsInput.flushPackets. */
  flushPackets?: boolean;
  backoff?: BackoffOptions;
  quitTimeoutMs?: number;
  termTimeoutMs?: number;
  onSegment?: (seg: Segment) => void;
}

interface RunResult {
  progressed: boolean;
  failure?: Classified;
}

export class CameraRecorder {
  readonly store: CameraStore;
  state: CameraState = 'starting';
  detail: string | undefined;
  restarts = 0;
  openGap: OpenGap | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private child: ChildProcess | undefined;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly config: CameraConfig,
    private readonly opts: CameraRecorderOptions,
  ) {
    this.log = opts.log.child({ camera: config.name });
    this.store = new CameraStore(opts.dir, config.name, this.log);
    this.backoff = new Backoff(opts.backoff);
  }

  get name(): string {
    return this.config.name;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.child) await this.terminate(this.child);
    await this.loopDone;
    const now = this.opts.clock.now();
    if (this.store.opened) {
      try {
        if (this.openGap) await this.closeGap(now);
        await this.store.append({ v: 1, t: 'stop', at: now });
      } catch (err) {
        this.log.error('could not journal the stop', { error: redactText(String(err)) });
      }
      await this.store.close();
    }
    this.state = 'stopped';
    this.detail = undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let result: RunResult;
      try {
        if (!this.store.opened) await this.reconcile();
        result = await this.runOnce();
      } catch (err) {
        const failure = classifyFsError(await diagnose(err, this.store.paths.root));
        this.log.error(failure.message, { error: redactText(String(err)) });
        result = { progressed: false, failure };
        // Our own file work failed (reconcile, journal, a move): reconcile again before the
        // next attempt, so nothing left half-done (leftovers, journal lines) stays unaccounted.
        await this.store
          .close()
          .catch((closeErr: unknown) =>
            this.log.warn('could not close the journal', { error: redactText(String(closeErr)) }),
          );
      }
      if (this.stopping) break;
      this.noteFailure(result.failure ?? { cause: 'ffmpeg-exited', message: 'ffmpeg exited' });
      if (result.progressed) this.backoff.progressed();
      const delay = this.backoff.failed();
      this.restarts++;
      this.state = this.backoff.degraded ? 'degraded' : 'retrying';
      this.detail = `${result.failure?.message ?? 'ffmpeg exited'}${this.backoff.degraded ? ` (${this.backoff.consecutiveFailures} failed attempts in a row)` : ''}`;
      const level = this.backoff.degraded ? 'error' : 'warn';
      this.log[level]('recording interrupted; retrying', {
        cause: result.failure?.cause,
        retryInMs: delay,
        detail: this.detail,
      });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async reconcile(): Promise<void> {
    const report = await reconcile(this.store, this.opts.clock);
    if (report.previous && !this.openGap) {
      this.openGap = { from: report.previous.from, cause: report.previous.cause };
    }
    await this.store.append({ v: 1, t: 'start', at: this.opts.clock.now() });
  }

  /** Open (or sharpen) the gap that started when footage last ended. */
  private noteFailure(f: Classified): void {
    const last = this.store.segments[this.store.segments.length - 1];
    if (!this.openGap) {
      this.openGap = { from: last?.end ?? this.opts.clock.now(), cause: f.cause, detail: f.message };
    } else if (GENERIC_CAUSES.has(this.openGap.cause) && !GENERIC_CAUSES.has(f.cause)) {
      this.openGap = { ...this.openGap, cause: f.cause, detail: f.message };
    }
  }

  private async closeGap(to: number): Promise<void> {
    const g = this.openGap;
    this.openGap = undefined;
    if (!g || to - g.from <= GAP_TOLERANCE_MS) return;
    await this.store.recordGap({
      from: g.from,
      to,
      cause: g.cause,
      ...(g.detail ? { detail: g.detail } : {}),
    });
  }

  private async runOnce(): Promise<RunResult> {
    const { paths } = this.store;
    const clock = this.opts.clock;
    await reapOrphan(paths.pidfile, paths.incoming, this.log);
    await fsp.mkdir(paths.incoming, { recursive: true });
    const runId = clock.now().toString(36);
    const args = recordArgs({
      url: this.config.url,
      transport: this.config.transport ?? 'tcp',
      segmentSeconds: this.opts.segmentSeconds,
      outputPattern: path.join(paths.incoming, `${runId}-%06d.ts`),
      ...(this.opts.ioTimeoutMs !== undefined ? { ioTimeoutMs: this.opts.ioTimeoutMs } : {}),
      ...(this.opts.flushPackets ? { flushPackets: true } : {}),
    });
    // TZ=UTC: -segment_atclocktime cuts on local-time multiples; UTC keeps them on the hour folders.
    if (this.stopping) return { progressed: false }; // stop() arrived while we reconciled
    const child = spawn(this.opts.ffmpeg, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
    this.child = child;
    child.stdin.on('error', (err) => this.log.debug('ffmpeg stdin closed', { error: err.message }));
    if (child.pid !== undefined) await fsp.writeFile(paths.pidfile, `${child.pid}\n`);
    this.log.info('ffmpeg started', {
      pid: child.pid,
      transport: this.config.transport ?? 'tcp',
      url: this.config.url,
    });

    const anchor = new StreamAnchor(clock);
    const stderrTail: string[] = [];
    let progressed = false;
    let stalled = false;
    let ingestFailure: Classified | undefined;
    let lastProgress = clock.monotonic();
    let chain: Promise<void> = Promise.resolve();

    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      const safe = redactText(line);
      stderrTail.push(safe);
      if (stderrTail.length > 30) stderrTail.shift();
      this.log.debug('ffmpeg', { line: safe });
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = parseSegmentListLine(line);
      if (!entry) return;
      const arrived = anchor.arrival(); // now, not after the queue and the hash
      chain = chain.then(async () => {
        try {
          const file = path.join(paths.incoming, entry.name);
          const seg = await this.store.ingest(file, (scan) =>
            anchor.observe(entry.endSec, scan.durationMs, arrived),
          );
          if (!seg) return;
          progressed = true;
          lastProgress = clock.monotonic();
          if (this.openGap) await this.closeGap(seg.start);
          this.backoff.progressed();
          this.state = 'recording';
          this.detail = undefined;
          this.opts.onSegment?.(seg);
        } catch (err) {
          ingestFailure = classifyFsError(errnoCode(err));
          this.log.error(ingestFailure.message, { error: redactText(String(err)) });
          if (this.child) void this.terminate(this.child);
        }
      });
    });

    const stallMs = stallAfterMs(this.opts.segmentSeconds, this.opts.graceMs ?? 10_000);
    const watchdog = setInterval(() => {
      if (stalled || clock.monotonic() - lastProgress <= stallMs) return;
      stalled = true;
      this.log.warn('no new segment in time: ffmpeg stalled; restarting it', { stallMs });
      void this.terminate(child);
    }, 1000);
    const exit = await waitExit(child);
    clearInterval(watchdog);
    this.child = undefined;
    await chain;
    await fsp.rm(paths.pidfile, { force: true });

    // What this run left unfinished (killed mid-segment, or an ingest that failed).
    const leftovers = (await fsp.readdir(paths.incoming)).filter((n) => n.startsWith(`${runId}-`)).sort();
    for (const name of leftovers) {
      const notBefore = this.store.segments[this.store.segments.length - 1]?.end ?? -Infinity;
      try {
        if ((await salvage(this.store, path.join(paths.incoming, name), notBefore)) === 'salvaged')
          progressed = true;
      } catch (err) {
        ingestFailure ??= classifyFsError(errnoCode(err));
        this.log.error('could not salvage a leftover segment; reconcile will retry', {
          file: name,
          error: redactText(String(err)),
        });
      }
    }

    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    if (this.stopping)
      return { progressed, failure: { cause: 'agent-stopped', message: 'recorder stopped' } };
    const failure =
      ingestFailure ??
      (stalled
        ? {
            cause: 'stalled' as const,
            message: `stalled: no new segment within ${Math.round(stallMs / 1000)} s`,
          }
        : undefined) ??
      classifyStderr(stderrTail) ??
      ({ cause: 'ffmpeg-exited', message: `ffmpeg ended (${how})` } satisfies Classified);
    this.log.debug('ffmpeg ended', { how, stderr: stderrTail.slice(-5) });
    return { progressed, failure };
  }

  /** Escalating stop of one ffmpeg: "q", then SIGTERM, then SIGKILL. */
  private async terminate(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = waitExit(child);
    if (child.stdin?.writable) child.stdin.write('q');
    if (await Promise.race([exited.then(() => true), delay(this.opts.quitTimeoutMs ?? 5000, false)])) return;
    child.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), delay(this.opts.termTimeoutMs ?? 3000, false)])) return;
    this.log.warn('ffmpeg ignored q and SIGTERM; killing it', { pid: child.pid });
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The errno to report for a storage failure. Node's recursive mkdir reports
 * ENOENT on a read-only volume, so anything unclear is re-checked with a plain
 * file create, which fails with the real reason (EROFS, ENOSPC, EACCES).
 */
async function diagnose(err: unknown, root: string): Promise<string | undefined> {
  const code = errnoCode(err);
  if (code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT') return code;
  const probe = path.join(path.dirname(root), `.write-probe-${process.pid}`); // the recording folder
  try {
    await fsp.writeFile(probe, '');
    await fsp.rm(probe, { force: true });
  } catch (probeErr) {
    return errnoCode(probeErr) ?? code;
  }
  return code;
}

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}
