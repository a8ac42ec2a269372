/**
 * The appliance issue's "done when", in a real browser: the demo (bridge with embedded broker and
 * PGlite, six simulated cameras, two DC sites provisioned by QR and running real agents) is up;
 * an operator signs in to the dashboard, files an incident by clicking the map next to Navy Yard
 * Market, and sees each of that site's cameras' evidence arrive verified. The other site, 6 km
 * away, is not asked for anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Demo, type DemoInfo } from '../../demo/demo.js';
import type { Json } from '../helpers/bridge-env.js';
import { chromiumAvailable, launchBrowser } from '../helpers/browser.js';

let demo: Demo;
let info: DemoInfo;
const work = mkdtempSync(path.join(os.tmpdir(), 'ccdemo-'));

beforeAll(async () => {
  demo = new Demo({ dir: path.join(work, 'demo'), port: 0, segmentSeconds: 2 });
  await demo.start(AbortSignal.timeout(240_000));
  info = demo.info();
});

afterAll(async () => {
  await demo?.stop();
});

async function api(p: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${info.dashboardUrl}${p}`, {
    headers: { authorization: `Bearer ${info.operatorToken}` },
  });
  return { status: res.status, json: await res.json() };
}

describe.skipIf(!chromiumAvailable() && !process.env['CI'])('demo: incident filed on the dashboard', () => {
  it('brings both sites online at the bridge', async () => {
    await expect
      .poll(async () => (await api('/api/devices')).json, { timeout: 60_000, interval: 1_000 })
      .toSatisfy((body: { devices: { status: string }[] }) => {
        return body.devices.length === 2 && body.devices.every((d) => d.status === 'online');
      });
  });

  it('files an incident near Navy Yard Market from a map click and shows verified evidence', async () => {
    const navy = info.sites[0]!;
    const heights = info.sites[1]!;
    // Some footage first: the window below ends 5 s ago and starts 40 s before that.
    await new Promise((r) => setTimeout(r, 50_000));

    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(info.dashboardUrl + '/');
      await page.fill('#token', info.operatorToken);
      await page.click('#login button');
      const dev = page.locator(`svg#map circle.dev[data-device="${navy.agentId}"]`);
      await dev.waitFor({ timeout: 60_000 });
      const box = (await dev.boundingBox())!;
      // Beside the device, not on it (a click on a device opens its details): about 60 m east.
      await page.mouse.click(box.x + box.width / 2 + 12, box.y + box.height / 2);
      await expect.poll(() => page.inputValue('#center')).toMatch(/^38\.87\d+, -77\.00\d+$/);
      await page.locator('#radius').fill('300');
      // A window to the second (the inputs step by minutes by default; an operator can type seconds).
      await page.evaluate(`(() => {
        const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
        for (const id of ['from', 'to']) document.getElementById(id).step = '1';
        document.getElementById('from').value = local(Date.now() - 45000);
        document.getElementById('to').value = local(Date.now() - 5000);
      })()`);
      await page.fill('#caseNumber', 'DEMO-2026-1125');
      await page.fill('#reason', 'shoplifting reported at the entrance');
      await page.click('#incident button[type=submit]');
      await page.waitForSelector('#progress h2');
      await expect
        .poll(() => page.locator('#progress .evidence .state.verified').count(), {
          timeout: 180_000,
          interval: 1_000,
        })
        .toBe(navy.cameras.length);

      await page.click('#progress .evidence button');
      await page.waitForSelector('#progress video');
      const shot = path.join(work, 'demo-dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      copyFileSync(shot, path.join(os.tmpdir(), 'camconnect-demo-dashboard.png'));
      expect(readFileSync(shot).length).toBeGreaterThan(10_000);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }

    // Only Navy Yard's agent was asked; Columbia Heights (6 km away) got nothing.
    const incidents = (await api('/api/incidents')).json.incidents;
    expect(incidents).toHaveLength(1);
    const detail = (await api(`/api/incidents/${incidents[0].id}`)).json;
    const agentIds = JSON.stringify(detail);
    expect(agentIds).toContain(navy.agentId);
    expect(agentIds).not.toContain(heights.agentId);
  });
});
