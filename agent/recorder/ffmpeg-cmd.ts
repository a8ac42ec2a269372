/**
 * The recording ffmpeg command and how to read what it says. Pure functions.
 *
 * Container: MPEG-TS segments (ISO/IEC 13818-1). TS is a sequence of
 * self-contained 188-byte packets with no index to write at the end, so a
 * file cut off by kill -9 or a power cut is still playable up to its last
 * whole packet, and every finished segment is complete the moment ffmpeg
 * closes it. (Plain MP4 needs its moov atom written at close: a killed file
 * is unplayable. Fragmented MP4 would also survive, but TS needs no
 * init-segment bookkeeping, carries H.264/H.265/AAC by stream copy, and
 * ffmpeg's concat demuxer joins TS segments without re-encoding.)
 * Overhead: ~2-4% of bytes at camera bitrates; clips are remuxed to MP4.
 *
 * Segment length: 60 s by default. 30 days x 16 cameras is 691k files at
 * 60 s (1440 a day per camera, 60 per hour folder) against 4.1M at 10 s;
 * the cost is that a power cut can lose up to 60 s of the segment being
 * written (a crash of ffmpeg or the agent loses far less: the partial TS
 * file is salvaged on restart) and the stall detector waits 2 x 60 s + grace.
 * Clip precision does not depend on it: clips are cut at the keyframe at or
 * before the requested time (one GOP), inside a segment.
 *
 * `-segment_atclocktime 1` aligns cuts to wall-clock multiples of the
 * segment length (in UTC: we spawn with TZ=UTC), so a segment never spans an
 * hour folder. `-segment_list pipe:1` (csv) makes ffmpeg print a line on
 * stdout as each segment is closed: our reliable "segment finished" signal.
 */
import type { GapCause } from './types.js';

export interface RecordArgsInput {
  url: string;
  transport: 'tcp' | 'udp';
  segmentSeconds: number;
  /** Pattern for the segments being written, e.g. /dir/cam/incoming/RUN-%06d.ts */
  outputPattern: string;
  /** Socket I/O timeout: ffmpeg gives up on a silent camera after this (microseconds in argv). */
  ioTimeoutMs?: number;
  /**
   * Write every packet of the segment in progress through to the kernel. By
   * default ffmpeg holds up to 256 KiB of it (measured with ffmpeg 5.1: files
   * grow in 256 KiB steps), which a kill -9 of ffmpeg loses: 0.5 s of a
   * 4 Mbit/s camera, several seconds of a low-bitrate one. Flushing costs
   * about 10% more ffmpeg CPU (16 x 1080p 4 Mbit/s, side by side: 4.36 vs
   * 3.97 CPU-s in 90 s), so it is off by default; either way a crash loses at
   * most the segment being written, and a power cut loses the page cache.
   * (ffmpeg's own -flush_packets does not reach the segment muxer's files.)
   */
  flushPackets?: boolean;
}

export function recordArgs(i: RecordArgsInput): string[] {
  const timeoutUs = String(Math.round((i.ioTimeoutMs ?? 10_000) * 1000));
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'warning',
    '-rtsp_transport',
    i.transport,
    // rtsp demuxer "timeout" (ffmpeg >= 5): socket I/O timeout, TCP and UDP alike.
    '-timeout',
    timeoutUs,
    '-i',
    i.url,
    // Video always, audio when the camera sends it; no re-encode.
    '-map',
    '0:v',
    '-map',
    '0:a?',
    '-c',
    'copy',
    '-f',
    'segment',
    '-segment_format',
    'mpegts',
    '-segment_time',
    String(i.segmentSeconds),
    '-segment_atclocktime',
    '1',
    '-reset_timestamps',
    '1',
    ...(i.flushPackets ? ['-segment_format_options', 'flush_packets=1'] : []),
    '-segment_list',
    'pipe:1',
    '-segment_list_type',
    'csv',
    i.outputPattern,
  ];
}

export interface SegmentListEntry {
  name: string;
  startSec: number;
  endSec: number;
}

/** A csv segment-list line: `name,start,end` (ffmpeg quotes names with commas; ours have none). */
export function parseSegmentListLine(line: string): SegmentListEntry | undefined {
  const m = /^"?([^",]+)"?,(-?[\d.]+),(-?[\d.]+)\s*$/.exec(line);
  if (!m) return undefined;
  const startSec = Number(m[2]);
  const endSec = Number(m[3]);
  if (!Number.isFinite(startSec) || !Number.isFinite(endSec)) return undefined;
  return { name: m[1]!, startSec, endSec };
}

export interface Classified {
  cause: GapCause;
  /** Clear advice for a technician; never contains the URL's password. */
  message: string;
}

/** Ordered: storage problems first (they are ours to fix), then the camera's answers. */
const RULES: { re: RegExp; cause: GapCause; message: string }[] = [
  {
    re: /No space left on device/i,
    cause: 'disk-full',
    message: 'storage full: no space left on the recording volume',
  },
  {
    re: /Read-only file system/i,
    cause: 'disk-read-only',
    message: 'storage is read-only: the recording volume was remounted read-only',
  },
  {
    re: /Failed to open segment|Permission denied|Input\/output error/i,
    cause: 'storage-error',
    message: 'cannot write segments to the recording folder',
  },
  {
    re: /401 Unauthorized|authorization failed/i,
    cause: 'auth-failed',
    message: 'authentication failed (401): check the camera user name and password',
  },
  {
    re: /403 Forbidden/i,
    cause: 'auth-failed',
    message: 'access denied (403): the camera refused this user',
  },
  {
    re: /404 Not Found|454 Session Not Found/i,
    cause: 'stream-not-found',
    message: 'stream not found (404): check the RTSP path',
  },
  {
    re: /Connection refused|Connection timed out|timed out|No route to host|Network is unreachable|Host is unreachable|Name or service not known|name resolution|Temporary failure/i,
    cause: 'camera-unreachable',
    message: 'camera unreachable: no answer on its RTSP port',
  },
  {
    re: /End of file|Connection reset by peer|Broken pipe|Invalid data found/i,
    cause: 'stream-ended',
    message: 'the camera ended the stream',
  },
];

/** What went wrong, from ffmpeg's last stderr lines (already redacted or not: we never echo them). */
export function classifyStderr(lines: readonly string[]): Classified | undefined {
  const text = lines.join('\n');
  for (const r of RULES) if (r.re.test(text)) return { cause: r.cause, message: r.message };
  return undefined;
}

/** Node fs errors (our own writes) in the same vocabulary. */
export function classifyFsError(code: string | undefined): Classified {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { cause: 'disk-full', message: 'storage full: no space left on the recording volume' };
    case 'EROFS':
      return {
        cause: 'disk-read-only',
        message: 'storage is read-only: the recording volume was remounted read-only',
      };
    default:
      return {
        cause: 'storage-error',
        message: `cannot write to the recording folder (${code ?? 'unknown error'})`,
      };
  }
}
