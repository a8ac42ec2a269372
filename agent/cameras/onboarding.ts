/**
 * Onboarding: from an address (discovered, or typed by the installer) to an inventory record.
 *
 * ONVIF (Core 8 + Media 1.0): clock first (unauthenticated, so the UsernameToken's Created is
 * right even on a camera whose clock is hours off), then identity (the first authenticated call:
 * a wrong password fails here, with a clear message), service addresses, profiles, stream roles,
 * stream URIs, and the snapshot URI (optional: some cameras have none).
 *
 * Manual (a camera without ONVIF): an RTSP URL for the main stream and optionally one for the
 * sub-stream; ffprobe reads resolution and codec. Credentials in the URL move to the record's
 * credentials field, so the stored URL carries none.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffprobePath } from '../../lib/ffmpeg.js';
import { redactText } from '../../lib/redact.js';
import { CameraError } from './errors.js';
import { makeCameraId, type CameraRecord, type StreamRecord } from './inventory.js';
import { OnvifDeviceClient, type DeviceInformation, type MediaProfile } from './onvif-device.js';
import type { Credentials } from './soap.js';
import { codecName, pickStreams, splitCredentials, withCredentials } from './streams.js';

const execFileP = promisify(execFile);

export interface OnboardOnvifOptions {
  xaddr: string;
  credentials?: Credentials;
  name?: string;
  /** Ids already in use (the new id must differ). */
  taken?: ReadonlySet<string>;
  /** WS-Discovery endpoint reference, when found by discovery. */
  endpoint?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

export interface OnboardResult {
  record: CameraRecord;
  profiles: MediaProfile[];
  device: DeviceInformation;
  /** Uncertainty of the clock offset, ms. */
  clockUncertaintyMs: number;
  warnings: string[];
}

/** host:port of a URL, for naming a camera that has no name yet. */
export function hostLabel(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return redactText(url);
  }
}

export async function onboardOnvif(o: OnboardOnvifOptions): Promise<OnboardResult> {
  const now = o.now ?? Date.now;
  const label = o.name ?? hostLabel(o.xaddr);
  const client = new OnvifDeviceClient({
    camera: label,
    xaddr: o.xaddr,
    credentials: o.credentials,
    timeoutMs: o.timeoutMs,
    now,
  });
  const warnings: string[] = [];
  const clock = await client.readClock(o.signal);
  const device = await client.deviceInformation(o.signal);
  const services = await client.services(o.signal);
  if (!services.media)
    throw new CameraError(label, 'malformed', 'GetCapabilities', 'the camera has no media service');
  const profiles = await client.profiles(services.media, o.signal);
  const choice = pickStreams(profiles);
  if (!choice) throw new CameraError(label, 'malformed', 'GetProfiles', 'no profile with usable video');
  if (choice.shared) warnings.push('one video profile only: motion analysis decodes the main stream');

  const stream = async (p: MediaProfile): Promise<StreamRecord> => {
    const uri = splitCredentials(await client.streamUri(services.media!, p.token, o.signal)).uri;
    return {
      uri,
      profileToken: p.token,
      ...(p.width ? { width: p.width } : {}),
      ...(p.height ? { height: p.height } : {}),
      ...(p.fps ? { fps: p.fps } : {}),
      ...(codecName(p.encoding) ? { codec: codecName(p.encoding) } : {}),
    };
  };
  const main = await stream(choice.main);
  const sub = choice.shared ? main : await stream(choice.sub);
  let snapshotUri: string | undefined;
  try {
    snapshotUri = splitCredentials(await client.snapshotUri(services.media, choice.main.token, o.signal)).uri;
  } catch (err) {
    // Optional in Media 1.0: a camera without snapshots is still a camera.
    if (!(err instanceof CameraError) || err.kind === 'aborted') throw err;
    warnings.push(`no snapshot URI: ${err.message}`);
  }

  const name = o.name ?? ([device.manufacturer, device.model].filter(Boolean).join(' ') || label);
  const record: CameraRecord = {
    id: makeCameraId(o.name ?? device.serialNumber ?? label, o.taken ?? new Set()),
    name: name.slice(0, 100),
    onvif: {
      xaddr: o.xaddr,
      ...(services.media ? { mediaXaddr: services.media } : {}),
      ...(services.events ? { eventsXaddr: services.events } : {}),
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...trimmed(device),
    },
    streams: { main, sub },
    ...(snapshotUri ? { snapshotUri } : {}),
    clock: { offsetMs: clock.offsetMs, measuredAt: Math.round(now()) },
    location: null,
    // The camera's own events cost the agent nothing; pixel motion is the fallback (see motion/).
    motion: { source: services.events ? 'onvif' : 'pixel', zones: [], masks: [] },
    ...(o.credentials ? { credentials: o.credentials } : {}),
    addedAt: Math.round(now()),
  };
  return { record, profiles, device, clockUncertaintyMs: clock.uncertaintyMs, warnings };
}

