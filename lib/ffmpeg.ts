/**
 * The one place that finds ffmpeg and ffprobe and says what they can do.
 *
 * Order: FFMPEG_PATH / FFPROBE_PATH, then the system PATH, then the static
 * binaries that the optional npm packages @ffmpeg-installer/* and
 * @ffprobe-installer/* ship (for machines with no system ffmpeg). Nothing here
 * downloads anything.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type ToolSource = 'env' | 'path' | 'npm';

export interface ToolLocation {
  path: string;
  source: ToolSource;
}

export interface FfmpegCapabilities {
  /** e.g. "5.1.9-0+deb12u1" */
  version: string;
  major: number;
  /** Encoders, decoders, muxers, demuxers and protocols the project relies on. */
  has: {
    libx264: boolean;
    h264Decoder: boolean;
    aacEncoder: boolean;
    mjpegEncoder: boolean;
    rtspDemuxer: boolean;
    segmentMuxer: boolean;
    mp4Muxer: boolean;
    mpegtsMuxer: boolean;
    matroskaMuxer: boolean;
  };
}

export interface FfmpegInfo {
  ffmpeg: ToolLocation;
  ffprobe: ToolLocation;
  capabilities: FfmpegCapabilities;
}

export class FfmpegNotFoundError extends Error {
  constructor(tool: string, tried: string[]) {
    super(
      `${tool} not found (tried: ${tried.join('; ')}). Install it (Debian: apt-get install ffmpeg) ` +
        `or set ${tool.toUpperCase()}_PATH to its full path.`,
    );
    this.name = 'FfmpegNotFoundError';
  }
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') return false;
    throw err;
  }
}

function findOnPath(name: string, envPath = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The npm-shipped static binary, if the optional package is installed for this platform. */
function findNpmShipped(tool: 'ffmpeg' | 'ffprobe'): string | undefined {
  const require = createRequire(import.meta.url);
  const platformPkg = `@${tool}-installer/${process.platform}-${process.arch}`;
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${platformPkg}/package.json`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  const bin = path.join(path.dirname(pkgJson), tool);
  try {
    statSync(bin);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // npm 11 skips the package's own `chmod u+x` postinstall unless allowed: do it here.
  if (!isExecutable(bin)) chmodSync(bin, 0o755);
  return bin;
}

export function locateTool(tool: 'ffmpeg' | 'ffprobe', env: NodeJS.ProcessEnv = process.env): ToolLocation {
  const tried: string[] = [];
  const envVar = `${tool.toUpperCase()}_PATH`;
  const fromEnv = env[envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: fromEnv, source: 'env' };
    // An explicit setting that is wrong is an error, not a reason to fall back silently.
    throw new Error(`${envVar}=${fromEnv} is not an executable file`);
  }
  tried.push(`${envVar} unset`);
  const onPath = findOnPath(tool, env['PATH']);
  if (onPath) return { path: onPath, source: 'path' };
  tried.push('PATH');
  const shipped = findNpmShipped(tool);
  if (shipped) return { path: shipped, source: 'npm' };
  tried.push(`npm package @${tool}-installer/${process.platform}-${process.arch}`);
  throw new FfmpegNotFoundError(tool, tried);
}

function parseList(output: string): Set<string> {
  // Lines like " V....D libx264   libx264 H.264 ..." or "  E mp4   MP4 ..."; the name is the
  // first token after the flags column.
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^\s*[A-Z.]{1,6}\s+([\w,]+)\s/.exec(line);
    if (m?.[1]) for (const n of m[1].split(',')) names.add(n);
  }
  return names;
}

export async function probeCapabilities(ffmpegPath: string): Promise<FfmpegCapabilities> {
  const run = async (...args: string[]) =>
    (await execFileP(ffmpegPath, ['-hide_banner', ...args], { maxBuffer: 8 * 1024 * 1024 })).stdout;
  const [versionOut, encoders, decoders, muxers, demuxers] = await Promise.all([
    run('-version'),
    run('-encoders'),
    run('-decoders'),
    run('-muxers'),
    run('-demuxers'),
  ]);
  const version = /ffmpeg version (\S+)/.exec(versionOut)?.[1] ?? 'unknown';
  const major = Number(/^n?(\d+)/.exec(version)?.[1] ?? 'NaN');
  const enc = parseList(encoders);
  const dec = parseList(decoders);
  const mux = parseList(muxers);
  const demux = parseList(demuxers);
  return {
    version,
    major,
    has: {
      libx264: enc.has('libx264'),
      h264Decoder: dec.has('h264'),
      aacEncoder: enc.has('aac'),
      mjpegEncoder: enc.has('mjpeg'),
      rtspDemuxer: demux.has('rtsp'),
      segmentMuxer: mux.has('segment'),
      mp4Muxer: mux.has('mp4'),
      mpegtsMuxer: mux.has('mpegts'),
      matroskaMuxer: mux.has('matroska'),
    },
  };
}

let cached: Promise<FfmpegInfo> | undefined;

/** Locates both tools and probes capabilities once per process. */
export function ffmpegInfo(): Promise<FfmpegInfo> {
  cached ??= (async () => {
    const ffmpeg = locateTool('ffmpeg');
    const ffprobe = locateTool('ffprobe');
    return { ffmpeg, ffprobe, capabilities: await probeCapabilities(ffmpeg.path) };
  })();
  cached.catch(() => {
    cached = undefined; // let a later call retry after the user installs ffmpeg
  });
  return cached;
}

/** Synchronous path lookup for code that only needs to spawn. */
export function ffmpegPath(): string {
  return locateTool('ffmpeg').path;
}
export function ffprobePath(): string {
  return locateTool('ffprobe').path;
}
