/**
 * What health needs from the rest of the agent, as small interfaces the
 * composition root adapts: health never imports the recorder or cameras, so
 * they can change (or be absent in a test) without touching it.
 */
import type { ClockHealth, MotionSourceSetting, RecordingState } from '../../protocol/schemas/health.js';

/**
 * One camera as the recorder and motion see it right now. Instants, not ages:
 * the collector turns them into ages with its own clock, so a source needs no
 * clock and the report's ages all refer to the same `now`.
 */
export interface CameraStatus {
  cameraId: string;
  recording: RecordingState;
  /** End of the newest closed segment (epoch ms); null before the first. */
  newestSegmentEndAt: number | null;
  fps: number | null;
  bitrateBps: number | null;
  /** Start of the oldest footage held (epoch ms); null when the buffer is empty. */
  oldestFootageAt: number | null;
  bufferBytes: number;
  gapsLastHour: { count: number; totalMs: number };
  motionSource: MotionSourceSetting;
  clockOffsetMs?: number;
  /** Short reason when not recording. Redacted again by the collector. */
  error?: string;
}

/** Implemented by the composition root over the recorder and cameras. */
export interface CameraHealthSource {
  cameras(): CameraStatus[];
}

/** Whether the wall clock is synchronised; see clock-sync.ts for the default. */
export interface ClockSyncSource {
  clockHealth(): Promise<ClockHealth>;
}

/** A source with no cameras: the link runs before the recorder exists, and in tests. */
export const noCameras: CameraHealthSource = { cameras: () => [] };
