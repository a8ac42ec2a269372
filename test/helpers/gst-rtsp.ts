/**
 * Starts Debian's GStreamer RTSP server (test/helpers/gst-rtsp-server.py) for
 * recorder tests. It runs under the SYSTEM python, which has python3-gi and
 * the GstRtspServer typelib; a pyenv python first on PATH does not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

const SCRIPT = fileURLToPath(new URL('./gst-rtsp-server.py', import.meta.url));
export const SYSTEM_PYTHON = process.env['GST_PYTHON'] ?? '/usr/bin/python3';

export interface GstServerOptions {
  /** 0 (default) picks an ephemeral port; pass the old port to bring a "camera" back. */
  port?: number;
  mounts?: string[];
  width?: number;
  height?: number;
  fps?: number;
  gop?: number;
  bitrateKbps?: number;
  audio?: boolean;
  /** Serve this pre-encoded H.264 MP4 by stream copy instead of encoding live. */
  file?: string;
  user?: string;
  password?: string;
}

export interface GstServer {
  port: number;
  /** rtsp://[user:pass@]127.0.0.1:PORT/MOUNT */
  url(mount?: string, credentials?: { user: string; password: string }): string;
  stop(): Promise<void>;
  readonly process: ChildProcess;
}

export async function startGstRtspServer(opts: GstServerOptions = {}): Promise<GstServer> {
  const args = [SCRIPT, '--port', String(opts.port ?? 0)];
  for (const m of opts.mounts ?? ['/cam']) args.push('--mount', m);
  if (opts.width) args.push('--width', String(opts.width));
  if (opts.height) args.push('--height', String(opts.height));
  if (opts.fps) args.push('--fps', String(opts.fps));
  if (opts.gop) args.push('--gop', String(opts.gop));
  if (opts.bitrateKbps) args.push('--bitrate', String(opts.bitrateKbps));
  if (opts.audio) args.push('--audio');
  if (opts.file) args.push('--file', opts.file);
  if (opts.user) args.push('--user', opts.user, '--password', opts.password ?? '');
  const child = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8000) stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`GStreamer RTSP server did not start: ${stderr}`)),
      30_000,
    );
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`GStreamer RTSP server exited (${code}): ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    process: child,
    url(mount = '/cam', credentials) {
      const auth = credentials
        ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`
        : '';
      return `rtsp://${auth}127.0.0.1:${port}${mount}`;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
