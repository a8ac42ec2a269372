/**
 * The public shapes of a simulated ONVIF camera. The lead's fleet builds
 * these from its camera list; OnvifDevice (device.ts) serves them.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { SceneTimeline } from '../scenes.js';

export interface OnvifStream {
  /** RTSP URI served by simulator/rtsp, returned as-is by GetStreamUri. */
  uri: string;
  width: number;
  height: number;
  fps: number;
  /** Target bitrate, kbit/s. */
  kbps: number;
  /** Keyframe interval in frames; defaults to fps (one second, as the encoder uses). */
  gop?: number;
}

export interface OnvifCamera {
  id: string;
  name: string;
  manufacturer?: string;
  model?: string;
  serial: string;
  hardwareId?: string;
  /** The scene the camera shows; motion events follow it, as the RTSP stream does. */
  timeline: SceneTimeline;
  streams: { main: OnvifStream; sub: OnvifStream };
  /** A JPEG of the picture at wall-clock time atMs. */
  snapshot: (atMs: number) => Promise<Buffer>;
}

/**
 * Fault injection for the agent's error-handling tests:
 * - 'soap-fault': every SOAP call answers env:Receiver ter:Action (HTTP 500); the snapshot answers 500.
 * - 'timeout': requests are accepted and never answered (until the mode changes back or the device stops).
 * - 'malformed-xml': HTTP 200 with a body that is not well-formed XML; the snapshot is a truncated JPEG.
 * - 'http-500': a plain HTTP 500 with an HTML body, as a crashed web server would send.
 */
export type FaultMode = 'none' | 'soap-fault' | 'timeout' | 'malformed-xml' | 'http-500';

export interface OnvifDeviceOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks an ephemeral port. */
  port?: number;
  camera: OnvifCamera;
  /** When set, every call but GetSystemDateAndTime (and the snapshot) needs these credentials. */
  auth?: { username: string; password: string };
  /** The device clock runs this many seconds from real time (agents test offset handling). */
  clockOffsetSec?: number;
  faults?: { mode: FaultMode };
  clock?: Clock;
  log?: Logger;
}

/** What the discovery responder needs from each device. */
export interface DiscoverableDevice {
  /** urn:uuid:..., the WS-Addressing endpoint reference address. */
  uuid: string;
  /** The device service URL. */
  xaddr: string;
  scopes?: string[];
}
