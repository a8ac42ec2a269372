/**
 * The whole agent over real parts: a bridge (embedded broker, PGlite or DATABASE_URL), two
 * simulated ONVIF/RTSP cameras with credentials, a site provisioned by QR (PNG written and read
 * back), the agent composed by agent/agent.ts recording with real ffmpeg and reporting over MQTT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent } from '../../agent/agent.js';
import { HEALTH_FILE, judgeHealthFile } from '../../agent/beacon.js';
import { incidentsPlugin } from '../../agent/incidents-plugin.js';
import { provisionSite, type ProvisionedSite } from '../../demo/site.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { assertBuilt, CLI } from '../helpers/cli.js';
import { eventually, startTestBridge, type TestBridge } from '../helpers/bridge-env.js';
import { tempDir } from '../helpers/qr-enrollment.js';

const execFileP = promisify(execFile);
const CREDS = { username: 'admin', password: 'cam-secret-5150' };

let tb: TestBridge;
let fleet: SimulatorFleet;
let site: ProvisionedSite;
let agent: Agent;
const logLines: string[] = [];

beforeAll(async () => {
  tb = await startTestBridge({ config: { mqttUrl: undefined, enrollment: { brokerAuth: 'registry' } } });
  fleet = new SimulatorFleet({ cameras: 2, rtspPort: 0, onvifPort: 0, discovery: false, ...CREDS });
  await fleet.start(AbortSignal.timeout(240_000));
  const cams = fleet.cameras();
  site = await provisionSite({
    bridgeUrl: tb.url,
    operatorToken: tb.token,
    dataDir: tempDir(),
    spec: {
      site: 'Anacostia Corner Store',
      lat: 38.8623,
      lon: -76.9951,
      policy: 'auto',
      cameras: cams.map((c, i) => ({
        xaddr: c.onvif!.xaddr,
        name: `Front ${i + 1}`,
        location: { lat: 38.8623 + i * 0.0002, lon: -76.9951, heading: 90 },
        motion: 'onvif',
        credentials: CREDS,
      })),
    },
  });
  const { createLogger } = await import('../../lib/log.js');
  agent = new Agent({
    dataDir: site.dataDir,
    segmentSeconds: 2,
    healthIntervalMs: 1_000,
    incidents: incidentsPlugin(),
    log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
  });
  await agent.start(AbortSignal.timeout(60_000));
});

afterAll(async () => {
  await agent?.stop();
  await fleet?.stop();
  await tb?.cleanup();
});

describe('camconnect agent (composition root) against a real bridge', () => {
  it('enrolled from the QR image and onboarded both cameras over ONVIF', async () => {
    expect(site.cameraIds).toHaveLength(2);
    const cameras = JSON.parse(await readFile(path.join(site.dataDir, 'cameras.json'), 'utf8'));
    expect(cameras.cameras.map((c: { location: unknown }) => c.location)).toEqual([
      { lat: 38.8623, lon: -76.9951, heading: 90 },
      { lat: 38.8625, lon: -76.9951, heading: 90 },
    ]);
    expect((await stat(path.join(site.dataDir, 'cameras.json'))).mode & 0o777).toBe(0o600);
  });

  it('the bridge sees the device online, its cameras with locations, and its health', async () => {
    const id = site.state.agentId;
    const dev = await eventually(
      async () => {
        const r = await tb.api('GET', `/api/devices/${id}`);
        if (
          r.status !== 200 ||
          r.json.status !== 'online' ||
          r.json.cameras.length !== 2 ||
          !r.json.latestHealth
        ) {
          return undefined;
        }
        return r.json;
      },
      'device online with two cameras and health',
      60_000,
    );
    expect(dev.siteName).toBe('Anacostia Corner Store');
    expect(dev.cameras.map((c: { lat: number }) => c.lat)).toEqual([38.8623, 38.8625]);
    expect(dev.latestHealth.cameras.map((c: { cameraId: string }) => c.cameraId).sort()).toEqual(
      [...site.cameraIds].sort(),
    );
  });

  it('records every camera with real ffmpeg into its ring buffer', async () => {
    await eventually(
      async () => {
        const stats = (agent.health().parts as Record<string, { state: string }>)['recorder'];
        const dirs: string[] = await readdir(path.join(site.dataDir, 'recordings')).catch(() => []);
        return stats?.state === 'ok' && site.cameraIds.every((id) => dirs.includes(id)) ? true : undefined;
      },
      'recorder ok with a folder per camera',
      60_000,
    );
    const health = await eventually(
      async () => {
        const r = await tb.api('GET', `/api/devices/${site.state.agentId}`);
        const cams = r.json.latestHealth?.cameras as {
          recording: string;
          newestSegmentAgeMs: number | null;
        }[];
        return cams?.every((c) => c.recording === 'recording' && c.newestSegmentAgeMs !== null)
          ? cams
          : undefined;
      },
      'both cameras recording in the reported health',
      90_000,
    );
    expect(health).toHaveLength(2);
    // A fresh agent has not missed an hour: only gaps inside the buffer count.
    for (const c of health as { gapsLastHour: { totalMs: number } }[])
      expect(c.gapsLastHour.totalMs).toBeLessThan(60_000);
  });

  it('publishes motion episodes from the camera ONVIF events, which the bridge records', async () => {
    // Both scenes (street, lobby) have people walking through every 30 s loop.
    const motion = await eventually(
      async () => {
        const r = await tb.api('GET', `/api/devices/${site.state.agentId}`);
        const ended = (r.json.motion as { endedAt: number | null }[]).filter((m) => m.endedAt !== null);
        return ended.length > 0 ? r.json.motion : undefined;
      },
      'an ended motion episode at the bridge',
      90_000,
    );
    for (const m of motion as { cameraId: string }[]) expect(site.cameraIds).toContain(m.cameraId);
  });

  it('answers the health probe (`camconnect agent health`) from its own beacon', async () => {
    const text = await eventually(
      () => readFile(path.join(site.dataDir, HEALTH_FILE), 'utf8').catch(() => undefined),
      'a health file',
      30_000,
    );
    expect(judgeHealthFile(text, Date.now(), 60_000).ok).toBe(true);
    assertBuilt();
    const { stdout } = await execFileP(process.execPath, [
      CLI,
      'agent',
      'health',
      '--data-dir',
      site.dataDir,
    ]);
    expect(stdout).toMatch(/^healthy/);
  });

  it('camconnect doctor checks enrollment, broker, bridge and both streams of each camera', async () => {
    const { stdout } = await execFileP(process.execPath, [
      CLI,
      'doctor',
      '--json',
      '--data-dir',
      site.dataDir,
    ]).catch(
      (err: { stdout: string }) => ({ stdout: err.stdout }), // exit 1: this machine's clock is not synchronised
    );
    const checks = (JSON.parse(stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
    const byName = new Map(checks.map((c) => [c.name, c]));
    for (const name of ['enrollment', 'broker', 'bridge', 'ffmpeg'])
      expect(byName.get(name)?.ok, name).toBe(true);
    for (const id of site.cameraIds) {
      expect(byName.get(`camera ${id} main`)).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^h264 1280x720/),
      });
      expect(byName.get(`camera ${id} sub`)).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^h264 640x360/),
      });
    }
    expect(stdout).not.toContain(CREDS.password);
  });

  it('never logs the camera password or the MQTT password', () => {
    const all = logLines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(CREDS.password);
    expect(all).not.toContain(site.state.mqtt.password);
  });

  it('says offline at the bridge after a clean stop, and the probe then reports unhealthy', async () => {
    await agent.stop();
    await eventually(
      async () => {
        const r = await tb.api('GET', `/api/devices/${site.state.agentId}`);
        return r.json.status === 'offline' ? true : undefined;
      },
      'device offline after stop',
      30_000,
    );
    const text = await readFile(path.join(site.dataDir, HEALTH_FILE), 'utf8');
    expect(judgeHealthFile(text, Date.now(), 60_000)).toMatchObject({ ok: false });
  });
});
