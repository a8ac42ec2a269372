/**
 * `cameras` (agent → bridge, retained, QoS 1): the site's camera inventory.
 *
 * Retained so a bridge that starts (or a new bridge instance) learns every inventory at
 * once. It says what exists, where it is and which streams it has, and nothing that would
 * let anyone reach a camera: no URLs, no user names, no passwords, no tokens. Every object
 * is strict, so a `password`, `url` or `uri` key is a schema error on both ends rather
 * than a field that slips through (DESIGN.md, security model).
 */
import { z } from 'zod';
import { MAX_CAMERAS_PER_AGENT, MotionSourceSetting } from './health.js';
import { CameraId, CameraLocation, EpochMs, Version, safeText } from './common.js';

/** `main` is recorded (highest resolution), `sub` feeds pixel motion (lowest). */
export const StreamRole = z.enum(['main', 'sub']);
export type StreamRole = z.infer<typeof StreamRole>;

export const StreamInfo = z.strictObject({
  role: StreamRole,
  width: z.int().min(1).max(16384),
  height: z.int().min(1).max(16384),
  /** Codec name as ffprobe reports it, e.g. `h264`, `hevc`. */
  codec: z
    .string()
    .regex(/^[a-z0-9_]{1,16}$/)
    .optional(),
  fps: z.number().gt(0).max(240).optional(),
});
export type StreamInfo = z.infer<typeof StreamInfo>;

export const CameraInfo = z
  .strictObject({
    id: CameraId,
    name: safeText(100),
    /** Installed position; null until the owner places the camera (incidents skip it). */
    location: CameraLocation.nullable(),
    streams: z.array(StreamInfo).min(1).max(4),
    motionSource: MotionSourceSetting.optional(),
    vendor: safeText(64).optional(),
    model: safeText(64).optional(),
  })
  .refine((c) => new Set(c.streams.map((s) => s.role)).size === c.streams.length, {
    message: 'each stream role may appear once',
    path: ['streams'],
  });
export type CameraInfo = z.infer<typeof CameraInfo>;

export const CamerasPayload = z
  .strictObject({
    v: Version,
    ts: EpochMs,
    cameras: z.array(CameraInfo).max(MAX_CAMERAS_PER_AGENT),
  })
  .refine((p) => new Set(p.cameras.map((c) => c.id)).size === p.cameras.length, {
    message: 'camera ids must be unique',
    path: ['cameras'],
  });
export type CamerasPayload = z.infer<typeof CamerasPayload>;
