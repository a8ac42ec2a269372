/**
 * Pre-encodes each scene once with ffmpeg (lavfi drawing + libx264) and
 * caches the result, so a served camera only loops bytes: no live encode.
 *
 * Cache layout: <cacheDir>/<scene>-<hash>/ with main.h264, sub.h264,
 * snapshots/snap-NNN.jpg (one per second of scene time, 1280x720),
 * ground-truth.json and manifest.json. The hash covers the scene spec, both
 * stream profiles, the exact ffmpeg arguments and the ffmpeg version, so any
 * change re-encodes. A directory exists under its final name only once
 * complete: it is built in a temp dir and renamed (rename(2) is atomic); a
 * process that loses the race to another discards its copy and uses the
 * winner's, so concurrent callers (parallel test workers) are safe.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffmpegInfo } from '../lib/ffmpeg.js';
import type { Logger } from '../lib/log.js';
import { silentLogger } from '../lib/log.js';
import { parseH264 } from './h264.js';
import type { MovingObject, SceneSpec, StreamProfile } from './scenes.js';
import { SCENES, STREAM_PROFILES, groundTruth, validateScene } from './scenes.js';

export interface EncodedStream {
  role: StreamProfile['role'];
  profile: StreamProfile;
  /** Raw Annex-B H.264, SPS/PPS before every IDR, exactly `frames` frames, GOP `profile.gop`. */
  h264Path: string;
  frames: number;
}

export interface EncodedScene {
  dir: string;
  scene: SceneSpec;
  main: EncodedStream;
  sub: EncodedStream;
  /** One JPEG per second of scene time (index = second), 1280x720. */
  snapshots: string[];
  groundTruthPath: string;
}

export interface EncodeProgress {
  scene: string;
  /** 'cached': found complete in the cache; 'encoding': fraction in 0..1; 'done': freshly encoded. */
  phase: 'cached' | 'encoding' | 'done';
  fraction: number;
}

export interface EnsureSceneOptions {
  cacheDir?: string;
  log?: Logger;
  onProgress?: (p: EncodeProgress) => void;
}

/** Bumped when the layout of a cache entry changes in a way the hash of the arguments does not see. */
const CACHE_FORMAT = 1;

/** `CAMCONNECT_CACHE_DIR`, else `<repo>/.cache/scenes` (the repo found from this file, in src or dist). */
export function defaultCacheDir(): string {
  const fromEnv = process.env['CAMCONNECT_CACHE_DIR'];
  if (fromEnv) return path.resolve(fromEnv);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, '.cache', 'scenes');
    dir = path.dirname(dir);
  }
  return path.resolve('.cache', 'scenes');
}

/**
 * Painted stills: a base colour and filled rectangles, each "x y w h rrggbb" in fractions of the
 * frame, separated by '|'. Fractions keep main and sub identical; detail is only there so the
 * encoder has texture to spend bits on, as with a real scene.
 */
const BACKGROUNDS: Record<SceneSpec['background'], { base: string; boxes: string }> = {
  street: {
    base: '9db4c8', // sky, buildings with windows, sidewalk, road with lane marks
    boxes:
      '0 .12 .3 .4 8a6f5a|.3 .05 .25 .47 b9a58c|.55 .15 .45 .37 6d7078|.05 .2 .06 .08 2b3440|' +
      '.18 .2 .06 .08 2b3440|.36 .12 .05 .1 3a4450|.46 .12 .05 .1 3a4450|.62 .25 .3 .08 404a55|' +
      '0 .52 1 .18 b0aca4|0 .7 1 .3 4a4a4c|.1 .84 .12 .015 e8e8e0|.45 .84 .12 .015 e8e8e0|.8 .84 .12 .015 e8e8e0',
  },
  lobby: {
    base: 'd8c8a8', // warm wall, floor, glass door, desk, plant, picture
    boxes:
      '0 .68 1 .32 8c7660|.4 .22 .2 .46 5a4634|.42 .25 .16 .43 9fb8c0|.72 .5 .22 .2 6b4e3a|' +
      '.08 .5 .05 .18 3d6b35|.1 .1 .12 .14 f0f0e8',
  },
  parking: {
    base: '1c2230', // night sky, asphalt, bay lines, lamp post, a parked van
    boxes:
      '0 .4 1 .6 2e2e30|.1 .55 .008 .35 c8c8b0|.3 .55 .008 .35 c8c8b0|.5 .55 .008 .35 c8c8b0|' +
      '.7 .55 .008 .35 c8c8b0|.9 .55 .008 .35 c8c8b0|.78 .1 .01 .45 505058|.74 .08 .09 .03 fff0b0|' +
      '.2 .42 .15 .1 3c4048',
  },
  corridor: {
    base: 'a0a4a8', // walls, floor, ceiling, far end, doors, ceiling lights
    boxes:
      '0 .75 1 .25 6c6860|0 0 1 .12 c8c8c8|.3 .2 .4 .55 84888c|.42 .3 .16 .45 50545a|' +
      '.08 .3 .12 .45 7a5a40|.8 .3 .12 .45 7a5a40|.25 .03 .1 .04 fffff0|.65 .03 .1 .04 fffff0',
  },
};

