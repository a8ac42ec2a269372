/**
 * Motion episodes and where they go.
 *
 * An episode is one stretch of activity on one camera. Its fields follow the wire contract's
 * `motion` payload (protocol/schemas/motion.ts: startedAt, endedAt, peakScore 0..1, source
 * 'onvif' | 'pixel', a normalised bbox, endReason), so the link maps an episode to a payload
 * by adding `v`, `ts` and `phase` and nothing else.
 *
 * `startedAt`/`endedAt` are when motion was actually seen (what the RTCC asks about, and what
 * the accuracy test scores). The pre- and post-padding is carried separately in
 * `paddedFrom`/`paddedTo`: that is the window whose recorded segments must be kept and tagged,
 * so a clip shows the person walking in, not only the frames after detection.
 */

export type MotionSourceKind = 'onvif' | 'pixel';
/** Per camera: the camera's own events, on-box pixel motion, both, or neither. */
export type MotionSourceSetting = MotionSourceKind | 'both' | 'none';

/** A rectangle in fractions of the frame, from the top-left corner. */
export interface BBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type EndReason = 'quiet' | 'timeout' | 'shutdown';

export interface OpenEpisode {
  /** Unique per agent; safe as a topic level and a file name. */
  episodeId: string;
  cameraId: string;
  source: MotionSourceKind;
  /** Epoch ms of the first frame (or event) with motion. */
  startedAt: number;
  /** Highest score so far, 0..1 (ONVIF events carry no strength: always 1). */
  peakScore: number;
  /** Union of the boxes seen so far; absent for ONVIF events. */
  bbox?: BBox;
  /** startedAt minus the pre-padding: the first instant to keep and tag. */
  paddedFrom: number;
}

export interface MotionEpisode extends OpenEpisode {
  /** Epoch ms just after the last frame (or event) with motion. */
  endedAt: number;
  endReason: EndReason;
  /** endedAt plus the post-padding: the last instant to keep and tag. */
  paddedTo: number;
}

/**
 * Where episodes go. The composition root connects one sink per consumer: the link (publish
 * `motion`), the recorder (tag segments), the CLI (print JSON lines). Sinks must not throw;
 * a sink that needs I/O queues it and reports its own failures.
 */
export interface MotionSink {
  episodeStarted(episode: OpenEpisode): void;
  episodeEnded(episode: MotionEpisode): void;
}

/**
 * What the recorder offers for tagging (implemented by an adapter in the composition root, so
 * this folder does not import the recorder's internals). `tagMotion` marks every segment that
 * overlaps [fromMs, toMs) as containing motion; the recorder may also pin them for retention.
 */
export interface SegmentMotionTagger {
  tagMotion(
    cameraId: string,
    fromMs: number,
    toMs: number,
    episode: Pick<MotionEpisode, 'episodeId' | 'peakScore' | 'source'>,
  ): void | Promise<void>;
}

/** Sends every episode to several sinks; one failing sink does not starve the others. */
export function fanOut(sinks: readonly MotionSink[], onError: (err: unknown) => void): MotionSink {
  const each = (fn: (s: MotionSink) => void) => {
    for (const s of sinks) {
      try {
        fn(s);
      } catch (err) {
        onError(err);
      }
    }
  };
  return {
    episodeStarted: (e) => each((s) => s.episodeStarted(e)),
    episodeEnded: (e) => each((s) => s.episodeEnded(e)),
  };
}

/**
 * Shields a source from its sink: a sink that throws (it should not) is logged, and the camera's
 * detection carries on. Sources call sinks from timers and stream callbacks, where an exception
 * would otherwise end the agent.
 */
export function guardedSink(sink: MotionSink, onError: (err: unknown) => void): MotionSink {
  return fanOut([sink], onError);
}

/**
 * A sink that tags the recorder's segments with the padded window when an episode ends. The
 * window is only known at the end; the recorder keeps recent segments far longer than any
 * padding, so tagging at the end never misses a segment that still exists.
 */
export function segmentTaggingSink(tagger: SegmentMotionTagger, onError: (err: unknown) => void): MotionSink {
  return {
    episodeStarted: () => undefined,
    episodeEnded: (e) => {
      try {
        const r = tagger.tagMotion(e.cameraId, e.paddedFrom, e.paddedTo, {
          episodeId: e.episodeId,
          peakScore: e.peakScore,
          source: e.source,
        });
        if (r instanceof Promise) r.catch(onError);
      } catch (err) {
        onError(err);
      }
    },
  };
}

export function unionBox(a: BBox | undefined, b: BBox | undefined): BBox | undefined {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}
