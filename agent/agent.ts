/**
 * The agent's composition root: reads the enrolled identity and the camera
 * inventory from the data folder, builds every part, starts them in order and
 * stops them in reverse.
 *
 *   recorder  → always first: footage matters more than anything else, and it
 *               needs nothing but the cameras and a disk.
 *   motion    → one service per camera (ONVIF events and/or pixel motion),
 *               feeding the link, the motion journal and the recorder's tags.
 *   link      → the MQTT connection; starting it never blocks on the broker,
 *               so an unreachable bridge never stops recording.
 *   incidents → (plugged in) checks signed requests, pins, cuts and uploads;
 *               after the link, whose outbox carries its replies.
 *   beacon    → last: writes health.json and pings the systemd watchdog.
 *
 * Data folder layout (all created with restrictive modes by their owners):
 *   enrollment.json (0600)  identity, keys, broker credentials   provisioning/agent-state.ts
 *   cameras.json    (0600)  inventory and camera credentials     agent/cameras/store.ts
 *   outbox/                 store-and-forward log                agent/link/outbox.ts
 *   motion/                 motion episodes per camera per day   agent/motion/journal.ts
 *   incidents/              jobs, nonces, audit log              agent/incidents/
 *   recordings/             the ring buffer (unless --recordings elsewhere)
 *   setup-code      (0600)  the LAN setup page's unlock code     agent/setup/auth.ts
 */
import path from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';
import { Composition, type Health, type Service } from '../lib/lifecycle.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { VERSION } from '../lib/version.js';
import type { CameraInfo } from '../protocol/index.js';
import {
  enrolledStatePath,
  linkConnection,
  loadEnrolledState,
  type EnrolledState,
} from '../provisioning/agent-state.js';
import { publicView, type CameraRecord } from './cameras/inventory.js';
import { CameraStore } from './cameras/store.js';
import { withCredentials } from './cameras/streams.js';
import { createHealthCollector } from './health/index.js';
import {
  createLink,
  type Link,
  type LinkConfigInput,
  type ReplyContext,
  type RequestHandlers,
} from './link/index.js';
import { CameraMotion } from './motion/camera-motion.js';
import { MotionJournal } from './motion/journal.js';
import { MotionFeed } from './motion/feed.js';
import { fanOut } from './motion/types.js';
import { Recorder, type RetentionPolicy } from './recorder/index.js';
import { recorderHealthSource } from './adapters.js';
import { HealthBeacon } from './beacon.js';
import { SetupServer } from './setup/server.js';

export const CAMERAS_FILE = 'cameras.json';

/** What a pluggable part (incidents) gets from the root. */
export interface AgentContext {
  state: EnrolledState;
  recorder: Recorder;
  link: Link;
  cameras: CameraRecord[];
  dataDir: string;
  clock: Clock;
  log: Logger;
}

export interface AgentPlugin {
  service: Service;
  /** Request handlers this part answers; merged into the link's. */
  handlers: RequestHandlers;
}

export interface AgentOptions {
  dataDir: string;
  /** Default `<dataDir>/recordings`. */
  recordingsDir?: string;
  segmentSeconds?: number;
  retention?: RetentionPolicy;
  healthIntervalMs?: number;
  /** Link settings beyond identity (intervals, outbox bounds); tests shorten them. */
  link?: Omit<Partial<LinkConfigInput>, 'agentId' | 'url' | 'username' | 'password'>;
  /** Builds the incidents part once the recorder and link exist (issue 8). */
  incidents?: (ctx: AgentContext) => AgentPlugin;
  /** The LAN setup page (agent/setup); off unless given. Port 0 picks a free port. */
  setup?: { host?: string; port?: number };
  clock?: Clock;
  log?: Logger;
}

export class NotEnrolledError extends Error {
  constructor(file: string) {
    super(`this device is not enrolled (no ${file}): run \`camconnect agent enroll --qr FILE\` first`);
    this.name = 'NotEnrolledError';
  }
}

export class Agent implements Service {
  readonly name = 'agent';
  private composition: Composition | undefined;
  private recorder: Recorder | undefined;
  private link: Link | undefined;
  private state: EnrolledState | undefined;
  private cameraList: CameraRecord[] = [];
  /** The setup page, when enabled: its URL is printed by the CLI and used by tests. */
  setupServer: SetupServer | undefined;

