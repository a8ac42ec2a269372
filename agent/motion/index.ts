/**
 * Motion: the public surface for the composition root.
 *
 *   const feed = new MotionFeed(clock, (cam, why) => log.error('motion payload refused', { cam, why }));
 *   const journal = new MotionJournal(path.join(stateDir, 'motion'), (err) => log.error(...));
 *   const sink = fanOut([feed, journal.sink()], (err) => log.error('motion sink failed', { err }));
 *   // optional push-style tagging, if the recorder offers it:
 *   //   fanOut([..., segmentTaggingSink({ tagMotion: (cam, from, to, ep) => recorder.tag(...) }, onError)])
 *   const motion = cameras.map((c) => new CameraMotion({ camera: c, sink, clock, log }));
 *   createLink(config, { motion: feed.onEpisode, ... });          // `motion` topic payloads
 *   new Composition([recorder, ...motion, link]).start(signal);
 *
 *   // "When was there motion?" and which recorded segments hold it:
 *   const eps = await journal.between(cameraId, from, to);
 *   const tagged = tagSegments(recorder.segments(cameraId, from, to), eps);
 *   await journal.prune(now - retentionMs);                      // daily, with the recorder's retention
 *
 * Per camera, `camera.motion.source` chooses the camera's ONVIF events, on-box pixel motion, both
 * or none; zones and masks come from `camera.motion`. Episodes carry the detected start and end
 * (startedAt/endedAt) and the padded window to keep (paddedFrom/paddedTo).
 */
export { CameraMotion, type CameraMotionOptions } from './camera-motion.js';
export { MotionFeed } from './feed.js';
export { MotionJournal, tagSegments, type SegmentLike, type TaggedSegment } from './journal.js';
export { PixelMotionSource, type PixelMotionOptions } from './pixel-source.js';
export { OnvifMotionSource, OffsetEstimate, type OnvifMotionOptions } from './onvif-source.js';
export {
  PixelMotionDetector,
  DEFAULT_PIXEL_OPTIONS,
  type PixelDetectorOptions,
  type FrameVerdict,
} from './pixel-detector.js';
export { EpisodeTracker, DEFAULT_EPISODE_OPTIONS, type EpisodeOptions } from './episodes.js';
export { FrameReader, WallClockMapper, frameReaderArgs, type FrameReaderOptions } from './frames.js';
export { ZoneConfig, rect, type Polygon } from './zones.js';
export { scoreEpisodes, combineReports, type AccuracyReport } from './accuracy.js';
export {
  fanOut,
  segmentTaggingSink,
  type MotionSink,
  type MotionEpisode,
  type OpenEpisode,
  type SegmentMotionTagger,
  type MotionSourceSetting,
  type BBox,
  type EndReason,
} from './types.js';
