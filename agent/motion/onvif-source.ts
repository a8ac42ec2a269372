/**
 * Motion from the camera's own ONVIF events: a pull-point subscription kept alive, turned into
 * episodes.
 *
 * - Subscription (ONVIF Core 9.1): clock reading, CreatePullPointSubscription, then long-poll
 *   PullMessages in a loop; Renew when half the lifetime is used (some cameras, e.g. Axis, do
 *   not extend a pull point on PullMessages alone).
 * - Reconnect: any failure (camera rebooted, pull point expired: wsrf-r:ResourceUnknownFault,
 *   network) drops the pull point and creates a new one after an exponential backoff with
 *   jitter, 1 s doubling to 60 s. A new pull point reports the current state as "Initialized",
 *   so nothing is missed except changes while the camera was unreachable.
 * - State: each motion property (topic + source) is tracked; the camera is "in motion" while any
 *   is true. "Off" closes the episode after `quietMs`, so an on/off/on flap is one episode.
 * - Stuck: a camera that says "on" and never "off" (a known firmware fault, or an "off" lost while
 *   unreachable) gets its episode closed after `maxOnMs` with reason `timeout`, and no new episode
 *   opens until the camera has said "off" once: one stuck camera cannot flood the RTCC.
 * - Times: message UtcTime is the camera's clock; minus the measured offset it is the agent's.
 *   A time that is still far from the agent's clock (a camera with a broken RTC) is replaced by
 *   the arrival time.
 */
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import { CameraError } from '../cameras/errors.js';
import { OnvifDeviceClient, type ClockReading } from '../cameras/onvif-device.js';
import { PullPointSubscription, type MotionNotification } from '../cameras/onvif-events.js';
import type { Credentials } from '../cameras/soap.js';
import { closeEpisode, newEpisodeId } from './episodes.js';
import { guardedSink, type EndReason, type MotionSink, type OpenEpisode } from './types.js';

export interface OnvifMotionOptions {
  cameraId: string;
  /** For error messages. */
  cameraName: string;
  xaddr: string;
  /** From onboarding; looked up with GetCapabilities when absent. */
  eventsXaddr?: string;
  credentials?: Credentials;
  sink: MotionSink;
  clock?: Clock;
  log?: Logger;
  /** PullMessages Timeout: how long the camera may hold a pull with nothing to say. */
  pullWaitMs?: number;
  subscriptionMs?: number;
  requestTimeoutMs?: number;
  quietMs?: number;
  maxOnMs?: number;
  preMs?: number;
  postMs?: number;
  /** Called with every motion notification (tests, the CLI's --verbose). */
  onNotification?: (n: MotionNotification) => void;
}

const BACKOFF = { firstMs: 1000, maxMs: 60_000 };

export class OnvifMotionSource implements Service {
  readonly name: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sink: MotionSink;
  private readonly o: Required<
    Pick<OnvifMotionOptions, 'pullWaitMs' | 'subscriptionMs' | 'quietMs' | 'maxOnMs' | 'preMs' | 'postMs'>
  >;
  private ac: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly states = new Map<string, boolean>();
  private episode: OpenEpisode | undefined;
  /** Agent time of the "off" that will close the episode, and when to close it. */
  private pendingOff: { endedAt: number; dueMono: number } | undefined;
  private stuck = false;
  private offset: OffsetEstimate | undefined;
  private state: Health = { state: 'stopped' };
  private counters = { subscriptions: 0, renewals: 0, pulls: 0, notifications: 0, failures: 0 };

