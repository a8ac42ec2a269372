/**
 * The TS scanner against files made by real ffmpeg: the cheap "ends" parse
 * (what indexing uses) agrees with a full parse and with ffprobe, including a
 * file that ends in a large IDR frame (a stop right after a keyframe), whose
 * last PES starts well before the final 64 KiB.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanTs } from '../../agent/recorder/ts-scan.js';
import { ffmpegPath } from '../../lib/ffmpeg.js';
import { probe, tmpDir } from '../helpers/gst-recorder.js';

const dir = tmpDir('rec-tsscan-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function encode(name: string, frames: number): string {
  const out = path.join(dir, name);
  // Sensor-like noise keeps every frame large (an IDR of 1080p noise is hundreds of KiB).
  execFileSync(ffmpegPath(), [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi'],
    ...['-i', 'testsrc2=size=1920x1080:rate=15,noise=alls=20:allf=t'],
    ...['-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-bf', '0'],
    ...['-f', 'mpegts', out],
  ]);
  return out;
}

describe('recorder TS scanner', () => {
  it.each([
    ['ends on a P frame', 30],
    ['ends on a big IDR frame', 31],
  ])('agrees with a full parse and ffprobe for a file that %s', async (_what, frames) => {
    const file = encode(`f${frames}.ts`, frames);
    const full = await scanTs(file, { parse: 'full' });
    const ends = await scanTs(file);
    expect(ends.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(ends.lastPts).toBe(full.lastPts);
    expect(ends.durationMs).toBeCloseTo(full.durationMs, 0);
    expect(full.frames).toBe(frames);
    expect(full.keyframes).toHaveLength(Math.ceil(frames / 15));
    expect(ends.startsWithKeyframe).toBe(true);
    expect(ends.playable).toBe(true);
    expect(Number((await probe(file)).format.duration) * 1000).toBeCloseTo(full.durationMs, -2);
  });

  it('calls a file without a complete keyframe unplayable', async () => {
    const file = encode('short.ts', 15);
    const cut = path.join(dir, 'cut.ts');
    writeFileSync(cut, readFileSync(file).subarray(0, 188 * 30)); // inside the first IDR
    expect((await scanTs(cut)).playable).toBe(false);
  });
});
