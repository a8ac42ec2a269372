/**
 * One pass over an MPEG-TS segment: SHA-256 of the bytes, and from the
 * packets the facts the journal and clip cutting need (keyframes with their
 * timestamps, first/last PTS, which stream kinds are present).
 *
 * Why parse instead of spawning ffprobe per segment: 16 cameras produce a
 * segment every few seconds; one ffprobe process costs more CPU than copying
 * the segment, and we must read every byte for the hash anyway. The parser
 * follows ISO/IEC 13818-1 (MPEG-2 Systems): 188-byte packets, PAT (PID 0) ->
 * PMT -> elementary PIDs, PES headers carrying 33-bit PTS/DTS at 90 kHz, and
 * the adaptation field's random_access_indicator, which ffmpeg's mpegts muxer
 * sets on every keyframe. ffprobe stays the judge in reconcile and in tests.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';

const PACKET = 188;
const WRAP = 2 ** 33;
const MIN_PACKETS = 20;

/** PMT stream_type values (ISO/IEC 13818-1 Table 2-34 plus common registrations). */
const VIDEO_TYPES = new Map([
  [0x1b, 'h264'],
  [0x24, 'hevc'],
  [0x02, 'mpeg2video'],
  [0x10, 'mpeg4'],
]);
const AUDIO_TYPES = new Set([0x0f, 0x11, 0x03, 0x04, 0x81, 0x87]);

export interface Keyframe {
  /** 90 kHz, unwrapped relative to the file's first video PTS. */
  pts: number;
  dts: number;
}

export interface TsScan {
  bytes: number;
  sha256: string;
  hasVideo: boolean;
  hasAudio: boolean;
  videoCodec?: string;
  /** 90 kHz timestamps of the first and the latest video frame. */
  firstPts?: number;
  lastPts?: number;
  frames: number;
  keyframes: Keyframe[];
  startsWithKeyframe: boolean;
  /** Presentation span of the video: last - first + one frame. */
  durationMs: number;
  /** Bytes skipped to find the 0x47 sync again (0 for a clean file). */
  resyncBytes: number;
  /** Enough to decode: video present and at least one complete keyframe (a frame starts after it). */
  playable: boolean;
}

function readTs(b: Uint8Array, o: number): number {
  // 33-bit PTS/DTS spread over 5 bytes with marker bits (13818-1 2.4.3.7).
  const b0 = b[o]!,
    b1 = b[o + 1]!,
    b2 = b[o + 2]!,
    b3 = b[o + 3]!,
    b4 = b[o + 4]!;
  return ((b0 >> 1) & 0x07) * 2 ** 30 + ((b1 << 22) | ((b2 >> 1) << 15) | (b3 << 7) | (b4 >> 1));
}

/** True if the payload holds an IDR (H.264 type 5) or IRAP (HEVC 16..21) NAL unit. */
function hasRandomAccessNal(p: Uint8Array, codec: string | undefined): boolean {
  for (let i = 0; i + 3 < p.length; i++) {
    if (p[i] !== 0 || p[i + 1] !== 0 || p[i + 2] !== 1) continue;
    const h = p[i + 3]!;
    if (codec === 'hevc') {
      const t = (h >> 1) & 0x3f;
      if (t >= 16 && t <= 21) return true;
    } else if ((h & 0x1f) === 5) return true;
  }
  return false;
}

class Parser {
  pmtPid = -1;
  videoPid = -1;
  audioPids = new Set<number>();
  codec: string | undefined;
  first: number | undefined;
  max: number | undefined;
  frames = 0;
  keyframes: Keyframe[] = [];
  startsWithKeyframe = false;
  /** Frame number of the first keyframe; a later frame start proves that keyframe complete. */
  firstKeyframeAt = -1;

  packets = 0;
  ptsSeen: number[] = [];
  stopAfter: number | undefined;
  done = false;

  /** One 188-byte packet at b[o]. Offsets, not subarrays: no allocation per packet. */
  packet(b: Uint8Array, o: number): void {
    this.packets++;
    const b1 = b[o + 1]!;
    if (!(b1 & 0x40)) return; // only packets that start a PES or a section matter here
    const pid = ((b1 & 0x1f) << 8) | b[o + 2]!;
    if (pid !== 0 && pid !== this.pmtPid && pid !== this.videoPid) return;
    const afc = (b[o + 3]! >> 4) & 0x03;
    let off = 4;
    let rai = false;
    if (afc & 0x02) {
      const len = b[o + 4]!;
      if (len > 0) rai = (b[o + 5]! & 0x40) !== 0;
      off = 5 + len;
    }
    if (!(afc & 0x01) || off >= PACKET) return;
    const payload = b.subarray(o + off, o + PACKET);
    if (pid === 0) this.pat(payload);
    else if (pid === this.pmtPid) this.pmt(payload);
    else this.pes(payload, rai);
  }