function trimmed(d: DeviceInformation): Partial<Record<keyof DeviceInformation, string>> {
  const out: Partial<Record<keyof DeviceInformation, string>> = {};
  for (const [k, v] of Object.entries(d) as [keyof DeviceInformation, string | undefined][]) {
    if (v) out[k] = v.slice(0, 64);
  }
  return out;
}

export interface ManualOptions {
  /** rtsp://[user:pass@]host[:port]/path of the main stream. */
  mainUrl: string;
  /** The sub-stream; defaults to the main stream. */
  subUrl?: string;
  name?: string;
  taken?: ReadonlySet<string>;
  /** Read resolution and codec with ffprobe (needs the camera reachable). Default true. */
  probe?: boolean;
  timeoutMs?: number;
  now?: () => number;
}

/** A camera without ONVIF, added by RTSP URL. Pixel motion is its only motion source. */
export async function addManual(o: ManualOptions): Promise<CameraRecord> {
  const main = splitCredentials(o.mainUrl);
  const sub = o.subUrl ? splitCredentials(o.subUrl) : main;
  const credentials = main.credentials ?? sub.credentials;
  const label = o.name ?? hostLabel(main.uri);
  const describe = async (uri: string): Promise<StreamRecord> => {
    if (o.probe === false) return { uri };
    return { uri, ...(await probeStream(label, withCredentials(uri, credentials), o.timeoutMs ?? 15_000)) };
  };
  const mainRec = await describe(main.uri);
  const subRec = sub.uri === main.uri ? mainRec : await describe(sub.uri);
  const now = o.now ?? Date.now;
  return {
    id: makeCameraId(label, o.taken ?? new Set()),
    name: label.slice(0, 100),
    streams: { main: mainRec, sub: subRec },
    location: null,
    motion: { source: 'pixel', zones: [], masks: [] },
    ...(credentials ? { credentials } : {}),
    addedAt: Math.round(now()),
  };
}

/** Width, height, codec and frame rate of the first video stream, by ffprobe. */
export async function probeStream(
  camera: string,
  url: string,
  timeoutMs: number,
): Promise<Omit<StreamRecord, 'uri'>> {
  const rtsp = /^rtsps?:/i.test(url) ? ['-rtsp_transport', 'tcp', '-timeout', String(timeoutMs * 1000)] : [];
  const args = [
    '-v',
    'error',
    ...rtsp,
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height,avg_frame_rate',
  ];
  let out: string;
  try {
    ({ stdout: out } = await execFileP(ffprobePath(), [...args, '-of', 'json', url], { timeout: timeoutMs }));
  } catch (err) {
    const e = err as Error & { stderr?: string; killed?: boolean };
    if (e.killed) throw new CameraError(camera, 'timeout', 'ffprobe', 'the stream did not answer in time');
    const last = (e.stderr ?? e.message).trim().split('\n').pop() ?? 'failed';
    // RTSP answers a wrong password with 401 (RFC 2326 §11.4.2); ffmpeg quotes it.
    const kind = /\b401\b|unauthorized/i.test(last) ? 'auth' : 'network';
    throw new CameraError(camera, kind, 'ffprobe', last);
  }
  const s = (
    JSON.parse(out) as {
      streams?: { codec_name?: string; width?: number; height?: number; avg_frame_rate?: string }[];
    }
  ).streams?.[0];
  if (!s) throw new CameraError(camera, 'malformed', 'ffprobe', 'no video stream');
  const [n, d] = (s.avg_frame_rate ?? '0/0').split('/').map(Number);
  const fps = n && d ? n / d : undefined;
  return {
    ...(s.width ? { width: s.width } : {}),
    ...(s.height ? { height: s.height } : {}),
    ...(s.codec_name ? { codec: s.codec_name.slice(0, 16) } : {}),
    ...(fps && fps > 0 && fps <= 240 ? { fps: Math.round(fps * 100) / 100 } : {}),
  };
}

export interface AddByAddressOptions {
  /**
   * What the installer typed: an RTSP URL (a camera without ONVIF), an ONVIF device service URL,
   * or a host[:port] (then http://HOST[:PORT]/onvif/device_service, the path Core 5.1.1 fixes).
   */
  address: string;
  credentials?: Credentials;
  /** RTSP cameras only: the sub-stream, when the camera has one. */
  subUrl?: string;
  name?: string;
  taken?: ReadonlySet<string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Manual add, for cameras discovery cannot see (another subnet, multicast filtered, no ONVIF). */
export async function addByAddress(o: AddByAddressOptions): Promise<CameraRecord> {
  const a = o.address.trim();
  if (/^rtsps?:\/\//i.test(a)) {
    const main = splitCredentials(a);
    const creds = main.credentials ?? o.credentials;
    return addManual({
      mainUrl: withCredentials(main.uri, creds),
      ...(o.subUrl ? { subUrl: withCredentials(splitCredentials(o.subUrl).uri, creds) } : {}),
      ...(o.name ? { name: o.name } : {}),
      ...(o.taken ? { taken: o.taken } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    });
  }
  const xaddr = /^https?:\/\//i.test(a) ? a : `http://${a}/onvif/device_service`;
  const r = await onboardOnvif({
    xaddr,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.taken ? { taken: o.taken } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return r.record;
}
