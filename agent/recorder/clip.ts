/**
 * Cutting a clip: one MP4 (moov first, "+faststart"), stream copy, from the
 * keyframe at or before `from` to at or after `to`.
 *
 * We pick the segments ourselves from the index and find the keyframe in the
 * first one with the TS scanner, then hand ffmpeg's concat demuxer a list
 * with `inpoint` = that keyframe's DTS and `outpoint` just past `to`
 * (https://ffmpeg.org/ffmpeg-formats.html#concat-1). With stream copy the
 * demuxer starts exactly on the keyframe we named, so the clip decodes from
 * its first frame and starts at most one GOP before `from`; no re-encode, so
 * a 10-minute clip is a remux of a few hundred MB.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { redactText } from '../../lib/redact.js';
import { scanTs } from './ts-scan.js';
import type { Gap, Segment } from './types.js';

/** Past `to`, so that a frame presented at `to` is inside (B-frame reordering, rounding). */
const END_MARGIN_MS = 500;

export interface ClipRequest {
  /** Camera folder (DIR/CAM). */
  root: string;
  /** Segments overlapping [from, to], sorted by start. */
  segments: readonly Segment[];
  from: number;
  to: number;
  out: string;
  ffmpeg: string;
  /** Gaps inside the window, reported with the result. */
  gaps?: Gap[];
}

export interface ClipResult {
  file: string;
  camera: string;
  /** Wall-clock time of the clip's first frame (the keyframe at or before `from`). */
  start: number;
  /** Wall-clock time just after its last frame. */
  end: number;
  bytes: number;
  segments: string[];
  /** False when footage is missing inside [from, to] (see gaps); the clip then spans what exists. */
  complete: boolean;
  gaps: Gap[];
}

export class ClipError extends Error {
  override name = 'ClipError';
}

export async function cutClip(req: ClipRequest): Promise<ClipResult> {
  const { segments, from, to } = req;
  if (!(to > from)) throw new ClipError('clip: "to" must be after "from"');
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last)
    throw new ClipError(
      `no footage between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}`,
    );

  const abs = (s: Segment) => path.join(req.root, s.file);
  const head = await scanTs(abs(first), {
    hash: false,
    parse: 'full',
    stopAfterPts: Math.max(0, from - first.start) * 90,
  });
  if (head.firstPts === undefined || head.keyframes.length === 0)
    throw new ClipError(`segment ${first.file} has no keyframe`);
  // Keyframe at or before `from` (wall time = segment start + PTS offset).
  let kf = head.keyframes[0]!;
  for (const k of head.keyframes) if (first.start + k.pts / 90 <= from) kf = k;
  const start = Math.round(first.start + kf.pts / 90);
  const inpoint = (head.firstPts + kf.dts) / 90000;

  // The head scan may have stopped early: the tail needs only its own first PTS.
  const tail = await scanTs(abs(last), { hash: false, parse: 'full', stopAfterPts: 0 });
  const outWall = to + END_MARGIN_MS;
  const outpoint =
    outWall < last.end && tail.firstPts !== undefined
      ? tail.firstPts / 90000 + (outWall - last.start) / 1000
      : undefined;
  const end = outpoint === undefined ? last.end : outWall;

  const lines = ['ffconcat version 1.0'];
  segments.forEach((s, i) => {
    lines.push(`file '${abs(s).replaceAll("'", "'\\''")}'`);
    if (i === 0) lines.push(`inpoint ${inpoint.toFixed(6)}`);
    if (i === segments.length - 1 && outpoint !== undefined) lines.push(`outpoint ${outpoint.toFixed(6)}`);
  });
  const out = path.resolve(req.out);
  const tmp = `${out}.${process.pid}.part`;
  const list = `${out}.${process.pid}.ffconcat`;
  await fsp.writeFile(list, lines.join('\n') + '\n');
  try {
    await runFfmpeg(req.ffmpeg, [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      list,
      '-map',
      '0:v',
      '-map',
      '0:a?',
      '-c',
      'copy',
      // Audio packets interleaved just before the keyframe would get negative times.
      '-avoid_negative_ts',
      'make_zero',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      '-y',
      tmp,
    ]);
    await fsp.rename(tmp, out);
  } finally {
    await fsp.rm(list, { force: true });
    await fsp.rm(tmp, { force: true });
  }
  const gaps = req.gaps ?? [];
  const st = await fsp.stat(out);
  return {
    file: out,
    camera: first.camera,
    start,
    end,
    bytes: st.size,
    segments: segments.map((s) => s.file),
    complete: gaps.length === 0 && start <= from && end >= to,
    gaps,
  };
}

function runFfmpeg(ffmpeg: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4000) err += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ClipError(
            `ffmpeg could not cut the clip (${signal ?? `exit ${code}`}): ${redactText(err.trim().split('\n').slice(-3).join(' | '))}`,
          ),
        );
    });
  });
}