  private section(p: Uint8Array): Uint8Array | undefined {
    const start = 1 + p[0]!; // pointer_field
    if (start + 3 > p.length) return undefined;
    const len = ((p[start + 1]! & 0x0f) << 8) | p[start + 2]!;
    return p.subarray(start, Math.min(p.length, start + 3 + len - 4)); // without CRC_32
  }

  private pat(p: Uint8Array): void {
    const s = this.section(p);
    if (!s || s[0] !== 0x00) return;
    for (let i = 8; i + 4 <= s.length; i += 4) {
      const program = (s[i]! << 8) | s[i + 1]!;
      if (program !== 0) {
        this.pmtPid = ((s[i + 2]! & 0x1f) << 8) | s[i + 3]!;
        return;
      }
    }
  }

  private pmt(p: Uint8Array): void {
    const s = this.section(p);
    if (!s || s[0] !== 0x02) return;
    const infoLen = ((s[10]! & 0x0f) << 8) | s[11]!;
    for (let i = 12 + infoLen; i + 5 <= s.length;) {
      const type = s[i]!;
      const pid = ((s[i + 1]! & 0x1f) << 8) | s[i + 2]!;
      const esLen = ((s[i + 3]! & 0x0f) << 8) | s[i + 4]!;
      if (VIDEO_TYPES.has(type) && this.videoPid < 0) {
        this.videoPid = pid;
        this.codec = VIDEO_TYPES.get(type);
      } else if (AUDIO_TYPES.has(type)) this.audioPids.add(pid);
      i += 5 + esLen;
    }
  }

  private pes(p: Uint8Array, rai: boolean): void {
    if (p.length < 14 || p[0] !== 0 || p[1] !== 0 || p[2] !== 1) return;
    const flags = p[7]! >> 6;
    if (!(flags & 0x02)) return; // no PTS: cannot place the frame in time
    let pts = readTs(p, 9);
    let dts = flags === 0x03 && p.length >= 19 ? readTs(p, 14) : pts;
    if (this.first === undefined) this.first = pts;
    // Unwrap the 33-bit counter relative to the first frame (wraps every 26.5 h).
    if (pts < this.first - WRAP / 2) pts += WRAP;
    if (dts < this.first - WRAP / 2) dts += WRAP;
    const key = rai || hasRandomAccessNal(p.subarray(9 + p[8]!), this.codec);
    if (this.frames === 0) this.startsWithKeyframe = key;
    this.frames++;
    if (key) {
      if (this.stopAfter !== undefined && pts - this.first > this.stopAfter) this.done = true;
      if (this.firstKeyframeAt < 0) this.firstKeyframeAt = this.frames - 1;
      this.keyframes.push({ pts: pts - this.first, dts: dts - this.first });
    }
    if (this.max === undefined || pts > this.max) this.max = pts;
    this.ptsSeen.push(pts);
  }

  /** One frame's duration (90 kHz): the median step between the presentation times seen. */
  frameDuration(): number {
    const v = [...new Set(this.ptsSeen)].sort((a, b) => a - b);
    const steps: number[] = [];
    for (let i = 1; i < v.length; i++) steps.push(v[i]! - v[i - 1]!);
    if (steps.length === 0) return 0;
    steps.sort((a, b) => a - b);
    return steps[steps.length >> 1]!;
  }
}

const CHUNK = 1024 * 1024;
/** In "ends" mode only this much at each end of the file is parsed (the rest is only hashed). */
const END_BYTES = 64 * 1024;
/** ...and the head goes on until this many frames are seen (a 1080p IDR alone can pass 64 KiB). */
const HEAD_FRAMES = 4;

export interface ScanOptions {
  /** Compute SHA-256 (default true). */
  hash?: boolean;
  /**
   * "full" parses every packet (all keyframes: clip cutting). "ends" (default)
   * parses only the first and last 64 KiB (more at the head until a few frames
   * are seen): enough for the first keyframe,
   * the first and last PTS and the frame rate, at a fraction of the CPU; the
   * recorder indexes every segment this way.
   */
  parse?: 'full' | 'ends';
  /** Stop reading at the first keyframe later than this (90 kHz from the first frame): clip cutting. */
  stopAfterPts?: number;
}