const even = (v: number): number => Math.max(2, 2 * Math.round(v / 2));

/** overlay expression for a linear path of one coordinate between startSec and endSec. */
function pathExpr(dim: 'W' | 'H', o: MovingObject, a: number, b: number): string {
  return `${dim}*(${a}+(${b - a})*(t-${o.startSec})/${o.endSec - o.startSec})`;
}

/** Piecewise-constant brightness: the last step at or before t, else 0. */
function brightnessExpr(scene: SceneSpec): string {
  const steps = [...scene.brightness].sort((x, y) => x.atSec - y.atSec);
  return steps.reduce((acc, s) => `if(gte(t,${s.atSec}),${s.brightness},${acc})`, '0');
}

/**
 * One drawing at main resolution (background, objects, brightness, noise),
 * split into [main], [sub] (scaled, so both show the same noise and motion) and
 * [snap] (every fps-th frame, i.e. one per second of scene time).
 */
export function buildFilterGraph(scene: SceneSpec, main: StreamProfile, sub: StreamProfile): string {
  const { width: W, height: H, fps } = main;
  const bg = BACKGROUNDS[scene.background];
  const boxes = bg.boxes.split('|').map((box) => {
    const [x, y, w, h, c] = box.split(' ');
    return `drawbox=x=iw*${x}:y=ih*${y}:w=iw*${w}:h=ih*${h}:color=0x${c}:t=fill`;
  });
  const parts = [
    `color=c=0x${bg.base}:s=${W}x${H}:r=${fps}:d=${scene.durationSec},format=yuv420p,${boxes.join(',')}[v0]`,
  ];
  scene.objects.forEach((o, i) => {
    parts.push(`color=c=${o.color}:s=${even(o.w * W)}x${even(o.h * H)}:r=${fps}[o${i}]`);
    parts.push(
      `[v${i}][o${i}]overlay=x='${pathExpr('W', o, o.from.x, o.to.x)}':y='${pathExpr('H', o, o.from.y, o.to.y)}'` +
        `:eval=frame:enable='between(t,${o.startSec},${o.endSec})'[v${i + 1}]`,
    );
  });
  const last = `v${scene.objects.length}`;
  const noise = scene.noise > 0 ? `,noise=alls=${scene.noise}:allf=t` : '';
  parts.push(`[${last}]eq=brightness='${brightnessExpr(scene)}':eval=frame${noise},split=3[main][s0][j0]`);
  parts.push(`[s0]scale=${sub.width}:${sub.height},fps=${sub.fps}[sub]`);
  parts.push(`[j0]select='not(mod(n,${fps}))'[snap]`);
  return parts.join(';');
}

/**
 * libx264 as a camera would: no B-frames, fixed GOP with no scene-cut IDRs
 * (so frame 0 of every loop is an IDR), SPS/PPS repeated before each IDR so
 * a client joining at any keyframe can decode, VBV capped at the profile rate.
 */
export function x264Args(p: StreamProfile): string[] {
  const kbps = `${p.kbps}k`;
  return [
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-bf', '0'],
    ...['-g', String(p.gop), '-keyint_min', String(p.gop), '-sc_threshold', '0'],
    ...['-x264-params', `keyint=${p.gop}:min-keyint=${p.gop}:scenecut=0:repeat-headers=1:bframes=0`],
    ...['-b:v', kbps, '-maxrate', kbps, '-bufsize', kbps, '-r', String(p.fps), '-f', 'h264'],
  ];
}

/** Full ffmpeg argument list for one scene: main, sub and snapshots in a single pass over one drawing. */
export function ffmpegArgs(scene: SceneSpec, outDir: string, ffmpegMajor: number): string[] {
  const { main, sub } = STREAM_PROFILES;
  const video = (p: StreamProfile): string[] => [
    ...['-map', `[${p.role}]`, '-frames:v', String(scene.durationSec * p.fps), ...x264Args(p)],
    path.join(outDir, `${p.role}.h264`),
  ];
  const passthrough = ffmpegMajor >= 5 ? ['-fps_mode', 'passthrough'] : ['-vsync', '0'];
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-nostats', '-progress', 'pipe:1'],
    ...['-filter_complex', buildFilterGraph(scene, main, sub), ...video(main), ...video(sub)],
    ...['-map', '[snap]', '-frames:v', String(scene.durationSec), ...passthrough, '-q:v', '4'],
    ...['-start_number', '0', path.join(outDir, 'snapshots', 'snap-%03d.jpg')],
  ];
}

