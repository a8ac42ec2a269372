/**
 * Stream roles. A Profile S camera offers several media profiles of one sensor; the agent records
 * the best one and analyses the cheapest one:
 * - main: the most pixels (then the higher frame rate, then the higher bitrate): evidence must
 *   show faces and plates.
 * - sub: the fewest pixels among the others: pixel motion decodes it continuously, and decode
 *   cost grows with pixels, so 640x360 costs about a quarter of 1280x720.
 * Profiles without a video encoder (audio-only, metadata-only) are skipped, as are codecs the
 * agent cannot use. A camera with one profile uses it for both roles (motion then costs more).
 */
import type { MediaProfile } from './onvif-device.js';

const USABLE = new Set(['H264', 'H265', 'HEVC', 'JPEG', 'MPEG4']);

export interface StreamChoice {
  main: MediaProfile;
  sub: MediaProfile;
  /** True when the camera offered one usable profile only. */
  shared: boolean;
}

const pixels = (p: MediaProfile) => (p.width ?? 0) * (p.height ?? 0);

function better(a: MediaProfile, b: MediaProfile): number {
  return pixels(b) - pixels(a) || (b.fps ?? 0) - (a.fps ?? 0) || (b.bitrateKbps ?? 0) - (a.bitrateKbps ?? 0);
}

/** Picks main and sub; undefined when no profile carries usable video. */
export function pickStreams(profiles: readonly MediaProfile[]): StreamChoice | undefined {
  const video = profiles.filter(
    (p) => p.encoding !== undefined && USABLE.has(p.encoding.toUpperCase()) && pixels(p) > 0,
  );
  if (video.length === 0) return undefined;
  const sorted = [...video].sort(better);
  const main = sorted[0]!;
  const rest = sorted.slice(1);
  if (rest.length === 0) return { main, sub: main, shared: true };
  // Fewest pixels; among equals the higher frame rate (motion needs time resolution, not detail).
  const sub = [...rest].sort((a, b) => pixels(a) - pixels(b) || (b.fps ?? 0) - (a.fps ?? 0))[0]!;
  return { main, sub, shared: false };
}

/** ffprobe/ffmpeg codec names for the ONVIF encodings, as the wire contract reports them. */
export function codecName(encoding: string | undefined): string | undefined {
  switch (encoding?.toUpperCase()) {
    case 'H264':
      return 'h264';
    case 'H265':
    case 'HEVC':
      return 'hevc';
    case 'JPEG':
      return 'mjpeg';
    case 'MPEG4':
      return 'mpeg4';
    default:
      return undefined;
  }
}

/**
 * Puts credentials into an RTSP URL for ffmpeg, which takes them only there. The result is a
 * secret: pass it to spawn, never to a log (lib/redact.ts masks it if it slips).
 */
export function withCredentials(
  uri: string,
  creds: { username: string; password: string } | undefined,
): string {
  if (!creds) return uri;
  const u = new URL(uri);
  u.username = encodeURIComponent(creds.username);
  u.password = encodeURIComponent(creds.password);
  return u.toString();
}

/** Splits rtsp://user:pass@host/path into the plain URL and the credentials. */
export function splitCredentials(uri: string): {
  uri: string;
  credentials?: { username: string; password: string };
} {
  const u = new URL(uri);
  if (!u.username && !u.password) return { uri };
  const credentials = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  u.username = '';
  u.password = '';
  return { uri: u.toString(), credentials };
}
