/**
 * A fleet of simulated cameras: one RTSP server for all of them, one ONVIF
 * device per camera, and a WS-Discovery responder that answers on loopback.
 * This is the composition root of the simulator (`camconnect sim`, the demo,
 * the tests and the benchmarks all start cameras through it).
 *
 * Every camera has one SceneTimeline. Its RTSP sessions and its ONVIF motion
 * events both read that timeline, so events are in step with the pictures.
 */
import { readFile } from 'node:fs/promises';
import { systemClock, type Clock } from '../lib/clock.js';
import { Composition, type Health, type Service } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import { ensureScene, type EncodedScene, type EncodeProgress } from './encode.js';
import { OnvifDevice } from './onvif/device.js';
import { DiscoveryResponder } from './onvif/discovery.js';
import { RtspServer } from './rtsp/server.js';
import { SceneTimeline, STREAM_PROFILES, sceneByName, sceneForCamera, type SceneSpec } from './scenes.js';

export interface FleetOptions {
  /** How many cameras, 1..64. */
  cameras: number;
  /** Listen address for every service; loopback by default (and by design). */
  host?: string;
  /** RTSP port (default 8554); 0 = ephemeral. */
  rtspPort?: number;
  /** ONVIF port of camera 1 (default 8000); camera k listens on onvifPort + k - 1. 0 = each ephemeral. */
  onvifPort?: number;
  /** Serve ONVIF devices (default true). */
  onvif?: boolean;
  /** Answer WS-Discovery probes on loopback (default: when onvif is on). */
  discovery?: boolean;
  /** WS-Discovery port (default 3702). */
  discoveryPort?: number;
  /** When set, RTSP and ONVIF require these credentials. */
  username?: string;
  password?: string;
  /** RTSP authentication scheme when credentials are set (default digest). */
  rtspAuth?: 'basic' | 'digest';
  /** Device clock offset in seconds for every ONVIF device (tests of time-offset handling). */
  clockOffsetSec?: number;
  /** Wall-clock time at which every scene's loop starts (default: now). */
  epochMs?: number;
  /** Scene names per camera, overriding the default rotation (street, lobby, still, lights). */
  scenes?: string[];
  cacheDir?: string;
  onProgress?: (p: EncodeProgress) => void;
  clock?: Clock;
  log?: Logger;
}

export interface SimCameraInfo {
  id: string;
  name: string;
  scene: string;
  /** RTSP URLs without credentials. */
  rtsp: { main: string; sub: string };
  onvif?: { xaddr: string; port: number; uuid: string };
  groundTruthPath: string;
  timeline: SceneTimeline;
}

const MAX_CAMERAS = 64;

export class SimulatorFleet implements Service {
  readonly name = 'simulator';
  private composition: Composition | undefined;
  private rtsp: RtspServer | undefined;
  private devices: OnvifDevice[] = [];
  private infos: SimCameraInfo[] = [];
  private discoveryResponder: DiscoveryResponder | undefined;