function cacheKey(scene: SceneSpec, ffmpegVersion: string, ffmpegMajor: number): string {
  const args = ffmpegArgs(scene, 'OUT', ffmpegMajor);
  const material = JSON.stringify({ CACHE_FORMAT, scene, profiles: STREAM_PROFILES, ffmpegVersion, args });
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

const snapshotPath = (dir: string, i: number): string =>
  path.join(dir, 'snapshots', `snap-${String(i).padStart(3, '0')}.jpg`);

function describe(dir: string, scene: SceneSpec): EncodedScene {
  const stream = (role: StreamProfile['role']): EncodedStream => ({
    role,
    profile: STREAM_PROFILES[role],
    h264Path: path.join(dir, `${role}.h264`),
    frames: scene.durationSec * STREAM_PROFILES[role].fps,
  });
  return {
    dir,
    scene,
    main: stream('main'),
    sub: stream('sub'),
    snapshots: Array.from({ length: scene.durationSec }, (_, i) => snapshotPath(dir, i)),
    groundTruthPath: path.join(dir, 'ground-truth.json'),
  };
}

/** Runs ffmpeg, reporting progress from `-progress pipe:1` (key=value lines, `frame=N`). */
function runFfmpeg(bin: string, args: string[], frames: number, onFrame: (f: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // Progress blocks are small and flushed whole; a line split across chunks only delays one update.
      for (const m of chunk.matchAll(/^frame=(\d+)$/gm)) onFrame(Math.min(1, Number(m[1]) / frames));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code, sig) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code ?? sig}: ${stderr.trim()}`)),
    );
  });
}

/** Checks what the server relies on: exact frame count, a keyframe at every GOP start and only there, size. */
async function verifyStream(s: EncodedStream): Promise<void> {
  const { accessUnits: aus, info } = parseH264(await readFile(s.h264Path));
  const p = s.profile;
  const badKey = aus.findIndex((au, i) => au.keyframe !== (i % p.gop === 0));
  let problem: string | undefined;
  if (aus.length !== s.frames) problem = `${aus.length} frames, expected ${s.frames}`;
  else if (badKey >= 0) problem = `frame ${badKey} breaks the fixed GOP of ${p.gop}`;
  else if (info.width !== p.width || info.height !== p.height) problem = `${info.width}x${info.height}`;
  if (problem) throw new Error(`${s.h264Path}: ${problem} (profile ${p.width}x${p.height}, GOP ${p.gop})`);
}

async function build(scene: SceneSpec, dest: string, opts: EnsureSceneOptions, bin: string, major: number) {
  const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(path.join(tmp, 'snapshots'), { recursive: true });
  try {
    const frames = scene.durationSec * STREAM_PROFILES.main.fps;
    let last = -1;
    await runFfmpeg(bin, ffmpegArgs(scene, tmp, major), frames, (fraction) => {
      if (fraction <= last || (fraction - last < 0.05 && fraction < 1)) return;
      last = fraction;
      opts.onProgress?.({ scene: scene.name, phase: 'encoding', fraction });
    });
    const tmpDesc = describe(tmp, scene);
    await verifyStream(tmpDesc.main);
    await verifyStream(tmpDesc.sub);
    const lastSnap = tmpDesc.snapshots.at(-1);
    if (lastSnap && !existsSync(lastSnap))
      throw new Error(`ffmpeg wrote fewer than ${scene.durationSec} snapshots`);
    await writeFile(tmpDesc.groundTruthPath, JSON.stringify(groundTruth(scene), null, 2) + '\n');
    const manifest = { scene: scene.name, frames, ffmpegMajor: major, builtAt: new Date().toISOString() };
    await writeFile(path.join(tmp, 'manifest.json'), JSON.stringify(manifest) + '\n');
    try {
      await rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process finished the same entry first: its copy is identical, keep it.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(path.join(dest, 'manifest.json')))
        throw err;
      opts.log?.debug('scene cache: lost the race, using the other copy', { scene: scene.name });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** In-process de-duplication: two callers for the same entry share one encode. */
const inFlight = new Map<string, Promise<EncodedScene>>();

export async function ensureScene(scene: SceneSpec, opts: EnsureSceneOptions = {}): Promise<EncodedScene> {
  validateScene(scene);
  const log = opts.log ?? silentLogger;
  const info = await ffmpegInfo();
  if (!info.capabilities.has.libx264) throw new Error(`ffmpeg at ${info.ffmpeg.path} has no libx264 encoder`);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const { version, major } = info.capabilities;
  const finalDir = path.join(cacheDir, `${scene.name}-${cacheKey(scene, version, major)}`);
  const existing = inFlight.get(finalDir);
  if (existing) return existing;
  const job = (async () => {
    if (existsSync(path.join(finalDir, 'manifest.json'))) {
      opts.onProgress?.({ scene: scene.name, phase: 'cached', fraction: 1 });
      return describe(finalDir, scene);
    }
    await mkdir(cacheDir, { recursive: true });
    log.info('encoding scene', { scene: scene.name, dir: finalDir });
    await build(scene, finalDir, opts, info.ffmpeg.path, major);
    opts.onProgress?.({ scene: scene.name, phase: 'done', fraction: 1 });
    return describe(finalDir, scene);
  })();
  inFlight.set(finalDir, job);
  try {
    return await job;
  } finally {
    inFlight.delete(finalDir);
  }
}

/** Encodes every scene in SCENES, one at a time (each ffmpeg already uses all cores). */
export async function ensureAllScenes(opts: EnsureSceneOptions = {}): Promise<EncodedScene[]> {
  const out: EncodedScene[] = [];
  for (const scene of SCENES) out.push(await ensureScene(scene, opts));
  return out;
}
