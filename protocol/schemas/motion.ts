/**
 * `motion` (agent → bridge, not retained, QoS 1): motion episodes as they start and end.
 *
 * One message when an episode starts and one when it ends, both with the same
 * `episodeId`, so the bridge can show live activity and later answer "when was there
 * motion". QoS 1 and the durable outbox mean an episode may arrive twice after a
 * reconnect: the bridge upserts by (agent, episodeId, phase).
 */
import { z } from 'zod';
import { CameraId, EpochMs, Id, Version } from './common.js';

/** Where the episode was detected: the camera's ONVIF events or on-box pixel differencing. */
export const MotionSource = z.enum(['onvif', 'pixel']);
export type MotionSource = z.infer<typeof MotionSource>;

/** Bounding box of the motion, normalised to the frame: 0..1 from the top-left corner. */
export const FrameBox = z
  .strictObject({
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
    w: z.number().min(0).max(1),
    h: z.number().min(0).max(1),
  })
  .refine((b) => b.x + b.w <= 1 + 1e-9 && b.y + b.h <= 1 + 1e-9, { message: 'box must lie in the frame' });
export type FrameBox = z.infer<typeof FrameBox>;

/**
 * Why an episode ended: the scene went quiet, a camera's "motion on" never turned off and
 * the agent timed it out, or the agent stopped while the episode was open.
 */
export const MotionEndReason = z.enum(['quiet', 'timeout', 'shutdown']);

const episodeFields = {
  v: Version,
  ts: EpochMs,
  episodeId: Id,
  cameraId: CameraId,
  startedAt: EpochMs,
  /** Highest motion score so far (start) or over the episode (end), 0..1. */
  peakScore: z.number().min(0).max(1),
  source: MotionSource,
  bbox: FrameBox.optional(),
};

export const MotionStart = z.strictObject({ ...episodeFields, phase: z.literal('start') });

export const MotionEnd = z
  .strictObject({
    ...episodeFields,
    phase: z.literal('end'),
    endedAt: EpochMs,
    endReason: MotionEndReason.optional(),
  })
  .refine((e) => e.endedAt >= e.startedAt, {
    message: 'endedAt must not precede startedAt',
    path: ['endedAt'],
  });

export const MotionPayload = z.discriminatedUnion('phase', [MotionStart, MotionEnd]);
export type MotionPayload = z.infer<typeof MotionPayload>;
