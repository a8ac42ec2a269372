/**
 * The incident tests' world: a running bridge (embedded broker, PGlite, temp data folder), three
 * simulated cameras (simulator/fleet.ts, RTSP on an ephemeral port), a proxy in front of the
 * bridge's HTTP side (for cutting uploads), and helpers to place agents and their cameras.
 *
 * Geography (metres from the site): cam1 60 E, cam2 60 N, cam3 150 W. A circle of 70 m around
 * the point 42 m north-east holds cam1 and cam2 but not cam3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { destinationPoint } from '../../protocol/geofence.js';
import { exportPrivateKeyRaw, exportPublicKeyRaw, generateSigningKeyPair } from '../../protocol/signing.js';
import type { LatLon } from '../../protocol/schemas/common.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { silentLogger } from '../../lib/log.js';
import type { BridgeConfigInput } from '../../cloud-bridge/config.js';
import { eventually, runId, startTestBridge, type Json, type TestBridge } from './bridge-env.js';
import { proxyToUrl, type CutProxy } from './tcp-proxy.js';
import type { TestAgentConfig } from './incident-agent.js';

export const SITE: LatLon = { lat: 38.9, lon: -77.04 };
export const OFFSETS = { cam1: [90, 60], cam2: [0, 60], cam3: [270, 150] } as const;

export function placeCameras(site: LatLon): Record<keyof typeof OFFSETS, LatLon> {
  const at = (k: keyof typeof OFFSETS) => destinationPoint(site, OFFSETS[k][0], OFFSETS[k][1]);
  return { cam1: at('cam1'), cam2: at('cam2'), cam3: at('cam3') };
}

export interface IncidentWorld {
  tb: TestBridge;
  fleet: SimulatorFleet;
  /** In front of the bridge's HTTP side: agents upload through it. */
  proxy: CutProxy;
  tmp: string;
  /** Registers a device at the bridge and returns a config for startTestAgent. */
  agentConfig(over: Partial<TestAgentConfig> & { site: LatLon; name: string }): Promise<TestAgentConfig>;
  /** Files an incident through the bridge's API (as the RTCC operator does). */
  fileIncident(body: Record<string, unknown>): Promise<Json>;
  view(incidentId: string): Promise<Json>;
  cleanup(): Promise<void>;
}

export async function startIncidentWorld(
  bridgeConfig: Partial<BridgeConfigInput> = {},
): Promise<IncidentWorld> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ccinc-'));
  const fleet = new SimulatorFleet({
    cameras: 3,
    rtspPort: 0,
    onvif: false,
    discovery: false,
    log: silentLogger,
  });
  await fleet.start(AbortSignal.timeout(240_000));
  const tb = await startTestBridge({ config: bridgeConfig });
  const proxy = await proxyToUrl(tb.url);
  const rtsp = Object.fromEntries(fleet.cameras().map((c) => [c.id, c.rtsp.main]));
  return {
    tb,
    fleet,
    proxy,
    tmp,
    async agentConfig(over) {
      const agentId = runId(over.name).replace(/_/g, '-');
      const keys = generateSigningKeyPair();
      const reg = await tb.api('POST', '/api/devices', {
        id: agentId,
        publicKey: exportPublicKeyRaw(keys.publicKey),
        siteName: `Site ${over.name}`,
        lat: over.site.lat,
        lon: over.site.lon,
        policy: over.sitePolicy ?? 'auto',
      });
      if (reg.status !== 201)
        throw new Error(`device registration failed: ${reg.status} ${JSON.stringify(reg.json)}`);
      const places = placeCameras(over.site);
      return {
        agentId,
        deviceKey: exportPrivateKeyRaw(keys.privateKey),
        rtccKey: tb.bridge.rtccKey.publicKeyB64u,
        mqttUrl: tb.bridge.mqttUrl,
        bridgeUrl: proxy.url,
        sitePolicy: 'auto',
        cameras: (['cam1', 'cam2', 'cam3'] as const).map((id) => ({
          id,
          url: rtsp[id]!,
          location: places[id],
        })),
        dataDir: mkdtempSync(path.join(tmp, `${over.name}-`)),
        segmentSeconds: 2,
        ...over,
      };
    },
    async fileIncident(body) {
      const res = await tb.api('POST', '/api/incidents', body);
      if (res.status !== 201) throw new Error(`incident refused: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json;
    },
    async view(incidentId) {
      return (await tb.api('GET', `/api/incidents/${incidentId}`)).json;
    },
    async cleanup() {
      await proxy.close();
      await tb.cleanup();
      await fleet.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** eventually() for a condition that may be synchronous. */
export function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<Json> {
  return eventually(async () => await fn(), what, timeoutMs);
}

/** Waits until the bridge's view of an agent's part in an incident satisfies `ok`. */
export function waitForTarget(
  world: IncidentWorld,
  incidentId: string,
  agentId: string,
  ok: (t: Json, view: Json) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<Json> {
  return eventually(
    async () => {
      const v = await world.view(incidentId);
      const t = (v.targets as Json[] | undefined)?.find((x) => x.deviceId === agentId);
      return t && ok(t, v) ? v : null;
    },
    what,
    timeoutMs,
  );
}

/** Where the bridge stores a verified package (cloud-bridge/evidence/finalize.ts). */
export function storedPackageDir(
  world: IncidentWorld,
  incidentId: string,
  agentId: string,
  cameraId: string,
): string {
  return path.join(world.tb.dataDir, 'evidence', 'incidents', incidentId, agentId, cameraId);
}