  constructor(private readonly opts: FleetOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    if (!Number.isInteger(o.cameras) || o.cameras < 1 || o.cameras > MAX_CAMERAS) {
      throw new RangeError(`cameras must be a whole number from 1 to ${MAX_CAMERAS}, got ${o.cameras}`);
    }
    const log = (o.log ?? createLogger()).child({ component: 'simulator' });
    const clock = o.clock ?? systemClock;
    const host = o.host ?? '127.0.0.1';
    const epochMs = o.epochMs ?? clock.now();

    // Encode each distinct scene once (cached across runs), before anything listens.
    const plan = Array.from({ length: o.cameras }, (_, i) => this.sceneFor(i + 1));
    const encoded = new Map<string, EncodedScene>();
    for (const { scene } of plan) {
      signal.throwIfAborted();
      if (!encoded.has(scene.name)) {
        encoded.set(
          scene.name,
          await ensureScene(scene, {
            log,
            ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
            ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          }),
        );
      }
    }

    const cams = plan.map(({ scene, phaseSec }, i) => {
      const enc = encoded.get(scene.name)!;
      return { id: `cam${i + 1}`, enc, timeline: new SceneTimeline(scene, epochMs, phaseSec) };
    });

    const auth =
      o.username !== undefined && o.password !== undefined
        ? { username: o.username, password: o.password }
        : undefined;
    this.rtsp = new RtspServer({
      host,
      port: o.rtspPort ?? 8554,
      cameras: cams.map((c) => ({ id: c.id, timeline: c.timeline, main: c.enc.main, sub: c.enc.sub })),
      ...(auth ? { auth: { ...auth, mode: o.rtspAuth ?? 'digest' } } : {}),
      clock,
      log,
    });
    // The RTSP server must listen before the ONVIF devices can announce its URLs.
    await this.rtsp.start(signal);
    const rtsp = this.rtsp;

    const onvifOn = o.onvif ?? true;
    const basePort = o.onvifPort ?? 8000;
    this.devices = onvifOn
      ? cams.map(
          (c, i) =>
            new OnvifDevice({
              host,
              port: basePort === 0 ? 0 : basePort + i,
              camera: {
                id: c.id,
                name: `Simulated ${c.enc.scene.name} camera ${i + 1}`,
                manufacturer: 'CamConnect',
                model: 'SimCam',
                serial: `SIM-${String(i + 1).padStart(4, '0')}`,
                timeline: c.timeline,
                streams: {
                  main: { uri: rtsp.url(c.id, 'main'), ...profileFacts('main') },
                  sub: { uri: rtsp.url(c.id, 'sub'), ...profileFacts('sub') },
                },
                snapshot: (atMs) => readFile(snapshotAt(c.enc, c.timeline, atMs)),
              },
              ...(auth ? { auth } : {}),
              ...(o.clockOffsetSec !== undefined ? { clockOffsetSec: o.clockOffsetSec } : {}),
              clock,
              log,
            }),
        )
      : [];
    const parts: Service[] = [...this.devices];
    if (onvifOn && (o.discovery ?? true)) {
      this.discoveryResponder = new DiscoveryResponder({
        devices: () => this.devices.map((d) => ({ uuid: d.uuid, xaddr: d.xaddr(), scopes: d.scopes() })),
        interfaceAddress: host,
        port: o.discoveryPort ?? 3702,
        log,
      });
      parts.push(this.discoveryResponder);
    }
    this.composition = new Composition(parts);
    try {
      await this.composition.start(signal);
    } catch (err) {
      await rtsp.stop();
      throw err;
    }

    this.infos = cams.map((c, i) => {
      const dev = this.devices[i];
      return {
        id: c.id,
        name: `Simulated ${c.enc.scene.name} camera ${i + 1}`,
        scene: c.enc.scene.name,
        rtsp: { main: rtsp.url(c.id, 'main'), sub: rtsp.url(c.id, 'sub') },
        ...(dev ? { onvif: { xaddr: dev.xaddr(), port: dev.port(), uuid: dev.uuid } } : {}),
        groundTruthPath: c.enc.groundTruthPath,
        timeline: c.timeline,
      };
    });
    log.info('simulated cameras ready', { cameras: this.infos.length, rtspPort: rtsp.port() });
  }

  cameras(): SimCameraInfo[] {
    return this.infos;
  }

  rtspPort(): number | undefined {
    return this.rtsp?.port();
  }

  discoveryPort(): number | undefined {
    return this.discoveryResponder?.port();
  }

  /** The ONVIF device of a camera, e.g. to switch fault modes in tests. */
  device(id: string): OnvifDevice | undefined {
    const i = this.infos.findIndex((c) => c.id === id);
    return i >= 0 ? this.devices[i] : undefined;
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    try {
      await this.composition?.stop();
    } catch (err) {
      errors.push(err);
    }
    try {
      await this.rtsp?.stop();
    } catch (err) {
      errors.push(err);
    }
    this.composition = undefined;
    this.rtsp = undefined;
    if (errors.length) throw new AggregateError(errors, 'simulator did not stop cleanly');
  }

  health(): Health {
    const rtsp = this.rtsp?.health() ?? { state: 'stopped' as const };
    const rest = this.composition?.health() ?? { state: 'stopped' as const };
    const state =
      rtsp.state === 'ok' && (rest.state === 'ok' || this.devices.length === 0) ? 'ok' : rtsp.state;
    return { state, rtsp, onvif: rest, cameras: this.infos.length };
  }

  private sceneFor(k: number): { scene: SceneSpec; phaseSec: number } {
    const name = this.opts.scenes?.[k - 1];
    if (!name) return sceneForCamera(k);
    return { scene: sceneByName(name), phaseSec: sceneForCamera(k).phaseSec };
  }
}

function profileFacts(role: 'main' | 'sub') {
  const p = STREAM_PROFILES[role];
  return { width: p.width, height: p.height, fps: p.fps, kbps: p.kbps, gop: p.gop };
}

/** The per-second JPEG of the picture shown at atMs. */
function snapshotAt(enc: EncodedScene, timeline: SceneTimeline, atMs: number): string {
  const second = Math.floor(timeline.position(atMs));
  return enc.snapshots[Math.min(second, enc.snapshots.length - 1)] ?? enc.snapshots[0]!;
}