  constructor(private readonly opts: AgentOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const clock = o.clock ?? systemClock;
    const log = (o.log ?? silentLogger).child({ part: 'agent' });
    const dataDir = path.resolve(o.dataDir);
    const startedAt = clock.now();

    const stateFile = enrolledStatePath(dataDir);
    const state = await loadEnrolledState(stateFile);
    if (!state) throw new NotEnrolledError(stateFile);
    this.state = state;
    const store = new CameraStore(path.join(dataDir, CAMERAS_FILE));
    await store.load();
    const cameras = store.list();
    this.cameraList = cameras;
    if (cameras.length === 0) {
      log.warn('no cameras configured: add some with `camconnect agent discover --save`');
    }

    const recordingsDir = path.resolve(o.recordingsDir ?? path.join(dataDir, 'recordings'));
    const recorder = new Recorder({
      dir: recordingsDir,
      // The camera id names its recording folder: ids are stable, names are the owner's to change.
      cameras: cameras.map((c) => ({
        name: c.id,
        url: withCredentials(c.streams.main.uri, c.credentials),
      })),
      ...(o.segmentSeconds !== undefined ? { segmentSeconds: o.segmentSeconds } : {}),
      ...(o.retention ? { retention: o.retention } : {}),
      clock,
      log,
    });
    this.recorder = recorder;

    // Episodes fan out to the link (published) and the journal (kept for "when was there motion").
    const feed = new MotionFeed(clock, (camera, problem) =>
      log.error('motion episode does not fit the wire contract; not published', { camera, problem }),
    );
    const onSinkError = (err: unknown) => log.error('motion sink failed', { err: String(err) });
    const journal = new MotionJournal(path.join(dataDir, 'motion'), onSinkError);
    const sink = fanOut([feed, journal.sink()], onSinkError);
    const motions = cameras
      .filter((c) => c.motion.source !== 'none')
      .map((c) => new CameraMotion({ camera: c, sink, clock, log }));

    // Handlers are resolved at call time: the incidents part needs the link to exist first.
    const handlers: RequestHandlers = {};
    const delegating: RequestHandlers = {
      incident: (req, ctx) =>
        handlers.incident ? handlers.incident(req, ctx) : unsupported(ctx, 'incident'),
      'cancel-incident': (req, ctx) =>
        handlers['cancel-incident']
          ? handlers['cancel-incident'](req, ctx)
          : unsupported(ctx, 'cancel-incident'),
      'evidence-receipt': (req, ctx) =>
        handlers['evidence-receipt']
          ? handlers['evidence-receipt'](req, ctx)
          : unsupported(ctx, 'evidence-receipt'),
    };
    const link = createLink(
      {
        ...linkConnection(state),
        outbox: { dir: path.join(dataDir, 'outbox') },
        ...(o.healthIntervalMs !== undefined ? { healthIntervalMs: o.healthIntervalMs } : {}),
        ...o.link,
      },
      {
        clock,
        log,
        agentVersion: VERSION,
        startedAt,
        health: createHealthCollector({
          clock,
          agentVersion: VERSION,
          recordingsPath: recordingsDir,
          cameras: recorderHealthSource(recorder, cameras, clock),
        }),
        motion: feed.onEpisode,
        handlers: delegating,
      },
    );
    this.link = link;

    const parts: Service[] = [recorder, ...motions, link];
    if (o.incidents) {
      // After the link: incident replies go into the link's outbox, which must be open.
      const plugin = o.incidents({ state, recorder, link, cameras, dataDir, clock, log });
      Object.assign(handlers, plugin.handlers);
      parts.push(plugin.service);
    }
    if (o.setup) {
      this.setupServer = new SetupServer({ dataDir, ...o.setup, cameras: store, clock, log });
      parts.push(this.setupServer);
    }
    // Last: it reports on everything above, and its first READY=1 means the agent is up.
    parts.push(new HealthBeacon({ dataDir, health: () => this.health(), clock, log }));
    this.composition = new Composition(parts);
    await this.composition.start(signal);
    await link.setCameras(this.inventory());
    log.info('agent started', { agentId: state.agentId, cameras: cameras.length, recordings: recordingsDir });
  }

  /** The retained `cameras` inventory: names, locations, stream roles; never URLs or credentials. */
  inventory(): CameraInfo[] {
    return this.cameraList.map((c) => publicView(c) as CameraInfo);
  }

  agentId(): string | undefined {
    return this.state?.agentId;
  }

  async stop(): Promise<void> {
    await this.composition?.stop();
    this.composition = undefined;
  }

  health(): Health {
    if (!this.composition) return { state: 'stopped' };
    const h = this.composition.health();
    const stats = this.recorder?.stats();
    return {
      ...h,
      agentId: this.state?.agentId,
      ...(stats?.storageCritical
        ? { state: 'degraded', detail: 'storage critical: holds fill the quota' }
        : {}),
    };
  }
}

/** The same answer the link gives for a type nobody handles. */
function unsupported(ctx: ReplyContext, type: string): Promise<void> {
  return ctx.reply({
    type: 'error',
    code: 'unsupported',
    message: `this agent does not handle "${type}" requests`,
  });
}
