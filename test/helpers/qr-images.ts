/**
 * Images for the QR tests, all made with the system ffmpeg: a scene snapshot from the
 * simulator's cache as a background, "photo-like" pictures of a QR code (scaled down, rotated a
 * few degrees, composited onto the scene, noise and blur, saved as a lossy JPEG, as a phone or
 * a camera would see a label), an SVG rasterised to PNG, and a camera that serves such a
 * picture as its snapshot behind HTTP Digest (the simulator's own authenticator).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureScene } from '../../simulator/encode.js';
import { sceneByName } from '../../simulator/scenes.js';
import { HttpAuthenticator } from '../../simulator/onvif/http-auth.js';
import { ffmpegPath } from '../../lib/ffmpeg.js';
import { runProcess } from './proc.js';

async function ffmpeg(args: string[]): Promise<void> {
  const r = await runProcess(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

/** A 1280x720 JPEG of the simulator's lobby scene (from the pre-encoded cache). */
export async function sceneSnapshot(): Promise<string> {
  const enc = await ensureScene(sceneByName('lobby'));
  const snap = enc.snapshots[1] ?? enc.snapshots[0];
  if (!snap) throw new Error('the lobby scene has no snapshots');
  return snap;
}

export interface PhotoOptions {
  /** Width the QR image is scaled to, in pixels of the 1280x720 frame. */
  width: number;
  /** Rotation, degrees (positive: clockwise). */
  angleDeg: number;
  x: number;
  y: number;
  /** ffmpeg `noise` strength (0-100). */
  noise: number;
  /** JPEG quality scale, 2 (best) to 31. */
  quality: number;
}

/** The QR image as a camera or phone would see it: `out` is a JPEG. */
export async function photoLike(qrImage: string, out: string, o: Partial<PhotoOptions> = {}): Promise<void> {
  const p: PhotoOptions = { width: 300, angleDeg: 7, x: 520, y: 190, noise: 22, quality: 6, ...o };
  const a = `${p.angleDeg}*PI/180`;
  const filter =
    `[1:v]scale=${p.width}:-1,format=rgba,rotate=${a}:c=none:ow=rotw(${a}):oh=roth(${a})[q];` +
    `[0:v][q]overlay=${p.x}:${p.y},noise=alls=${p.noise}:allf=t,gblur=sigma=0.7`;
  await ffmpeg([
    '-i',
    await sceneSnapshot(),
    '-i',
    qrImage,
    '-filter_complex',
    filter,
    '-frames:v',
    '1',
    '-q:v',
    String(p.quality),
    out,
  ]);
}

/** Rasterises an SVG (ffmpeg's librsvg decoder) to a PNG four times its size. */
export async function svgToPng(svg: string, out: string): Promise<void> {
  await ffmpeg(['-i', svg, '-vf', 'scale=iw*4:-1:flags=neighbor', '-frames:v', '1', out]);
}

/**
 * A camera's snapshot endpoint: GET /onvif/snapshot.jpg behind Digest (Basic also offered),
 * answering `images[i]` for the i-th authorised request and the last one after that, so a
 * test can show the technician walking up with the label.
 */
export class SnapshotCamera {
  private server: http.Server | undefined;
  private served = 0;
  readonly auth: HttpAuthenticator;

  constructor(
    private readonly images: Buffer[],
    readonly account: { username: string; password: string },
  ) {
    this.auth = new HttpAuthenticator(account, 'camconnect-test-camera');
  }

  get snapshotUri(): string {
    const { port } = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${port}/onvif/snapshot.jpg`;
  }

  /** Authorised snapshots served so far. */
  get count(): number {
    return this.served;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const v = this.auth.verify(req.headers.authorization, req.method ?? 'GET', req.url ?? '/', {
        basic: true,
      });
      if (!v.ok) {
        res.writeHead(401, { 'WWW-Authenticate': this.auth.challenges({ stale: v.stale, basic: true }) });
        res.end('authentication required');
        return;
      }
      const img = this.images[Math.min(this.served++, this.images.length - 1)] ?? Buffer.alloc(0);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': img.length });
      res.end(img);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
