/**
 * `camconnect agent record` and `camconnect agent clip`. Kept beside the
 * recorder so cli/agent.ts only wires them in.
 */
import type { Command } from 'commander';
import { createLogger } from '../../lib/log.js';
import { redactUrl } from '../../lib/redact.js';
import { shutdownSignal, UsageError } from '../../cli/util.js';
import type { CameraConfig } from './camera.js';
import { clipFromDisk } from './library.js';
import { CAMERA_NAME } from './paths.js';
import { Recorder } from './recorder.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseCamera(spec: string, transport: 'tcp' | 'udp'): CameraConfig {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq) : '';
  const url = eq > 0 ? spec.slice(eq + 1) : '';
  if (!CAMERA_NAME.test(name) || !/^rtsps?:\/\//i.test(url)) {
    throw new UsageError(
      `--camera expects NAME=rtsp://..., got "${redactUrl(spec)}" (NAME: letters, digits, - and _)`,
    );
  }
  return { name, url, transport };
}

function positive(name: string, integer = true) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      throw new UsageError(`${name} must be a non-negative ${integer ? 'whole ' : ''}number, got "${v}"`);
    return n;
  };
}

function isoTime(name: string) {
  return (v: string): number => {
    const t = Date.parse(v);
    if (!Number.isFinite(t))
      throw new UsageError(`${name} must be an ISO 8601 time (e.g. 2025-01-31T13:45:00Z), got "${v}"`);
    return t;
  };
}

interface RecordOpts {
  camera: string[];
  dir: string;
  segmentSeconds: number;
  maxBytes?: number;
  maxBytesPerCamera?: number;
  minFreeBytes?: number;
  maxAgeDays?: number;
  transport: string;
  flushPackets?: boolean;
}

export function registerRecordCommands(agent: Command): void {
  agent
    .command('record')
    .description('run only the recorder in the foreground (Ctrl-C stops it cleanly)')
    .requiredOption('--camera <NAME=RTSP_URL>', 'a camera to record (repeatable)', collect, [])
    .requiredOption('--dir <DIR>', 'recording folder')
    .option('--segment-seconds <S>', 'segment length in seconds', positive('--segment-seconds'), 60)
    .option('--max-bytes <BYTES>', 'quota for all cameras together', positive('--max-bytes'))
    .option('--max-bytes-per-camera <BYTES>', 'quota per camera', positive('--max-bytes-per-camera'))
    .option(
      '--min-free-bytes <BYTES>',
      'free space to keep on the volume (default 5% of it, at most 2 GiB)',
      positive('--min-free-bytes'),
    )
    .option('--max-age-days <D>', 'delete footage older than this', positive('--max-age-days', false))
    .option('--transport <tcp|udp>', 'RTSP transport', 'tcp')
    .option(
      '--flush-packets',
      'write each packet of the segment in progress through at once (~10% more ffmpeg CPU)',
    )
    .action(async (o: RecordOpts) => {
      if (o.transport !== 'tcp' && o.transport !== 'udp')
        throw new UsageError('--transport must be tcp or udp');
      if (o.camera.length === 0) throw new UsageError('give at least one --camera NAME=RTSP_URL');
      if (o.segmentSeconds < 1) throw new UsageError('--segment-seconds must be at least 1');
      const cameras = o.camera.map((c) => parseCamera(c, o.transport as 'tcp' | 'udp'));
      const log = createLogger();
      const recorder = new Recorder({
        dir: o.dir,
        cameras,
        segmentSeconds: o.segmentSeconds,
        ...(o.flushPackets ? { flushPackets: true } : {}),
        retention: {
          ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
          ...(o.maxBytesPerCamera !== undefined ? { maxBytesPerCamera: o.maxBytesPerCamera } : {}),
          ...(o.minFreeBytes !== undefined ? { minFreeBytes: o.minFreeBytes } : {}),
          ...(o.maxAgeDays !== undefined ? { maxAgeMs: o.maxAgeDays * 86_400_000 } : {}),
        },
        log,
      });
      const { signal, done } = shutdownSignal();
      try {
        await recorder.start(signal);
      } catch (err) {
        // e.g. another recorder holds the folder, or it cannot be created: say so plainly.
        throw new UsageError(`cannot start the recorder: ${(err as Error).message}`, 1);
      }
      log.info('recording; press Ctrl-C to stop', {
        dir: o.dir,
        cameras: cameras.map((c) => c.name).join(','),
      });
      const status = setInterval(() => {
        const h = recorder.health();
        log.info('status', {
          state: h.state,
          ...(h.detail ? { detail: h.detail } : {}),
          bytes: recorder.stats().bytes,
        });
      }, 60_000);
      const sig = await done;
      clearInterval(status);
      log.info(`received ${sig}; stopping (closing the segments in progress)`);
      await recorder.stop();
    });

  agent
    .command('clip')
    .description('cut an MP4 clip from recorded footage (works while the recorder runs)')
    .requiredOption('--dir <DIR>', 'recording folder')
    .requiredOption('--camera <NAME>', 'camera name')
    .requiredOption(
      '--from <ISO>',
      'start time (the clip starts at the keyframe at or before it)',
      isoTime('--from'),
    )
    .requiredOption('--to <ISO>', 'end time (the clip ends at or after it)', isoTime('--to'))
    .requiredOption('--out <FILE.mp4>', 'output file')
    .action(async (o: { dir: string; camera: string; from: number; to: number; out: string }) => {
      if (!(o.to > o.from)) throw new UsageError('--to must be after --from');
      let result;
      try {
        result = await clipFromDisk(o.dir, o.camera, o.from, o.to, o.out);
      } catch (err) {
        throw new UsageError((err as Error).message, 1);
      }
      process.stdout.write(
        JSON.stringify(
          { ...result, start: new Date(result.start).toISOString(), end: new Date(result.end).toISOString() },
          null,
          2,
        ) + '\n',
      );
    });
}
