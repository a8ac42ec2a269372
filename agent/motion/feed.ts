/**
 * Motion episodes as the wire contract's `motion` payloads (protocol/schemas/motion.ts), for the
 * link to publish: one message when an episode starts, one when it ends, same episodeId.
 *
 * The composition root connects it: `createLink(config, { motion: feed.onEpisode, ... })`, and
 * gives `feed` to every camera's CameraMotion (usually inside a fanOut with the journal). Each
 * payload is validated here, so a bad one is reported where it was made, with the episode's
 * camera, instead of being refused later by the link or the bridge.
 */
import { MotionPayload, SCHEMA_VERSION } from '../../protocol/index.js';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import type { MotionEpisode, MotionSink, OpenEpisode } from './types.js';

type Listener = (payload: MotionPayload) => void;

/** Rounds to the contract's integer milliseconds and keeps a box inside the frame. */
function common(e: OpenEpisode, ts: number) {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  // Four decimals (1/10000 of the frame) is finer than any decode; it keeps payloads short.
  const r4 = (v: number) => Math.round(clamp(v) * 1e4) / 1e4;
  const bbox = e.bbox
    ? (() => {
        const x = r4(e.bbox.x);
        const y = r4(e.bbox.y);
        return { x, y, w: Math.min(r4(e.bbox.w), r4(1 - x)), h: Math.min(r4(e.bbox.h), r4(1 - y)) };
      })()
    : undefined;
  return {
    v: SCHEMA_VERSION,
    ts: Math.round(ts),
    episodeId: e.episodeId,
    cameraId: e.cameraId,
    startedAt: Math.round(e.startedAt),
    peakScore: clamp(e.peakScore),
    source: e.source,
    ...(bbox ? { bbox } : {}),
  };
}

export class MotionFeed implements MotionSink {
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly onInvalid: (cameraId: string, problem: string) => void = () => undefined,
  ) {}

  /** The link's `Subscribe<MotionPayload>`: returns the unsubscribe function. */
  readonly onEpisode = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  episodeStarted(e: OpenEpisode): void {
    this.emit(e.cameraId, { ...common(e, this.clock.now()), phase: 'start' });
  }

  episodeEnded(e: MotionEpisode): void {
    this.emit(e.cameraId, {
      ...common(e, this.clock.now()),
      phase: 'end',
      endedAt: Math.max(Math.round(e.endedAt), Math.round(e.startedAt)),
      endReason: e.endReason,
    });
  }

  private emit(cameraId: string, candidate: unknown): void {
    const parsed = MotionPayload.safeParse(candidate);
    if (!parsed.success) {
      this.onInvalid(
        cameraId,
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
      return;
    }
    for (const l of this.listeners) l(parsed.data);
  }
}