/**
 * Read buffers are reused: a fresh 1 MiB buffer per segment (16 cameras, a
 * segment every few seconds) is external memory that makes V8 collect
 * garbage far more often than the recorder's own objects would.
 */
const spare: Buffer[] = [];
function takeBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(CHUNK + PACKET);
}
function giveBuffer(b: Buffer): void {
  if (spare.length < 4) spare.push(b);
}

/** Scan a TS file: hash and structure. Reads 256 KiB chunks; tolerates a torn tail. */
export async function scanTs(file: string, opts: ScanOptions = {}): Promise<TsScan> {
  const hash = opts.hash === false ? undefined : createHash('sha256');
  const full = opts.parse === 'full';
  const parser = new Parser();
  parser.stopAfter = opts.stopAfterPts;
  const fh = await fsp.open(file, 'r');
  const buf = takeBuffer();
  let carry = 0; // bytes at buf[0..carry) left from the previous read
  let pos = 0; // file offset of buf[0]
  let resyncBytes = 0;
  let align = -1; // offset of the first sync byte: packets sit at align + k * 188
  let skipFrom = -1; // where "ends" mode stopped parsing the head
  let framesInHead = 0;
  try {
    const size = (await fh.stat()).size;
    const tailStart = size - END_BYTES;
    while (!parser.done) {
      const { bytesRead } = await fh.read(buf, carry, CHUNK, null);
      if (bytesRead === 0) break;
      hash?.update(buf.subarray(carry, carry + bytesRead));
      const end = carry + bytesRead;
      let i = align >= 0 ? (((align - pos) % PACKET) + PACKET) % PACKET : 0;
      while (i + PACKET <= end) {
        // "ends": past the head, skip (hash only) to the first packet of the tail.
        if (!full && parser.frames >= HEAD_FRAMES && pos + i >= END_BYTES && pos + i < tailStart) {
          if (skipFrom < 0) {
            skipFrom = pos + i;
            framesInHead = parser.frames;
          }
          i += Math.ceil((tailStart - pos - i) / PACKET) * PACKET;
          continue;
        }
        if (buf[i] !== 0x47) {
          i++;
          resyncBytes++;
          continue;
        }
        if (align < 0 || (pos + i - align) % PACKET !== 0) align = pos + i;
        parser.packet(buf, i);
        i += PACKET;
      }
      const keep = Math.max(0, end - i);
      buf.copy(buf, 0, end - keep, end);
      pos += end - keep;
      carry = keep;
    }
    // The tail must hold two frame starts for the last PTS to be right; one big frame
    // (an IDR at a stop, a high-bitrate camera) can fill 64 KiB: widen it backwards.
    let from = skipFrom >= 0 ? Math.ceil((tailStart - align) / PACKET) * PACKET + align : -1;
    while (skipFrom >= 0 && parser.frames - framesInHead < 2 && from > skipFrom) {
      const wider = Math.max(skipFrom, size - (size - from) * 4);
      const start = Math.ceil((wider - align) / PACKET) * PACKET + align;
      for (let at = start; at < from;) {
        const len = Math.min(CHUNK - (CHUNK % PACKET), from - at);
        const { bytesRead } = await fh.read(buf, 0, len, at);
        for (let k = 0; k + PACKET <= bytesRead; k += PACKET) if (buf[k] === 0x47) parser.packet(buf, k);
        if (bytesRead < len) break;
        at += len;
      }
      from = start;
    }
  } finally {
    giveBuffer(buf);
    await fh.close();
  }
  const bytes = pos + carry;
  const { first, max } = parser;
  const span = first !== undefined && max !== undefined ? max - first : 0;
  const frameDur = parser.frameDuration();
  return {
    bytes,
    sha256: hash ? hash.digest('hex') : '',
    hasVideo: parser.videoPid >= 0,
    hasAudio: parser.audioPids.size > 0,
    videoCodec: parser.codec,
    firstPts: first,
    lastPts: max,
    frames: parser.frames,
    keyframes: parser.keyframes,
    startsWithKeyframe: parser.startsWithKeyframe,
    durationMs: Math.round(((span + frameDur) / 90) * 1000) / 1000,
    resyncBytes,
    // ffmpeg's mpegts probe wants a run of packets before it accepts a file: fewer than
    // MIN_PACKETS is a fragment no player opens, however well formed.
    playable:
      parser.videoPid >= 0 &&
      parser.firstKeyframeAt >= 0 &&
      parser.frames > parser.firstKeyframeAt + 1 &&
      parser.packets >= MIN_PACKETS,
  };
}