  constructor(private readonly opts: OnvifMotionOptions) {
    this.name = `motion-onvif:${opts.cameraId}`;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger).child({ camera: opts.cameraId, part: 'onvif-motion' });
    this.sink = guardedSink(opts.sink, (err) => this.log.error('motion sink failed', { error: String(err) }));
    this.o = {
      pullWaitMs: opts.pullWaitMs ?? 10_000,
      subscriptionMs: opts.subscriptionMs ?? 60_000,
      quietMs: opts.quietMs ?? 1000,
      maxOnMs: opts.maxOnMs ?? 5 * 60_000,
      preMs: opts.preMs ?? 5000,
      postMs: opts.postMs ?? 5000,
    };
  }

  start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.loop) return Promise.resolve();
    this.ac = new AbortController();
    this.state = { state: 'starting' };
    // Runs in the background: a camera that is down must not keep the agent from starting.
    this.loop = this.run(this.ac.signal);
    this.timer = setInterval(() => this.onTimer(), 250);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.ac?.abort();
    clearInterval(this.timer);
    await this.loop;
    this.loop = undefined;
    this.finish('shutdown', this.clock.now());
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return { ...this.state, ...this.counters, inMotion: this.episode !== undefined, stuck: this.stuck };
  }

  private async run(signal: AbortSignal): Promise<void> {
    const device = new OnvifDeviceClient({
      camera: this.opts.cameraName,
      xaddr: this.opts.xaddr,
      credentials: this.opts.credentials,
      timeoutMs: this.opts.requestTimeoutMs,
      now: () => this.clock.now(),
    });
    let attempt = 0;
    while (!signal.aborted) {
      try {
        this.offset = new OffsetEstimate(await device.readClock(signal));
        const events = this.opts.eventsXaddr ?? (await device.services(signal)).events;
        if (!events)
          throw new CameraError(this.opts.cameraName, 'malformed', 'GetCapabilities', 'no event service');
        await this.session(new PullPointSubscription(device.soap, events), device, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.counters.failures++;
        const delay = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** Math.min(attempt++, 16));
        const wait = Math.round(delay / 2 + (Math.random() * delay) / 2);
        const message = err instanceof Error ? err.message : String(err);
        this.state = { state: 'degraded', detail: `${message}; retrying in ${Math.round(wait / 1000)} s` };
        this.log.warn('camera events lost; resubscribing', { error: message, retryMs: wait });
        await sleep(wait, signal);
        continue;
      }
      attempt = 0;
    }
  }

  /** One pull point, from creation until it fails or the source stops. */
  private async session(
    sub: PullPointSubscription,
    device: OnvifDeviceClient,
    signal: AbortSignal,
  ): Promise<void> {
    const life = (await sub.create(this.o.subscriptionMs, signal)) ?? this.o.subscriptionMs;
    this.counters.subscriptions++;
    this.states.clear();
    this.state = { state: 'ok' };
    let renewAt = this.clock.monotonic() + Math.max(1000, life / 2);
    try {
      while (!signal.aborted) {
        if (this.clock.monotonic() >= renewAt) {
          const next = (await sub.renew(this.o.subscriptionMs, signal)) ?? this.o.subscriptionMs;
          this.counters.renewals++;
          renewAt = this.clock.monotonic() + Math.max(1000, next / 2);
        }
        const wait = Math.round(
          Math.min(this.o.pullWaitMs, Math.max(1000, renewAt - this.clock.monotonic())),
        );
        const r = await sub.pull(wait, 32, 10_000, signal);
        this.counters.pulls++;
        this.state = { state: 'ok' };
        for (const n of r.motion) this.onNotification(n);
      }
    } finally {
      if (sub.active) {
        // Frees the camera's pull point now (cameras allow few); its own expiry is the fallback.
        await sub.unsubscribe(AbortSignal.timeout(3000)).catch((err: unknown) => {
          this.log.debug('unsubscribe failed', { error: (err as Error).message });
        });
      }
    }
  }

  private onNotification(n: MotionNotification): void {
    this.counters.notifications++;
    this.opts.onNotification?.(n);
    if (n.operation === 'Deleted') this.states.delete(n.key);
    else this.states.set(n.key, n.isMotion);
    const now = this.clock.now();
    let t = now;
    if (n.cameraTimeMs !== undefined && this.offset) {
      this.offset.observe(n.cameraTimeMs, now);
      t = n.cameraTimeMs - this.offset.value;
    }
    // Far off means a broken camera clock: the arrival time is the better guess.
    if (t > now || now - t > 60_000) t = now;
    const on = [...this.states.values()].some(Boolean);
    if (on) {
      this.pendingOff = undefined;
      if (!this.episode && !this.stuck) {
        this.episode = {
          episodeId: newEpisodeId(),
          cameraId: this.opts.cameraId,
          source: 'onvif',
          startedAt: t,
          peakScore: 1,
          paddedFrom: t - this.o.preMs,
        };
        this.sink.episodeStarted({ ...this.episode });
      }
    } else {
      this.stuck = false;
      if (this.episode && !this.pendingOff) {
        this.pendingOff = { endedAt: t, dueMono: this.clock.monotonic() + this.o.quietMs };
      }
    }
  }

  private onTimer(): void {
    const ep = this.episode;
    if (!ep) return;
    if (this.pendingOff && this.clock.monotonic() >= this.pendingOff.dueMono) {
      this.finish('quiet', this.pendingOff.endedAt);
    } else if (!this.pendingOff && this.clock.now() - ep.startedAt >= this.o.maxOnMs) {
      this.log.warn('camera reported motion without end; closing the episode', { maxOnMs: this.o.maxOnMs });
      this.stuck = true;
      this.finish('timeout', this.clock.now());
    }
  }

  private finish(reason: EndReason, endedAt: number): void {
    const ep = this.episode;
    if (!ep) return;
    this.episode = undefined;
    this.pendingOff = undefined;
    this.sink.episodeEnded(closeEpisode(ep, endedAt, reason, this.o.postMs));
  }
}

/**
 * Camera clock minus agent clock. GetSystemDateAndTime has whole seconds, so it bounds the offset
 * to a ~1 s interval. Every event narrows it from below: a message stamped `cameraTime` arrived
 * at `arrival`, so it happened no later than that, and offset >= cameraTime - arrival. Events
 * arrive within milliseconds of their stamp on a long poll, so the highest such bound is the
 * offset to a few ms; until one arrives, the reading's middle is used.
 */
export class OffsetEstimate {
  private floor = -Infinity;

  constructor(private readonly reading: ClockReading) {}

  observe(cameraTimeMs: number, arrivalMs: number): void {
    const bound = cameraTimeMs - arrivalMs;
    // A bound above the reading's interval contradicts it (a camera clock that jumped): ignore.
    if (bound <= this.reading.highMs) this.floor = Math.max(this.floor, bound);
  }

  get value(): number {
    return this.floor > this.reading.lowMs ? this.floor : this.reading.offsetMs;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
