/**
 * The camera inventory: what the agent knows about each camera, as stored in its state file.
 *
 * Stream URIs are stored without credentials, and credentials are stored apart from them, so
 * anything that shows or sends a camera (the `cameras` topic, the setup page, `discover`
 * output) can drop one field instead of parsing secrets out of URLs. `publicView` is that view:
 * the shape of the wire contract's CameraInfo (protocol/schemas/cameras.ts), with no URL, no
 * user name and no password.
 */
import { z } from 'zod';
import { ZoneConfig } from '../motion/zones.js';

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match [A-Za-z0-9_-]{1,64}');
const Url = z
  .url()
  .refine((u) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(u), { message: 'must not embed credentials' });

export const StreamRecord = z.strictObject({
  uri: Url,
  /** The ONVIF media profile it came from; absent for manually added cameras. */
  profileToken: z.string().max(64).optional(),
  width: z.int().positive().optional(),
  height: z.int().positive().optional(),
  fps: z.number().positive().optional(),
  codec: z.string().max(16).optional(),
});
export type StreamRecord = z.infer<typeof StreamRecord>;

/** Installed position, used to check incidents' geofences (degrees, WGS 84). */
export const Location = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  /** Compass heading, degrees clockwise from true north. */
  heading: z.number().min(0).lt(360).optional(),
  /** Horizontal field of view, degrees. */
  fovDeg: z.number().gt(0).max(360).optional(),
});
export type Location = z.infer<typeof Location>;

export const MotionSettings = z.strictObject({
  source: z.enum(['onvif', 'pixel', 'both', 'none']),
  ...ZoneConfig.shape,
});
export type MotionSettings = z.infer<typeof MotionSettings>;

export const CameraRecord = z.strictObject({
  id: Id,
  name: z.string().min(1).max(100),
  onvif: z
    .strictObject({
      xaddr: Url,
      mediaXaddr: Url.optional(),
      eventsXaddr: Url.optional(),
      /** WS-Discovery endpoint reference (urn:uuid:...), stable across address changes. */
      endpoint: z.string().max(200).optional(),
      manufacturer: z.string().max(64).optional(),
      model: z.string().max(64).optional(),
      firmwareVersion: z.string().max(64).optional(),
      serialNumber: z.string().max(64).optional(),
      hardwareId: z.string().max(64).optional(),
    })
    .optional(),
  streams: z.strictObject({ main: StreamRecord, sub: StreamRecord }),
  snapshotUri: Url.optional(),
  /** Camera clock minus agent clock, ms, and when it was measured (agent epoch ms). */
  clock: z.strictObject({ offsetMs: z.number(), measuredAt: z.int().min(0) }).optional(),
  location: Location.nullable(),
  motion: MotionSettings,
  credentials: z.strictObject({ username: z.string().max(128), password: z.string().max(256) }).optional(),
  addedAt: z.int().min(0),
});
export type CameraRecord = z.infer<typeof CameraRecord>;

export const StateFile = z.strictObject({
  version: z.literal(1),
  cameras: z.array(CameraRecord),
});
export type StateFile = z.infer<typeof StateFile>;

/** What may leave the box: the wire contract's CameraInfo fields, nothing that reaches the camera. */
export interface CameraPublicView {
  id: string;
  name: string;
  location: Location | null;
  streams: { role: 'main' | 'sub'; width: number; height: number; codec?: string; fps?: number }[];
  motionSource: MotionSettings['source'];
  vendor?: string;
  model?: string;
}

export function publicView(c: CameraRecord): CameraPublicView {
  const streams: CameraPublicView['streams'] = [];
  for (const role of ['main', 'sub'] as const) {
    const s = c.streams[role];
    // A shared single profile is listed once, as main: each role may appear once on the wire.
    if (role === 'sub' && s.uri === c.streams.main.uri) continue;
    if (s.width === undefined || s.height === undefined) continue;
    streams.push({
      role,
      width: s.width,
      height: s.height,
      ...(s.codec ? { codec: s.codec } : {}),
      ...(s.fps ? { fps: s.fps } : {}),
    });
  }
  return {
    id: c.id,
    name: c.name,
    location: c.location,
    streams,
    motionSource: c.motion.source,
    ...(c.onvif?.manufacturer ? { vendor: c.onvif.manufacturer } : {}),
    ...(c.onvif?.model ? { model: c.onvif.model } : {}),
  };
}

/** A camera id from a name or address: lower case, [a-z0-9-], unique among `taken`. */
export function makeCameraId(seed: string, taken: ReadonlySet<string>): string {
  const base =
    seed
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 56) || 'camera';
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}
