/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core): sign in, see devices
 * on the self-drawn map with their health, click the map to file an incident, watch its live
 * progress arrive over server-sent events, and play the verified evidence. Takes a screenshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { destinationPoint } from '../../protocol/geofence.js';
import { SimAgent } from '../../cloud-bridge/testing/sim-agent.js';
import { eventually, runId, startTestBridge, type TestBridge } from '../helpers/bridge-env.js';
import { buildManifest, uploadPackage } from '../helpers/bridge-evidence.js';
import { chromiumAvailable, launchBrowser } from '../helpers/browser.js';

const CENTER = { lat: 38.8895, lon: -77.0353 };
let tb: TestBridge;
const agents: SimAgent[] = [];
const shots = mkdtempSync(path.join(os.tmpdir(), 'ccb-shots-'));

/** A real, playable 2-second MP4 (H.264) made with ffmpeg, or plain bytes if ffmpeg is missing. */
function clip(): { body: Buffer; playable: boolean } {
  const out = path.join(shots, 'clip.mp4');
  try {
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180:rate=10',
      '-t',
      '2',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-movflags',
      '+faststart',
      '-y',
      out,
    ]);
    return { body: readFileSync(out), playable: true };
  } catch {
    return { body: Buffer.alloc(4096, 9), playable: false };
  }
}

beforeAll(async () => {
  tb = await startTestBridge();
  const spots = [
    { at: destinationPoint(CENTER, 30, 120), health: 'ok' },
    { at: destinationPoint(CENTER, 200, 350), health: 'stalled' },
    { at: destinationPoint(CENTER, 100, 900), health: 'ok' },
    { at: destinationPoint(CENTER, 300, 1500), health: 'offline' },
  ];
  for (const [i, s] of spots.entries()) {
    const a = new SimAgent({
      url: tb.bridge.mqttUrl,
      agentId: runId(`dash${i}`).replace(/_/g, '-'),
      site: s.at,
      cameras: [{ id: 'cam1', ...s.at }],
    });
    agents.push(a);
    await tb.api('POST', '/api/devices', a.registration());
    await a.connect();
    await a.online();
    await a.inventory();
    await a.health(s.health === 'stalled' ? { recording: 'stalled' } : {});
    if (i === 0) for (let e = 0; e < 3; e++) await a.motion('cam1', `ep${e}`, 'start');
    if (s.health === 'offline') await a.close('crash');
  }
  await eventually(async () => {
    const devs = (await tb.api('GET', '/api/devices')).json.devices as { health: string }[];
    return devs.some((d) => d.health === 'offline') && devs.some((d) => d.health === 'degraded');
  }, 'registry ready');
});

afterAll(async () => {
  for (const a of agents) {
    await a.close();
    await a.clearRetained();
  }
  await tb?.cleanup();
});

// Skipped on a developer machine without Chromium; in CI (which installs it) a missing browser fails.
describe.skipIf(!chromiumAvailable() && !process.env['CI'])('dashboard in Chromium', () => {
  it('shows devices, files an incident from a map click, streams progress and plays evidence', async () => {
    const browser = await launchBrowser();
    const errors: string[] = [];
    const offsite: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith(tb.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:'))
          offsite.push(r.url());
      });
      await page.goto(tb.url + '/');
      await page.fill('#token', tb.token);
      await page.click('#login button');
      await page.waitForSelector('svg#map circle.dev.offline');
      expect(await page.locator('svg#map circle.dev').count()).toBe(4);
      expect(await page.locator('svg#map circle.dev.degraded').count()).toBe(1);
      expect(await page.locator('svg#map circle.motion').count()).toBe(1);
      expect(await page.locator('svg#map .scale text').textContent()).toMatch(/^\d+ (m|km)$/);
      await expect
        .poll(() => page.locator('#glance').textContent())
        .toMatch(/2 online.*1 degraded.*1 offline/);

      // Click the map 20 px right of the first device: the incident centre.
      const dev = page.locator(`svg#map circle.dev[data-device="${agents[0]!.agentId}"]`);
      const box = (await dev.boundingBox())!;
      await page.mouse.click(box.x + box.width / 2 + 20, box.y + box.height / 2);
      await expect.poll(() => page.inputValue('#center')).toMatch(/^38\.8\d+, -77\.0\d+$/);
      await page.locator('#radius').fill('400');
      await page.fill('#caseNumber', 'DC-2026-7');
      await page.fill('#reason', 'vehicle break-in');
      await page.click('#incident button[type=submit]');
      await page.waitForSelector('#progress h2');

      const a = agents[0]!;
      const cmd = await a.waitForRequest('incident');
      const covered = { from: cmd.incident.request.from, to: cmd.incident.request.to };
      await a.reply({
        requestId: cmd.requestId,
        type: 'incident-status',
        incidentId: cmd.incident.request.id,
        outcome: 'in-progress',
        cameras: [{ cameraId: 'cam1', state: 'uploading', covered, gaps: [], percent: 40 }],
      });
      await page.waitForSelector('#progress .state.uploading');

      const video = clip();
      const files = [{ name: 'clip.mp4', body: video.body, contentType: 'video/mp4' }];
      const signed = buildManifest(cmd.incident, a.agentId, 'cam1', files, a.privateKey);
      const up = await uploadPackage(
        {
          base: tb.url,
          incidentId: cmd.incident.request.id,
          deviceId: a.agentId,
          cameraId: 'cam1',
          requestId: cmd.requestId,
        },
        signed,
        files,
      );
      expect(up.status).toBe(204);
      await page.waitForSelector('#progress .evidence .state.verified');
      await page.click('#progress .evidence button');
      await page.waitForSelector('#progress video');
      if (video.playable) {
        // Evaluated in the page (a string: this project's TypeScript has no DOM types).
        await expect
          .poll(async () => Number(await page.evaluate("document.querySelector('video')?.readyState ?? 0")))
          .toBeGreaterThanOrEqual(1);
        expect(Number(await page.evaluate("document.querySelector('video')?.duration ?? 0"))).toBeGreaterThan(
          1,
        );
      }
      const shot = path.join(shots, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      copyFileSync(shot, path.join(os.tmpdir(), 'camconnect-bridge-dashboard.png'));
      expect(readFileSync(shot).length).toBeGreaterThan(10_000);
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
