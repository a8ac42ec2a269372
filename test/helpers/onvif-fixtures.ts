/**
 * Shared pieces for the simulator's ONVIF tests: a real JPEG, camera specs,
 * promise wrappers for the callback-style onvif client, and raw SOAP calls for
 * the behaviour the client does not expose (faults, pull-point details).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import onvif from 'onvif';
import { ffmpegPath, ffprobePath } from '../../lib/ffmpeg.js';
import type { OnvifCamera } from '../../simulator/onvif/device.js';
import { usernameTokenHeader } from '../../simulator/onvif/wsse.js';
import type { SceneTimeline } from '../../simulator/scenes.js';

const execFileP = promisify(execFile);

/** One 1280x720 test-pattern JPEG from ffmpeg's lavfi source. */
export async function makeJpeg(width = 1280, height = 720): Promise<Buffer> {
  const { stdout } = await execFileP(
    ffmpegPath(),
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=${width}x${height}`,
      '-frames:v',
      '1',
      '-f',
      'mjpeg',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** Width and height of the first video stream ffprobe finds at `input` (a file or URL). */
export async function probeSize(input: string): Promise<{ width: number; height: number }> {
  const { stdout } = await execFileP(ffprobePath(), [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height',
    '-of',
    'json',
    input,
  ]);
  const s = (JSON.parse(stdout) as { streams: { width: number; height: number }[] }).streams[0];
  if (!s) throw new Error(`ffprobe found no video stream in ${input}`);
  return { width: s.width, height: s.height };
}

export function testCamera(id: string, timeline: SceneTimeline, jpeg: Buffer): OnvifCamera {
  return {
    id,
    name: `Test ${id}`,
    manufacturer: 'CamConnect',
    model: 'SimCam-T',
    serial: `SN-${id}`,
    timeline,
    streams: {
      main: { uri: `rtsp://127.0.0.1:8554/${id}/main`, width: 1280, height: 720, fps: 15, kbps: 1500 },
      sub: { uri: `rtsp://127.0.0.1:8554/${id}/sub`, width: 640, height: 360, fps: 15, kbps: 400 },
    },
    snapshot: () => Promise.resolve(jpeg),
  };
}

/** new Cam(...) that resolves once connect() finished. */
export function connectCam(opts: onvif.CamOptions): Promise<onvif.Cam> {
  return new Promise((resolve, reject) => {
    const cam: onvif.Cam = new onvif.Cam(opts, (err) => (err ? reject(err) : resolve(cam)));
  });
}

/** Promise form of a client method: call((cb) => cam.getProfiles(cb)). */
export function call<T>(fn: (cb: onvif.Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
}

/**
 * Parsed XML is shaped by whatever the device sent; tests walk it freely and
 * assert on what they find, so it is deliberately untyped.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type XmlAny = any;

export interface SoapReply {
  status: number;
  headers: Headers;
  xml: string;
  /** Parsed with prefixes stripped: doc.Envelope.Body.X. */
  doc: Record<string, XmlAny>;
}

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: '@_' });

/** Posts `body` (the Body's content) to a service URL, optionally with a UsernameToken. */
export async function soap(
  url: string,
  body: string,
  opts: {
    auth?: { username: string; password: string; createdMs?: number; nonce?: Buffer };
    header?: string;
  } = {},
): Promise<SoapReply> {
  let header = opts.header ?? '';
  if (opts.auth) {
    const { username, password } = opts.auth;
    const created = new Date(opts.auth.createdMs ?? Date.now()).toISOString();
    header += usernameTokenHeader(username, password, { nonce: opts.auth.nonce ?? randomBytes(16), created });
  }
  const xml =
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" ' +
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" ' +
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema">' +
    `<s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' },
    body: xml,
    signal: AbortSignal.timeout(90_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    xml: text,
    doc: parser.parse(text) as Record<string, XmlAny>,
  };
}

/** The subcode chain of a SOAP fault reply, outermost first. */
export function faultSubcodes(reply: SoapReply): string[] {
  const out: string[] = [];
  let sub = reply.doc['Envelope']?.Body?.Fault?.Code?.Subcode;
  while (sub) {
    out.push(String(sub.Value));
    sub = sub.Subcode;
  }
  return out;
}

/** Repeated elements parse as one object or an array: always an array. */
export function many<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
