/**
 * A camera's live stream: the pre-packetized frames of one encoded file,
 * looped on the camera's SceneTimeline.
 *
 * Frame numbering: an "absolute" frame index a counts frames since the
 * timeline's scene time 0 at epochMs; frame a shows file frame a mod N and is
 * due at wall time epochMs + (a / fps - phaseSec) * 1000. Every session of the
 * camera derives what it sends from this one mapping, so all sessions (and
 * the ONVIF events, which read the same timeline) agree on what is on screen.
 *
 * RTP time: a frame's RTP timestamp is base + 90 * (its due wall time in ms),
 * and a Sender Report at wall time T carries base + 90 * T; so RTP time and
 * the SR's NTP time come from one clock, as RFC 3550 §6.4.1 asks.
 */
import { readFile } from 'node:fs/promises';
import type { EncodedStream } from '../encode.js';
import type { SpsInfo } from '../h264.js';
import { parseH264 } from '../h264.js';
import type { PacketizedFrame } from '../rtp.js';
import { DEFAULT_MTU, RTP_CLOCK_RATE, packetizeAccessUnit } from '../rtp.js';
import type { SceneTimeline } from '../scenes.js';

export interface LoadedMedia {
  frames: PacketizedFrame[];
  sps: Buffer;
  pps: Buffer;
  info: SpsInfo;
  fps: number;
  kbps: number;
  /** Total bytes held, for health output. */
  bytes: number;
}

/** Reads, parses and packetizes one encoded file (done once per file at server start). */
export async function loadMedia(s: EncodedStream, mtu = DEFAULT_MTU): Promise<LoadedMedia> {
  const parsed = parseH264(await readFile(s.h264Path));
  if (parsed.accessUnits.length !== s.frames) {
    throw new Error(`${s.h264Path}: ${parsed.accessUnits.length} frames, manifest says ${s.frames}`);
  }
  const frames = parsed.accessUnits.map((au) => packetizeAccessUnit(au, mtu));
  return {
    frames,
    sps: Buffer.from(parsed.sps),
    pps: Buffer.from(parsed.pps),
    info: parsed.info,
    fps: s.profile.fps,
    kbps: s.profile.kbps,
    bytes: frames.reduce((n, f) => n + f.wire.length, 0),
  };
}

const TWO_32 = 2 ** 32;

export class LiveStream {
  /** RTP ticks per frame; 90000 / fps is an integer for the profiles used (15 fps: 6000). */
  readonly ticksPerFrame: number;
  /** Where the first keyframe at or after each file frame is (file frame index), looping. */
  private readonly nextKey: Int32Array;

  constructor(
    readonly cameraId: string,
    readonly role: 'main' | 'sub',
    readonly timeline: SceneTimeline,
    readonly media: LoadedMedia,
  ) {
    this.ticksPerFrame = RTP_CLOCK_RATE / media.fps;
    const n = media.frames.length;
    if (!media.frames[0]?.keyframe) throw new Error(`${cameraId}/${role}: first frame is not a keyframe`);
    this.nextKey = new Int32Array(n);
    let next = n; // the keyframe at the start of the next loop
    for (let i = n - 1; i >= 0; i--) {
      if (media.frames[i]!.keyframe) next = i;
      this.nextKey[i] = next;
    }
  }

  get path(): string {
    return `${this.cameraId}/${this.role}`;
  }

  /** The absolute frame due at wall time `wallMs` (the latest one whose time has come). */
  frameAt(wallMs: number): number {
    const t = (wallMs - this.timeline.epochMs) / 1000 + this.timeline.phaseSec;
    return Math.floor(t * this.media.fps + 1e-6);
  }

  /** Wall time (ms) at which absolute frame `a` is shown. */
  frameTimeMs(a: number): number {
    return this.timeline.epochMs + (a / this.media.fps - this.timeline.phaseSec) * 1000;
  }

  /** The first absolute frame at or after `a` that is a keyframe. */
  nextKeyframe(a: number): number {
    const n = this.media.frames.length;
    const i = ((a % n) + n) % n;
    return a - i + this.nextKey[i]!;
  }

  frame(a: number): PacketizedFrame {
    const n = this.media.frames.length;
    return this.media.frames[((a % n) + n) % n]!;
  }

  /** RTP timestamp (mod 2^32) for wall time `wallMs` with a session's random base. */
  static rtpTime(base: number, wallMs: number): number {
    const ticks = Math.round(wallMs * (RTP_CLOCK_RATE / 1000));
    return (((base + ticks) % TWO_32) + TWO_32) % TWO_32;
  }

  /** RTP timestamp of absolute frame `a`; consecutive frames differ by exactly ticksPerFrame. */
  frameRtpTime(base: number, a: number): number {
    return LiveStream.rtpTime(base, this.frameTimeMs(a));
  }
}
