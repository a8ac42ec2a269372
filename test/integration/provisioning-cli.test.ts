/**
 * The technician's commands, run in-process through the real command line parser:
 * `camconnect provision` (QR file + terminal), `camconnect agent enroll --from-camera` (the code
 * read off a camera snapshot behind Digest auth, photo-like), `--qr`, `--payload`, and
 * `camconnect provision revoke`; bad input gives a clear message and no state. Also reads a
 * snapshot from the simulator's ONVIF camera to show the Digest client against a real device.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { enrolledStatePath, loadEnrolledState } from '../../provisioning/agent-state.js';
import { cameraSnapshotSource, watchCameraForQr } from '../../provisioning/camera-qr.js';
import { EnrollmentError } from '../../provisioning/errors.js';
import { decodeQrFile } from '../../provisioning/qr.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { startTestBridge, type TestBridge } from '../helpers/bridge-env.js';
import { expectNotEnrolled, SITE, tempDir } from '../helpers/qr-enrollment.js';
import { photoLike, sceneSnapshot, SnapshotCamera } from '../helpers/qr-images.js';

let tb: TestBridge;
let tokenFile: string;
const work = tempDir('ccprov-');
const secrets: string[] = [];

beforeAll(async () => {
  tb = await startTestBridge({ config: { mqttUrl: undefined, enrollment: { brokerAuth: 'registry' } } });
  tokenFile = path.join(work, 'operator-token');
  await writeFile(tokenFile, tb.token + '\n', { mode: 0o600 });
  secrets.push(tb.token);
});
afterAll(async () => {
  await tb?.cleanup();
});

/** Runs `camconnect ...args` in this process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    const code = await main(['node', 'camconnect', ...args]);
    for (const s of secrets) expect(out + err, 'a secret was printed').not.toContain(s);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

async function provision(out: string, extra: string[] = []) {
  const site = [
    '--site',
    SITE.site,
    '--address',
    SITE.address,
    '--lat',
    String(SITE.lat),
    '--lon',
    String(SITE.lon),
  ];
  return cli(
    'provision',
    '--bridge',
    tb.url,
    ...site,
    '--policy',
    'approve',
    '--out',
    out,
    '--token-file',
    tokenFile,
    ...extra,
  );
}

describe('camconnect provision and camconnect agent enroll', () => {
  it('provision writes the QR code (PNG and SVG) and draws it, with its size and QR version', async () => {
    const png = path.join(work, 'label.png');
    const r = await provision(png);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/QR version 10 \(57x57 modules\), error correction M/);
    expect(r.out).toMatch(/valid once, until \d{4}-/);
    expect(r.out).toMatch(/[█▀▄]/); // the terminal drawing
    const payload = await decodeQrFile(png);
    expect(payload).toMatch(/^CC1:/);
    expect(r.out).not.toContain(payload); // shown as a QR code, not as text, unless asked
    expect((await stat(png)).mode & 0o777).toBe(0o600);
    const svg = path.join(work, 'label.svg');
    const s = await provision(svg, ['--no-terminal', '--show-payload']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).not.toMatch(/█/);
    expect(s.out).toContain(`payload: ${await decodeQrFile(svg)}`);
  });

  it('agent enroll --from-camera reads the code off a Digest-protected snapshot, then revoke removes it', async () => {
    const png = path.join(work, 'camera-label.png');
    expect((await provision(png, ['--no-terminal'])).code).toBe(0);
    const photo = path.join(work, 'held-up.jpg');
    await photoLike(png, photo, { width: 320, angleDeg: -5, x: 420, y: 160 });
    const scene = await readFile(await sceneSnapshot());
    // The first snapshots show the lobby; then the technician holds the label up.
    const cam = new SnapshotCamera([scene, scene, await readFile(photo)], {
      username: 'installer',
      password: 'cam-pass-5931',
    });
    secrets.push(cam.account.password);
    await cam.start();
    const dataDir = tempDir();
    try {
      const cameras = {
        version: 1,
        cameras: [{ id: 'lobby-1', name: 'Lobby', snapshotUri: cam.snapshotUri, credentials: cam.account }],
      };
      await writeFile(path.join(dataDir, 'cameras.json'), JSON.stringify(cameras), { mode: 0o600 });
      const r = await cli(
        'agent',
        'enroll',
        '--from-camera',
        'lobby',
        '--data-dir',
        dataDir,
        '--timeout',
        '120',
      );
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/hold the enrollment QR code in front of camera "Lobby"/);
      expect(cam.count).toBeGreaterThanOrEqual(3);
      const state = await loadEnrolledState(enrolledStatePath(dataDir));
      expect(state).not.toBeNull();
      secrets.push(state!.mqtt.password, state!.device.privateKey);
      expect(r.out).toContain(`enrolled as ${state!.agentId} with ${tb.url}`);
      expect((await stat(enrolledStatePath(dataDir))).mode & 0o777).toBe(0o600);

      const again = await cli(
        'agent',
        'enroll',
        '--from-camera',
        'Lobby',
        '--data-dir',
        dataDir,
        '--timeout',
        '30',
      );
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/already enrolled as dev-/);

      const revoked = await cli(
        'provision',
        'revoke',
        state!.agentId,
        '--bridge',
        tb.url,
        '--token-file',
        tokenFile,
      );
      expect(revoked.code, revoked.err).toBe(0);
      expect(revoked.out).toMatch(new RegExp(`revoked ${state!.agentId} at .*open connection`));
    } finally {
      await cam.stop();
    }
  });

  it('bad input: a used code, an unreadable image, a foreign code, no source, no token', async () => {
    const png = path.join(work, 'once.png');
    expect((await provision(png, ['--no-terminal'])).code).toBe(0);
    expect((await cli('agent', 'enroll', '--qr', png, '--data-dir', tempDir())).code).toBe(0);
    const dir = tempDir();
    const used = await cli('agent', 'enroll', '--qr', png, '--data-dir', dir);
    expect(used.code).toBe(1);
    expect(used.err).toMatch(/camconnect: the bridge refused \(409\): this enrollment code was already used/);
    const notes = path.join(work, 'notes.txt');
    await writeFile(notes, 'not a picture\n');
    expect((await cli('agent', 'enroll', '--qr', notes, '--data-dir', dir)).err).toMatch(
      /the image could not be read/,
    );
    expect(
      (await cli('agent', 'enroll', '--payload', 'https://example.com/', '--data-dir', dir)).err,
    ).toMatch(/not a CamConnect enrollment code/);
    const none = await cli('agent', 'enroll', '--data-dir', dir);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/exactly one of --qr/);
    await expectNotEnrolled(dir);

    const saved = process.env['CAMCONNECT_API_TOKEN'];
    delete process.env['CAMCONNECT_API_TOKEN'];
    try {
      const noToken = await cli(
        'provision',
        '--bridge',
        tb.url,
        '--site',
        'X',
        '--lat',
        '1',
        '--lon',
        '2',
        '--policy',
        'auto',
        '--no-terminal',
      );
      expect(noToken.code).toBe(2);
      expect(noToken.err).toMatch(/operator API token is needed/);
    } finally {
      if (saved !== undefined) process.env['CAMCONNECT_API_TOKEN'] = saved;
    }
    const badPolicy = await cli(
      'provision',
      '--bridge',
      tb.url,
      '--site',
      'X',
      '--lat',
      '1',
      '--lon',
      '2',
      '--policy',
      'sometimes',
      '--token-file',
      tokenFile,
    );
    expect(badPolicy.code).toBe(2);
    const badLat = await cli(
      'provision',
      '--bridge',
      tb.url,
      '--site',
      'X',
      '--lat',
      '91',
      '--lon',
      '2',
      '--policy',
      'auto',
      '--token-file',
      tokenFile,
    );
    expect(badLat.err).toMatch(/--lat must be a number from -90 to 90/);
  });

  it("speaks Digest to the simulator's ONVIF snapshot route (no code in view: a clear timeout)", async () => {
    const account = { username: 'admin', password: 'sim-pass-2207' };
    const fleet = new SimulatorFleet({ cameras: 1, rtspPort: 0, onvifPort: 0, discovery: false, ...account });
    await fleet.start(AbortSignal.timeout(120_000));
    try {
      const xaddr = fleet.cameras()[0]?.onvif?.xaddr ?? '';
      const snapshotUri = `${new URL(xaddr).origin}/onvif/snapshot.jpg`;
      const dir = tempDir();
      const file = path.join(dir, 'cameras.json');
      await writeFile(
        file,
        JSON.stringify({
          version: 1,
          cameras: [{ id: 'sim1', name: 'Sim', snapshotUri, credentials: account }],
        }),
      );
      const src = await cameraSnapshotSource(file, 'sim1');
      const miss = await watchCameraForQr(src, { timeoutMs: 2000, intervalMs: 500 }).catch((e: unknown) => e);
      expect(miss).toBeInstanceOf(EnrollmentError);
      expect((miss as EnrollmentError).message).toMatch(
        /no enrollment QR code seen by camera Sim in time; last: no QR code could be read/,
      );
      const wrong = await watchCameraForQr(
        { ...src, credentials: { ...account, password: 'nope' } },
        { timeoutMs: 2000 },
      ).catch((e: unknown) => e);
      expect((wrong as EnrollmentError).code).toBe('camera');
      expect((wrong as EnrollmentError).message).toMatch(/refused the stored user name and password/);
    } finally {
      await fleet.stop();
    }
  });
});
