/**
 * Motion for one camera, as the composition root uses it: the camera's inventory record in, one
 * Service out, running the sources its setting asks for.
 *
 * - `onvif`: the camera's events only. Costs the agent nothing; trusts the camera's detector.
 * - `pixel`: on-box differencing of the sub-stream. Works with any camera, costs a decoder.
 * - `both`: both run and both report, each episode tagged with its source, so an operator can
 *   see when they disagree; segment tagging takes the union.
 * - `none`: nothing.
 */
import type { Clock } from '../../lib/clock.js';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import type { CameraRecord } from '../cameras/inventory.js';
import { withCredentials } from '../cameras/streams.js';
import type { EpisodeOptions } from './episodes.js';
import { OnvifMotionSource, type OnvifMotionOptions } from './onvif-source.js';
import type { PixelDetectorOptions } from './pixel-detector.js';
import { PixelMotionSource } from './pixel-source.js';
import type { MotionSink } from './types.js';

export interface CameraMotionOptions {
  camera: CameraRecord;
  sink: MotionSink;
  clock?: Clock;
  log?: Logger;
  /** Analysis rate for pixel motion (default 5 fps). */
  fps?: number;
  /** Pixel motion: ~130 ms earlier onsets for ~15% more CPU (see frames.ts). */
  lowLatency?: boolean;
  detector?: Partial<Omit<PixelDetectorOptions, 'width' | 'height' | 'zones'>>;
  episodes?: Partial<EpisodeOptions>;
  onvif?: Partial<
    Pick<OnvifMotionOptions, 'pullWaitMs' | 'subscriptionMs' | 'quietMs' | 'maxOnMs' | 'requestTimeoutMs'>
  >;
}

export class CameraMotion implements Service {
  readonly name: string;
  readonly sources: Service[] = [];
  private started: Service[] = [];

  constructor(o: CameraMotionOptions) {
    const c = o.camera;
    this.name = `motion:${c.id}`;
    const log = o.log ?? silentLogger;
    const setting = c.motion.source;
    if ((setting === 'onvif' || setting === 'both') && c.onvif) {
      this.sources.push(
        new OnvifMotionSource({
          cameraId: c.id,
          cameraName: c.name,
          xaddr: c.onvif.xaddr,
          eventsXaddr: c.onvif.eventsXaddr,
          credentials: c.credentials,
          sink: o.sink,
          clock: o.clock,
          log,
          preMs: o.episodes?.preMs,
          postMs: o.episodes?.postMs,
          ...o.onvif,
        }),
      );
    }
    // A camera set to ONVIF events that has no ONVIF (added by URL) falls back to pixel motion.
    if (setting === 'pixel' || setting === 'both' || (setting === 'onvif' && !c.onvif)) {
      this.sources.push(
        new PixelMotionSource({
          cameraId: c.id,
          input: withCredentials(c.streams.sub.uri, c.credentials),
          fps: o.fps,
          lowLatency: o.lowLatency,
          detector: { ...o.detector, zones: { zones: c.motion.zones, masks: c.motion.masks } },
          episodes: o.episodes,
          sink: o.sink,
          clock: o.clock,
          log,
        }),
      );
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    for (const s of this.sources) {
      await s.start(signal);
      this.started.push(s);
    }
  }

  async stop(): Promise<void> {
    const parts = this.started.reverse();
    this.started = [];
    await Promise.all(parts.map((s) => s.stop()));
  }

  health(): Health {
    if (this.sources.length === 0) return { state: 'ok', detail: 'motion detection off' };
    const parts = Object.fromEntries(this.sources.map((s) => [s.name, s.health()]));
    const states = Object.values(parts).map((h) => h.state);
    const state = states.includes('failed')
      ? 'failed'
      : states.includes('degraded')
        ? 'degraded'
        : states.every((s) => s === 'ok')
          ? 'ok'
          : (states[0] ?? 'stopped');
    const detail = Object.values(parts)
      .map((h) => h.detail)
      .filter(Boolean)
      .join('; ');
    return { state, ...(detail ? { detail } : {}), parts };
  }
}
