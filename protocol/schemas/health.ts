/**
 * `health` (agent → bridge, not retained, QoS 0): a periodic report, every 30 s by default.
 *
 * QoS 0 and no retention on purpose: the next report supersedes a lost one, and a stale
 * retained health would make a dead device look alive. The outbox drops health first when
 * it is full (issue 5). Staleness itself is the signal: the bridge marks a device degraded
 * or offline when reports stop.
 */
import { z } from 'zod';
import { CameraId, EpochMs, NonNegative, NonNegativeInt, Percent, Version, safeText } from './common.js';

/** Used and total bytes of a resource (memory, the recording volume). */
export const Usage = z
  .strictObject({ usedBytes: NonNegative, totalBytes: NonNegative })
  .refine((u) => u.usedBytes <= u.totalBytes, { message: 'usedBytes must not exceed totalBytes' });

export const SystemHealth = z.strictObject({
  /** Overall CPU load across all cores, percent (systeminformation `currentLoad`). */
  cpuLoadPct: Percent,
  /** 1-minute load average; absent on platforms without one. */
  loadAvg1: NonNegative.optional(),
  memory: Usage,
  /** The volume that holds the recordings. */
  volume: Usage,
  /** Main temperature in °C, only where the hardware has a sensor. */
  temperatureC: z.number().min(-100).max(200).optional(),
  /** Operating-system uptime, seconds. */
  uptimeS: NonNegative,
});
export type SystemHealth = z.infer<typeof SystemHealth>;

/**
 * The agent's wall clock. Evidence timestamps are only as good as this, so the RTCC must
 * see when a device is unsynchronised (an appliance without RTC boots in 1970).
 */
export const ClockHealth = z.strictObject({
  /** True when the OS reports the clock synchronised (NTP, PTP, GPS). */
  synced: z.boolean(),
  /** Where the time comes from, e.g. `ntp`, `rtc`, `none`. */
  source: safeText(32).optional(),
  /** Estimated offset from the reference, ms (positive: agent is ahead). */
  offsetMs: z.number().optional(),
});
export type ClockHealth = z.infer<typeof ClockHealth>;

/** Recording state of one camera, as the recorder sees it. */
export const RecordingState = z.enum(['recording', 'starting', 'stalled', 'stopped', 'error']);
export type RecordingState = z.infer<typeof RecordingState>;

/** Which motion detector feeds a camera's episodes. */
export const MotionSourceSetting = z.enum(['onvif', 'pixel', 'both', 'none']);
export type MotionSourceSetting = z.infer<typeof MotionSourceSetting>;

export const CameraHealth = z.strictObject({
  cameraId: CameraId,
  recording: RecordingState,
  /** Age of the newest closed segment, ms; null before the first one. */
  newestSegmentAgeMs: NonNegative.nullable(),
  /** Measured frame rate of the recorded stream; null when unknown. */
  fps: NonNegative.nullable(),
  /** Measured bitrate of the recorded stream, bits per second; null when unknown. */
  bitrateBps: NonNegative.nullable(),
  /** How much footage the ring buffer holds. */
  buffer: z.strictObject({
    /** Start of the oldest footage held; null when empty. */
    oldestAt: EpochMs.nullable(),
    /** Span from the oldest footage to now, ms. */
    depthMs: NonNegative,
    bytes: NonNegative,
  }),
  /** Gaps in the recording during the last hour. */
  gapsLastHour: z.strictObject({ count: NonNegativeInt, totalMs: NonNegative }),
  motionSource: MotionSourceSetting,
  /** Camera clock minus agent clock, ms (from ONVIF GetSystemDateAndTime), when known. */
  clockOffsetMs: z.number().optional(),
  /** Short reason when recording is not `recording`; redacted by the sender. */
  error: safeText(200).optional(),
});
export type CameraHealth = z.infer<typeof CameraHealth>;

/** More cameras than any one appliance records; bounds the work a report can cause. */
export const MAX_CAMERAS_PER_AGENT = 256;

export const HealthPayload = z.strictObject({
  v: Version,
  ts: EpochMs,
  agentVersion: safeText(64),
  system: SystemHealth,
  clock: ClockHealth,
  cameras: z.array(CameraHealth).max(MAX_CAMERAS_PER_AGENT),
});
export type HealthPayload = z.infer<typeof HealthPayload>;
