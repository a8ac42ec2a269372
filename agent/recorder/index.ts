/** The recorder's public surface for the rest of the agent. */
export { Recorder, type RecorderOptions, type SegmentInfo } from './recorder.js';
export type { CameraConfig } from './camera.js';
export { ClipError, type ClipResult } from './clip.js';
export { clipFromDisk, readFootage, footageCoverage, type Footage } from './library.js';
export type { RetentionPolicy } from './retention.js';
export * from './types.js';
