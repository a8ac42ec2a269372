/**
 * An agent for the incident tests: recorder + link + incidents, composed the way the agent's
 * composition root does it (agent/incidents/index.ts), from a JSON-able config so the same code
 * runs in the test process and in a child process that a test can kill.
 */
import path from 'node:path';
import { Recorder, type RetentionPolicy } from '../../agent/recorder/index.js';
import { createLink, type Link } from '../../agent/link/index.js';
import {
  createIncidents,
  incidentsStateDir,
  type IncidentEvent,
  type IncidentLimits,
  type IncidentsService,
  type SharingPolicy,
  type UploadOptions,
} from '../../agent/incidents/index.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { importPrivateKeyRaw, importPublicKeyRaw } from '../../protocol/signing.js';
import type { CameraLocation } from '../../protocol/schemas/common.js';
import type { ReplyPayload } from '../../protocol/schemas/replies.js';

export interface TestAgentConfig {
  agentId: string;
  /** Raw base64url Ed25519 keys: the device's private key, the RTCC's public key. */
  deviceKey: string;
  rtccKey: string;
  mqttUrl: string;
  bridgeUrl: string;
  site: { lat: number; lon: number };
  sitePolicy: SharingPolicy;
  cameraPolicies?: Record<string, SharingPolicy>;
  cameras: { id: string; url: string; location: CameraLocation }[];
  dataDir: string;
  segmentSeconds: number;
  retention?: RetentionPolicy;
  limits?: Partial<IncidentLimits>;
  upload?: UploadOptions;
  keepPackages?: boolean;
}

export interface TestAgent {
  recorder: Recorder;
  link: Link;
  incidents: IncidentsService;
  stateDir: string;
  recDir: string;
  replies: ReplyPayload[];
  events: IncidentEvent[];
  stop(): Promise<void>;
}

export async function startTestAgent(cfg: TestAgentConfig, log: Logger = silentLogger): Promise<TestAgent> {
  const recDir = path.join(cfg.dataDir, 'recordings');
  const stateDir = incidentsStateDir(cfg.dataDir);
  const replies: ReplyPayload[] = [];
  const events: IncidentEvent[] = [];
  const recorder = new Recorder({
    dir: recDir,
    segmentSeconds: cfg.segmentSeconds,
    retention: cfg.retention ?? { minFreeBytes: 0 },
    retentionIntervalMs: 1_000,
    cameras: cfg.cameras.map((c) => ({ name: c.id, url: c.url, transport: 'tcp' as const })),
    log,
  });
  const holder: { link?: Link } = {};
  const incidents = createIncidents({
    recorder,
    replies: async (r) => {
      replies.push(r);
      if (!holder.link) throw new Error('the link is not built yet');
      await holder.link.publish('replies', r);
    },
    identity: {
      agentId: cfg.agentId,
      deviceKey: importPrivateKeyRaw(cfg.deviceKey),
      rtccKeys: [importPublicKeyRaw(cfg.rtccKey)],
      bridgeUrl: cfg.bridgeUrl,
      site: { policy: cfg.sitePolicy, location: cfg.site },
    },
    cameras: () => cfg.cameras.map((c) => ({ id: c.id, location: c.location })),
    stateDir,
    clock: systemClock,
    log: log.child({ part: 'incidents' }),
    software: 'camconnect-edge test',
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    policy: { site: cfg.sitePolicy, ...(cfg.cameraPolicies ? { cameras: cfg.cameraPolicies } : {}) },
    upload: { retryInitialMs: 200, retryMaxMs: 1_000, idleTimeoutMs: 10_000, ...cfg.upload },
    keepPackages: cfg.keepPackages ?? false,
    approvalPollMs: 200,
    onEvent: (e) => events.push(e),
  });
  const link = createLink(
    {
      agentId: cfg.agentId,
      url: cfg.mqttUrl,
      outbox: { dir: path.join(cfg.dataDir, 'outbox') },
      reconnect: { initialMs: 100, maxMs: 1_000, factor: 2, floorMs: 20 },
      keepaliveS: 5,
      healthIntervalMs: 600_000,
    },
    {
      clock: systemClock,
      log: log.child({ part: 'link' }),
      agentVersion: '0.0.0-test',
      startedAt: Date.now(),
      handlers: { ...incidents.handlers },
    },
  );
  holder.link = link;
  const started: { stop(): Promise<void> }[] = [];
  try {
    await recorder.start(AbortSignal.timeout(60_000));
    started.push(recorder);
    await link.start(AbortSignal.timeout(60_000));
    started.push(link);
    await incidents.start(AbortSignal.timeout(60_000));
    started.push(incidents);
    await link.whenUp();
    await link.setCameras(
      cfg.cameras.map((c) => ({
        id: c.id,
        name: `camera ${c.id}`,
        location: c.location,
        streams: [{ role: 'main' as const, width: 1280, height: 720 }],
      })),
    );
  } catch (err) {
    for (const s of started.reverse()) await s.stop();
    throw err;
  }
  return {
    recorder,
    link,
    incidents,
    stateDir,
    recDir,
    replies,
    events,
    async stop() {
      await incidents.stop();
      await link.stop();
      await recorder.stop();
    },
  };
}
