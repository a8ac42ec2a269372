/**
 * The whole system on one machine with embedded defaults (`npm start`):
 * a bridge (embedded MQTT broker, PGlite, dashboard), six simulated cameras,
 * and two sites near Washington DC, each provisioned by QR code, enrolled,
 * and running a real agent (recorder with ffmpeg, motion, link, incidents).
 *
 * Every part is the production part; only the cameras are simulated.
 */
import { readFile, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Agent } from '../agent/agent.js';
import { incidentsPlugin } from '../agent/incidents-plugin.js';
import { Bridge, FIRST_TOKEN_FILE } from '../cloud-bridge/bridge.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Health, Service } from '../lib/lifecycle.js';
import { silentLogger, type Logger } from '../lib/log.js';
import type { EncodeProgress } from '../simulator/encode.js';
import { SimulatorFleet } from '../simulator/fleet.js';
import { provisionSite, type ProvisionedSite, type SiteSpec } from './site.js';

/** Camera credentials of the simulated cameras (they exist only on loopback). */
const CAMERA_LOGIN = { username: 'admin', password: 'demo-camera-pass' };

interface DemoSite {
  spec: Omit<SiteSpec, 'cameras'>;
  cameras: {
    name: string;
    scene: string;
    dLat: number;
    dLon: number;
    heading: number;
    motion: 'onvif' | 'pixel';
  }[];
}

/** Two real places in DC, about 6 km apart: an incident near one covers only its cameras. */
export const DEMO_SITES: readonly DemoSite[] = [
  {
    spec: {
      site: 'Navy Yard Market',
      address: '1299 1st St SE',
      lat: 38.8763,
      lon: -77.0063,
      policy: 'auto',
    },
    cameras: [
      { name: 'Entrance', scene: 'street', dLat: 0.0001, dLon: 0, heading: 180, motion: 'onvif' },
      { name: 'Lobby', scene: 'lobby', dLat: 0, dLon: 0.0002, heading: 270, motion: 'pixel' },
      { name: 'Loading dock', scene: 'still', dLat: -0.0003, dLon: -0.0002, heading: 90, motion: 'onvif' },
    ],
  },
  {
    spec: {
      site: 'Columbia Heights Apartments',
      address: '3100 14th St NW',
      lat: 38.9296,
      lon: -77.0326,
      policy: 'approve',
    },
    cameras: [
      { name: 'Front door', scene: 'lobby', dLat: 0.0001, dLon: 0.0001, heading: 90, motion: 'onvif' },
      { name: 'Street', scene: 'street', dLat: 0, dLon: -0.0002, heading: 270, motion: 'onvif' },
      { name: 'Corridor', scene: 'lights', dLat: -0.0001, dLon: 0, heading: 0, motion: 'pixel' },
    ],
  },
];

export interface DemoOptions {
  /** Everything the demo writes; cleared at start so each run begins fresh. */
  dir: string;
  /** Dashboard port (default 8080; 0 = any free port). */
  port?: number;
  /** Embedded broker port (default 0: any free port, so a local Mosquitto on 1883 is no obstacle). */
  mqttPort?: number;
  /** Recorder segment length; short in tests. */
  segmentSeconds?: number;
  onProgress?: (p: EncodeProgress) => void;
  onStep?: (message: string) => void;
  clock?: Clock;
  log?: Logger;
}

export interface DemoInfo {
  dashboardUrl: string;
  operatorToken: string;
  sites: {
    name: string;
    policy: string;
    agentId: string;
    qrPath: string;
    dataDir: string;
    cameras: string[];
  }[];
}

export class Demo implements Service {
  readonly name = 'demo';
  private bridge: Bridge | undefined;
  private fleet: SimulatorFleet | undefined;
  private agents: Agent[] = [];
  private provisioned: ProvisionedSite[] = [];
  private token = '';

  constructor(private readonly opts: DemoOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const clock = o.clock ?? systemClock;
    const log = o.log ?? silentLogger;
    const step = o.onStep ?? (() => undefined);
    const dir = path.resolve(o.dir);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });

    step('preparing simulated cameras (the first run encodes the scenes once, then they are cached)');
    const plan = DEMO_SITES.flatMap((s) => s.cameras);
    this.fleet = new SimulatorFleet({
      cameras: plan.length,
      rtspPort: 0,
      onvifPort: 0,
      discovery: false,
      scenes: plan.map((c) => c.scene),
      ...CAMERA_LOGIN,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      clock,
      log,
    });
    await this.fleet.start(signal);

    step('starting the bridge (embedded MQTT broker, PGlite database, dashboard)');
    this.bridge = new Bridge({
      config: {
        dataDir: path.join(dir, 'bridge'),
        port: o.port ?? 8080,
        mqttPort: o.mqttPort ?? 0,
        enrollment: { brokerAuth: 'registry' },
      },
      clock,
      log,
    });
    await this.bridge.start(signal);
    this.token = (await readFile(path.join(dir, 'bridge', FIRST_TOKEN_FILE), 'utf8')).trim();

    const sim = this.fleet.cameras();
    let k = 0;
    for (const [i, site] of DEMO_SITES.entries()) {
      signal.throwIfAborted();
      step(`provisioning "${site.spec.site}" by QR code and enrolling its agent`);
      const cameras = site.cameras.map((c) => {
        const s = sim[k++]!;
        return {
          xaddr: s.onvif!.xaddr,
          name: c.name,
          location: {
            lat: site.spec.lat + c.dLat,
            lon: site.spec.lon + c.dLon,
            heading: c.heading,
            fovDeg: 90,
          },
          motion: c.motion,
          credentials: CAMERA_LOGIN,
        };
      });
      this.provisioned.push(
        await provisionSite({
          bridgeUrl: this.bridge.url,
          operatorToken: this.token,
          dataDir: path.join(dir, `site-${i + 1}`),
          spec: { ...site.spec, cameras },
        }),
      );
    }

    step('starting the agents (recording with ffmpeg, motion, MQTT link, incidents)');
    for (const p of this.provisioned) {
      const agent = new Agent({
        dataDir: p.dataDir,
        ...(o.segmentSeconds !== undefined ? { segmentSeconds: o.segmentSeconds } : {}),
        incidents: incidentsPlugin(),
        clock,
        log: log.child({ site: p.state.site.name }),
      });
      await agent.start(signal);
      this.agents.push(agent);
    }
  }

  info(): DemoInfo {
    if (!this.bridge) throw new Error('demo is not started');
    return {
      dashboardUrl: this.bridge.url,
      operatorToken: this.token,
      sites: this.provisioned.map((p) => ({
        name: p.state.site.name,
        policy: p.state.site.policy,
        agentId: p.state.agentId,
        qrPath: p.qrPath,
        dataDir: p.dataDir,
        cameras: p.cameraIds,
      })),
    };
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void> | undefined) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const a of [...this.agents].reverse()) await attempt(() => a.stop());
    this.agents = [];
    await attempt(() => this.bridge?.stop());
    await attempt(() => this.fleet?.stop());
    if (errors.length) throw new AggregateError(errors, 'the demo did not stop cleanly');
  }

  health(): Health {
    const parts = {
      bridge: this.bridge?.health() ?? { state: 'stopped' },
      simulator: this.fleet?.health() ?? { state: 'stopped' },
      ...Object.fromEntries(this.agents.map((a, i) => [`agent${i + 1}`, a.health()])),
    };
    const states = Object.values(parts).map((h) => h.state);
    return { state: states.every((s) => s === 'ok') ? 'ok' : 'degraded', parts };
  }
}
