/**
 * `camconnect agent discover` against simulated cameras:
 * - on loopback, with a directed (unicast) WS-Discovery probe to the simulator's responder, then
 *   onboarding each camera found; output redacted; `--save` writes the 0600 state file;
 * - by multicast, as on a site LAN, inside a network namespace this test creates and destroys
 *   (the host's lo has no multicast route, and nothing may leave the machine).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../../agent/cameras/discovery.js';
import { runDiscover } from '../../cli/agent-discover.js';
import { silentLogger } from '../../lib/log.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { collect, createNetns, netnsUnavailableReason, type Netns } from '../helpers/netns.js';

const USER = 'viewer';
const PASS = 'Disc0very*Pass';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('discovery on loopback (directed probe)', () => {
  let fleet: SimulatorFleet;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cc-discover-'));
    fleet = new SimulatorFleet({
      cameras: 2,
      rtspPort: 0,
      onvifPort: 0,
      discoveryPort: 0,
      username: USER,
      password: PASS,
      log: silentLogger,
    });
    await fleet.start(AbortSignal.timeout(120_000));
  });
  afterAll(async () => {
    await fleet?.stop();
    delete process.env['CAMCONNECT_CAMERA_PASSWORD'];
    await rm(dir, { recursive: true, force: true });
  });

  it('finds every camera with its name from the ONVIF scopes', async () => {
    const found = await discover({
      interface: 'lo',
      target: { address: '127.0.0.1', port: fleet.discoveryPort()! },
    });
    const cams = fleet.cameras();
    expect(found.map((f) => f.endpoint).sort()).toEqual(cams.map((c) => c.onvif!.uuid).sort());
    for (const c of cams) {
      const f = found.find((x) => x.endpoint === c.onvif!.uuid)!;
      expect(f).toMatchObject({ name: c.name, xaddrs: [c.onvif!.xaddr], from: '127.0.0.1', interface: 'lo' });
    }
  });

  it('lists profiles and stream URIs, never the password, and saves to a 0600 state file', async () => {
    process.env['CAMCONNECT_CAMERA_PASSWORD'] = PASS;
    const file = path.join(dir, 'cameras.json');
    const reports = await runDiscover({
      interface: 'lo',
      to: `127.0.0.1:${fleet.discoveryPort()}`,
      timeout: 3000,
      user: USER,
      save: file,
    });
    expect(reports).toHaveLength(2);
    for (const r of reports) {
      const c = fleet.cameras().find((x) => x.onvif!.uuid === r.endpoint)!;
      expect(r.ok).toBe(true);
      expect(r.profiles?.map((p) => p.token)).toEqual(['main', 'sub']);
      expect(r.streams).toEqual([
        expect.objectContaining({ role: 'main', uri: c.rtsp.main, width: 1280, height: 720 }),
        expect.objectContaining({ role: 'sub', uri: c.rtsp.sub, width: 640, height: 360 }),
      ]);
      expect(r.eventsSupported).toBe(true);
    }
    expect(JSON.stringify(reports)).not.toContain(PASS);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      cameras: { credentials: unknown; name: string }[];
    };
    expect(saved.cameras).toHaveLength(2);
    expect(saved.cameras[0]!.credentials).toEqual({ username: USER, password: PASS });

    // Again: the same cameras are updated in place (same ids), not added twice.
    await runDiscover({
      interface: 'lo',
      to: `127.0.0.1:${fleet.discoveryPort()}`,
      timeout: 3000,
      user: USER,
      save: file,
    });
    const again = JSON.parse(await readFile(file, 'utf8')) as { cameras: unknown[] };
    expect(again.cameras).toHaveLength(2);
  });

  it('--add onboards a camera discovery cannot see, by RTSP URL, and saves it', async () => {
    process.env['CAMCONNECT_CAMERA_PASSWORD'] = PASS;
    const file = path.join(dir, 'manual.json');
    const c = fleet.cameras()[1]!;
    const reports = await runDiscover({
      interface: 'lo',
      to: '127.0.0.1:9', // nobody answers there: only the manual camera
      timeout: 5000, // also ffprobe's limit on the RTSP stream
      user: USER,
      add: [c.rtsp.sub, 'rtsp://127.0.0.1:9/none'],
      save: file,
    });
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({
      ok: true,
      address: c.rtsp.sub,
      streams: [{ role: 'main', width: 640 }, { role: 'sub' }],
    });
    expect(reports[1]).toMatchObject({ ok: false, address: 'rtsp://127.0.0.1:9/none' });
    expect(reports[1]!.error).toMatch(/^camera "127\.0\.0\.1:9": ffprobe failed/);
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      cameras: { credentials: unknown; motion: { source: string } }[];
    };
    expect(saved.cameras).toHaveLength(1);
    expect(saved.cameras[0]).toMatchObject({
      credentials: { username: USER, password: PASS },
      motion: { source: 'pixel' },
    });
  });

  it('reports a camera it cannot log in to, with a hint, and keeps going', async () => {
    process.env['CAMCONNECT_CAMERA_PASSWORD'] = 'wrong';
    const reports = await runDiscover({
      interface: 'lo',
      to: `127.0.0.1:${fleet.discoveryPort()}`,
      timeout: 3000,
      user: USER,
    });
    expect(reports).toHaveLength(2);
    for (const r of reports) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(
        /^camera "Simulated .* camera \d": GetDeviceInformation failed: user name or password rejected/,
      );
      expect(r.hint).toMatch(/user name and password/);
    }
  });
});

const skipReason = await netnsUnavailableReason();

describe.skipIf(skipReason !== undefined)('discovery by multicast in a private network namespace', () => {
  let ns: Netns;
  let dir: string;
  beforeAll(async () => {
    ns = await createNetns('cc-cams');
    dir = await mkdtemp(path.join(tmpdir(), 'cc-discover-ns-'));
  });
  afterAll(async () => {
    await ns?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('`agent discover --interface lo --json` finds the fleet by multicast on port 3702', async () => {
    // Both sides run inside the namespace: the simulated fleet (with its responder on the
    // standard port 3702) and the real CLI, as an installer would run it.
    const child = path.join(dir, 'child.mts');
    await writeFile(
      child,
      `import { SimulatorFleet } from '${repo}/simulator/fleet.js';
import { main } from '${repo}/cli/main.js';
import { silentLogger } from '${repo}/lib/log.js';
const fleet = new SimulatorFleet({ cameras: 2, rtspPort: 0, onvifPort: 0, username: '${USER}', password: '${PASS}', log: silentLogger });
await fleet.start(AbortSignal.timeout(120_000));
process.stdout.write('FLEET ' + JSON.stringify(fleet.cameras().map((c) => ({ uuid: c.onvif.uuid, sub: c.rtsp.sub }))) + '\\n');
const code = await main(['node', 'camconnect', 'agent', 'discover', '--interface', 'lo', '--json', '--user', '${USER}']);
await fleet.stop();
process.exit(code);
`,
    );
    const proc = ns.spawn(process.execPath, ['--import', 'tsx', child], {
      cwd: repo,
      env: { ...process.env, CAMCONNECT_CAMERA_PASSWORD: PASS, CAMCONNECT_LOG_LEVEL: 'warn' },
    });
    const { code, stdout, stderr } = await collect(proc);
    expect(code, stderr).toBe(0);
    const fleetLine = stdout.split('\n').find((l) => l.startsWith('FLEET '))!;
    const cams = JSON.parse(fleetLine.slice(6)) as { uuid: string; sub: string }[];
    const rest = stdout.slice(stdout.indexOf(fleetLine) + fleetLine.length);
    const json = JSON.parse(rest) as {
      cameras: { endpoint: string; ok: boolean; streams: { role: string; uri: string }[] }[];
    };
    expect(json.cameras.map((c) => c.endpoint).sort()).toEqual(cams.map((c) => c.uuid).sort());
    for (const c of json.cameras) {
      expect(c.ok).toBe(true);
      expect(c.streams.find((s) => s.role === 'sub')!.uri).toBe(cams.find((x) => x.uuid === c.endpoint)!.sub);
    }
    expect(stdout).not.toContain(PASS);
    expect(stderr).not.toContain(PASS);
  });
});
