/**
 * `agent enroll --from-camera NAME`: the technician holds the printed label or the phone up to
 * one of the site's cameras, and the agent reads the QR code from that camera's ONVIF snapshot
 * (ONVIF Media Service GetSnapshotUri: a JPEG over HTTP behind Digest or Basic auth).
 *
 * The camera comes from the agent's camera state file (agent/cameras/store.ts writes it, mode
 * 0600: inventory plus credentials). Only the four fields needed here are read, with a loose
 * schema, so this does not break when the inventory grows fields; the file stays owned by the
 * cameras module.
 *
 * Snapshots are polled (one a second by default) until a CamConnect code is seen or the time
 * runs out: the person holding the label needs a few seconds to aim it.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { EnrollmentError } from './errors.js';
import { getWithHttpAuth, HttpFetchError, type Credentials } from './http-auth.js';
import { PAYLOAD_PREFIX } from './payload.js';
import { decodeQrImage } from './qr.js';

const CameraFile = z.object({
  cameras: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      snapshotUri: z.string().optional(),
      credentials: z.object({ username: z.string(), password: z.string() }).optional(),
    }),
  ),
});

export interface SnapshotSource {
  /** For messages: the camera's name. */
  name: string;
  snapshotUri: string;
  credentials?: Credentials;
}

/** Finds a camera by id, or by name (case-insensitive), in the camera state file. */
export async function cameraSnapshotSource(camerasFile: string, nameOrId: string): Promise<SnapshotSource> {
  let raw: string;
  try {
    raw = await readFile(camerasFile, 'utf8');
  } catch (err) {
    throw new EnrollmentError(
      'camera',
      `cannot read the camera list ${camerasFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'} (add cameras with \`camconnect agent discover --save\`)`,
    );
  }
  let parsed: z.infer<typeof CameraFile>;
  try {
    parsed = CameraFile.parse(JSON.parse(raw));
  } catch (err) {
    // Neither the JSON text nor zod's issues with values: the file holds camera passwords.
    throw new EnrollmentError(
      'camera',
      `the camera list ${camerasFile} is not a camera state file (${(err as Error).name})`,
    );
  }
  const wanted = nameOrId.toLowerCase();
  const cam =
    parsed.cameras.find((c) => c.id === nameOrId) ??
    parsed.cameras.find((c) => c.name.toLowerCase() === wanted);
  if (!cam) {
    const known = parsed.cameras.map((c) => `${c.name} (${c.id})`).join(', ') || 'none';
    throw new EnrollmentError('camera', `no camera "${nameOrId}" in ${camerasFile}; known: ${known}`);
  }
  if (!cam.snapshotUri)
    throw new EnrollmentError(
      'camera',
      `camera ${cam.name} has no snapshot URI (its ONVIF profile offers none); use --qr with a photo instead`,
    );
  return {
    name: cam.name,
    snapshotUri: cam.snapshotUri,
    ...(cam.credentials ? { credentials: cam.credentials } : {}),
  };
}

export interface WatchOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Between snapshots (default 1 s). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Told once per snapshot that held no CamConnect code: a prompt for the technician. */
  onMiss?: (reason: string) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/**
 * Polls the camera's snapshot until it shows a CamConnect enrollment code; returns its text.
 * A snapshot with no code, or with someone else's QR code, is a miss, not an error: the label
 * may not be in view yet. Wrong credentials or a missing camera end the wait at once.
 */
export async function watchCameraForQr(src: SnapshotSource, opts: WatchOptions = {}): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastMiss = 'no snapshot taken';
  for (;;) {
    opts.signal?.throwIfAborted();
    let image: Buffer | undefined;
    try {
      image = await getWithHttpAuth(src.snapshotUri, src.credentials, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        maxBytes: 16 << 20,
      });
    } catch (err) {
      if (err instanceof HttpFetchError && err.status === 401)
        throw new EnrollmentError('camera', `camera ${src.name}: ${err.message}`);
      if (opts.signal?.aborted) throw err;
      // A camera that drops one request (busy encoder, Wi-Fi) gets another chance next round.
      lastMiss = `camera ${src.name} did not send a snapshot: ${err instanceof HttpFetchError ? err.message : (((err as NodeJS.ErrnoException).cause as Error | undefined)?.message ?? (err as Error).message)}`;
    }
    if (image) {
      try {
        const text = await decodeQrImage(image, opts.signal);
        if (text.trim().startsWith(PAYLOAD_PREFIX)) return text;
        lastMiss = 'the camera sees a QR code, but not a CamConnect enrollment code';
      } catch (err) {
        if (!(err instanceof EnrollmentError)) throw err;
        lastMiss = err.message;
      }
    }
    opts.onMiss?.(lastMiss);
    if (Date.now() + (opts.intervalMs ?? 1000) > deadline) {
      throw new EnrollmentError(
        'unreadable-image',
        `no enrollment QR code seen by camera ${src.name} in time; last: ${lastMiss}`,
      );
    }
    await sleep(opts.intervalMs ?? 1000, opts.signal);
  }
}
