/** Shared shapes of the recorder: what the rest of the agent sees. All times are Unix epoch ms (UTC). */

/**
 * Why footage is missing. The first four are the causes the issue names; the
 * others say more precisely what the supervisor or the reconciler saw.
 */
export const GAP_CAUSES = [
  'camera-unreachable',
  'auth-failed',
  'stalled',
  'agent-stopped',
  'agent-crashed',
  'stream-not-found',
  'stream-ended',
  'ffmpeg-exited',
  'disk-full',
  'disk-read-only',
  'storage-error',
  'file-missing',
  'unknown',
] as const;
export type GapCause = (typeof GAP_CAUSES)[number];

/** Causes that only say "it stopped"; a later, more specific one replaces them in an open gap. */
export const GENERIC_CAUSES: ReadonlySet<GapCause> = new Set(['stream-ended', 'ffmpeg-exited', 'unknown']);

export interface Segment {
  camera: string;
  /** Path relative to the camera folder: YYYY/MM/DD/HH/YYYYMMDDTHHMMSS.mmmZ.ts */
  file: string;
  /** Wall-clock time of the first frame. */
  start: number;
  /** Wall-clock time just after the last frame (start + duration). */
  end: number;
  bytes: number;
  sha256: string;
  /** True when the first video frame is a keyframe (IDR): the segment decodes on its own. */
  keyframe: boolean;
  audio: boolean;
}

export interface Gap {
  from: number;
  to: number;
  cause: GapCause;
  detail?: string;
}

export interface Interval {
  from: number;
  to: number;
}

export interface Coverage {
  camera: string;
  from: number;
  to: number;
  covered: Interval[];
  gaps: Gap[];
  /** Fraction of [from, to] with footage, 0..1. */
  ratio: number;
}

export type CameraState = 'starting' | 'recording' | 'retrying' | 'degraded' | 'stopped';

export interface CameraStats {
  camera: string;
  state: CameraState;
  /** Clear, redacted reason when not recording (e.g. "authentication failed (401)"). */
  detail?: string;
  bytes: number;
  segments: number;
  oldest?: number;
  newest?: number;
  /** Age of the newest finished segment's end, ms; undefined when there is none. */
  segmentAgeMs?: number;
  restarts: number;
}

export interface RecorderStats {
  bytes: number;
  oldest?: number;
  freeBytes?: number;
  /** Holds alone exceed the quota or reserve: recording continues into the free-space reserve. */
  storageCritical: boolean;
  cameras: CameraStats[];
}

export interface Hold {
  id: string;
  camera: string;
  from: number;
  to: number;
  reason: string;
  /** The hold lapses after this time (ms); footage becomes evictable again. */
  until: number;
  createdAt: number;
}
