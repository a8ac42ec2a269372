/**
 * Live view for the setup page: the camera's H.264 copied, not re-encoded, into fragmented MP4
 * and streamed as one chunked HTTP response, which the page feeds into Media Source Extensions.
 *
 * This is a VIEWER ffmpeg, one per open live view, separate from the recording ffmpeg that only
 * agent/recorder spawns: it pulls its own RTSP session (the sub-stream by default, so a viewer
 * costs the camera little), copies the video packets, and dies when the viewer leaves. Stream
 * copy keeps it cheap enough for an ARM box and leaves the picture exactly as the camera sent it.
 * Chunked HTTP rather than a WebSocket: the page reads it with fetch() + ReadableStream, so no
 * WebSocket server is needed and the session cookie applies like to any other request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.js';

/**
 * The viewer's ffmpeg arguments. Video only (`-an`: audio codecs vary by camera and MSE would
 * need each one declared), `-c:v copy`, and fragments that start at keyframes with the movie
 * header first (`empty_moov`) so the page can start decoding from the first bytes.
 */
export function liveArgs(rtspUrl: string): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
    ...['-rtsp_transport', 'tcp', '-i', rtspUrl],
    ...['-map', '0:v:0', '-c:v', 'copy', '-an'],
    ...['-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
    // Cut fragments at least every half second between keyframes: lower latency on long GOPs.
    ...['-frag_duration', '500000'],
    'pipe:1',
  ];
}

export interface LiveViewers {
  count(): number;
  /** Streams one viewer; resolves when the viewer or the camera goes away. */
  serve(req: IncomingMessage, res: ServerResponse, cameraId: string, rtspUrl: string): Promise<void>;
  stopAll(): Promise<void>;
}

export function createLiveViewers(log: Logger, ffmpegPath = 'ffmpeg'): LiveViewers {
  const children = new Set<ChildProcess>();

  const kill = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      // A viewer that ignores SIGTERM (stuck on a dead RTSP socket) is killed for good.
      const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(hard);
        resolve();
      });
      child.kill('SIGTERM');
    });

  return {
    count: () => children.size,
    serve(req, res, cameraId, rtspUrl) {
      return new Promise<void>((resolve) => {
        const child = spawn(ffmpegPath, liveArgs(rtspUrl), { stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString('utf8')).slice(-2000);
        });
        res.writeHead(200, {
          'content-type': 'video/mp4',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        child.stdout.pipe(res);
        const leave = () => void kill(child);
        req.on('close', leave);
        res.on('close', leave);
        child.on('error', (err) => {
          log.warn('live view could not start ffmpeg', { cameraId, err: err.message });
          res.destroy();
        });
        child.on('exit', (code, signal) => {
          children.delete(child);
          // ffmpeg's own messages can quote the input URL, credentials included: log only the outcome.
          if (code !== 0 && signal === null) {
            log.warn('live view ended', { cameraId, code, hasDetail: stderr.length > 0 });
          }
          res.end();
          resolve();
        });
        log.debug('live view started', { cameraId });
      });
    },
    async stopAll() {
      await Promise.all([...children].map(kill));
    },
  };
}
