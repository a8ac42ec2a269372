/**
 * `npm run bench -- incidents [--runs 3] [--window-min 10]`
 *
 * 1. Latency: an incident filed at a running bridge (embedded broker, PGlite) reaches an agent
 *    recording a simulated camera (2 s segments): from the request's arrival at the agent to the
 *    first footage byte on the wire (gate, nonce fsync, job, hold, cut, hash, sign, manifest
 *    upload). Baseline, same run: the bare cut of the same window.
 * 2. Assembly: packages (cut + SHA-256 + signed manifest) for a --window-min window from 3
 *    cameras of 60 s segments at the simulator's 1.5 Mbit/s, one camera at a time as the agent
 *    does. Baseline: reading the same segments into one file and hashing it (the I/O floor).
 * 3. Upload: one camera's package through the agent's tus uploader (no cap) to a tus server on
 *    loopback, against a bare HTTP PUT of the same bytes to a server writing them to disk.
 *    Alternated, best of --runs each. Target: ratio >= 0.8.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { Server as TusServer } from '@tus/server';
import { FileStore } from '@tus/file-store';
import { createIncidents, type IncidentEvent, type IncidentRecorder } from '../agent/incidents/index.js';
import { JobStore, type IncidentRecord } from '../agent/incidents/jobs.js';
import { buildPackage, type BuildContext } from '../agent/incidents/package.js';
import { DEFAULT_CHUNK_BYTES } from '../agent/incidents/runner-upload.js';
import { TusClient } from '../agent/incidents/tus.js';
import { freshUpload, uploadJob } from '../agent/incidents/uploader.js';
import { createLink } from '../agent/link/index.js';
import { Recorder, clipFromDisk, footageCoverage, readFootage } from '../agent/recorder/index.js';
import { segmentRelPath } from '../agent/recorder/paths.js';
import { Bridge } from '../cloud-bridge/bridge.js';
import { registerDevice } from '../cloud-bridge/registry/devices.js';
import { systemClock } from '../lib/clock.js';
import { ffmpegPath } from '../lib/ffmpeg.js';
import { silentLogger } from '../lib/log.js';
import { createIncidentRequest, signIncident } from '../protocol/incident.js';
import { exportPublicKeyRaw, generateSigningKeyPair } from '../protocol/signing.js';
import type { ReplyPayload } from '../protocol/schemas/replies.js';
import { SimulatorFleet } from '../simulator/fleet.js';
import { ensureScene } from '../simulator/encode.js';
import { sceneByName } from '../simulator/scenes.js';

export const description =
  'incident request → first uploaded byte (vs the bare cut); 3-camera evidence assembly (vs copy+hash of the same bytes); tus upload vs bare HTTP PUT (loopback, no cap)';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const out = (s: string) => process.stdout.write(s + '\n');
const SITE = { lat: 38.9, lon: -77.04 };
const AREA = { kind: 'circle' as const, center: SITE, radiusM: 50 };

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 180_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (let v = fn(); ; v = fn()) {
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function latency(tmp: string, runs: number): Promise<void> {
  const fleet = new SimulatorFleet({
    cameras: 1,
    rtspPort: 0,
    onvif: false,
    discovery: false,
    log: silentLogger,
  });
  const bridge = new Bridge({ config: { dataDir: path.join(tmp, 'bridge'), port: 0, mqttPort: 0 } });
  await fleet.start(AbortSignal.timeout(240_000));
  await bridge.start(AbortSignal.timeout(120_000));
  const device = generateSigningKeyPair();
  const agentId = `bench-${randomUUID().slice(0, 8)}`;
  const reg = { id: agentId, publicKey: exportPublicKeyRaw(device.publicKey), siteName: 'bench', ...SITE };
  await registerDevice(bridge.db, { ...reg, policy: 'auto' }, Date.now());
  const dir = path.join(tmp, 'agent');
  const cameras = [{ name: 'cam1', url: fleet.cameras()[0]!.rtsp.main }];
  const recorder = new Recorder({
    dir: path.join(dir, 'rec'),
    segmentSeconds: 2,
    retention: { minFreeBytes: 0 },
    cameras,
  });
  const events: IncidentEvent[] = [];
  const sink: { publish?: (r: ReplyPayload) => Promise<void> } = {};
  const incidents = createIncidents({
    recorder,
    replies: (r) => sink.publish?.(r) ?? Promise.resolve(),
    identity: {
      agentId,
      deviceKey: device.privateKey,
      rtccKeys: [bridge.rtccKey.publicKey],
      bridgeUrl: bridge.url,
      site: { policy: 'auto', location: SITE },
    },
    cameras: () => [{ id: 'cam1', location: SITE }],
    stateDir: path.join(dir, 'incidents'),
    clock: systemClock,
    log: silentLogger,
    software: 'camconnect-edge bench',
    onEvent: (e) => events.push(e),
  });
  const deps = { clock: systemClock, log: silentLogger, agentVersion: 'bench', startedAt: Date.now() };
  const link = createLink(
    { agentId, url: bridge.mqttUrl, outbox: { dir: path.join(dir, 'outbox') } },
    { ...deps, handlers: { ...incidents.handlers } },
  );
  sink.publish = (r) => link.publish('replies', r);
  try {
    for (const part of [recorder, link, incidents]) await part.start(AbortSignal.timeout(60_000));
    await link.whenUp();
    await until('footage', () => (recorder.stats().cameras[0]?.segments ?? 0) >= 4 + runs * 2);
    const segs = recorder.segments('cam1', 0, Date.now());
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      const from = segs[1 + i]!.start + 100;
      const to = from + 4_000;
      const t = performance.now();
      await recorder.clip('cam1', from, to, path.join(tmp, `bare-${i}.mp4`));
      bare.push(performance.now() - t);
      const { id } = await bridge.incidents.create(
        { caseNumber: `B-${i}`, reason: 'bench', area: AREA, from, to },
        null,
      );
      const first = await until('first byte', () =>
        events.find((e) => e.type === 'first-byte' && e.incidentId === id),
      );
      const arrived = events.filter((e) => e.type === 'request' && e.at <= first.at).pop()!;
      ours.push(first.at - arrived.at);
      await until('release', () =>
        events.some((e) => e.type === 'state' && e.incidentId === id && e.state === 'released'),
      );
    }
    const [o, b] = [median(ours), median(bare)];
    out(
      `latency: request arrival → first footage byte sent: median ${o.toFixed(0)} ms over ${runs} (${ours.map((x) => x.toFixed(0)).join(', ')})`,
    );
    out(`         bare cut of the same 4 s window: median ${b.toFixed(0)} ms; ratio ${(o / b).toFixed(2)}x`);
  } finally {
    for (const part of [incidents, link, recorder, bridge, fleet]) await part.stop();
  }
}

/** (window + 1) minutes of 60 s segments for 3 cameras, indexed as a recorder would. */
async function footage(tmp: string, windowMin: number): Promise<{ dir: string; t0: number; cams: string[] }> {
  const dir = path.join(tmp, 'footage');
  const flat = path.join(tmp, 'flat');
  mkdirSync(flat, { recursive: true });
  const scene = await ensureScene(sceneByName('street'));
  // Raw H.264 cannot be looped by seeking (-stream_loop): concatenate the scene instead.
  const seconds = (windowMin + 1) * 60;
  const loops = Math.ceil(seconds / scene.scene.durationSec) + 1;
  const input = `concat:${Array<string>(loops).fill(scene.main.h264Path).join('|')}`;
  const args = '-hide_banner -loglevel error -framerate 15 -f h264 -i'.split(' ');
  const seg = '-c copy -f segment -segment_format mpegts -segment_time 60 -reset_timestamps 1'.split(' ');
  await execFileP(ffmpegPath(), [
    ...args,
    input,
    '-t',
    String(seconds),
    ...seg,
    path.join(flat, 's-%03d.ts'),
  ]);
  const files = readdirSync(flat).sort();
  const t0 = Date.UTC(2026, 0, 15, 10, 0, 0);
  const cams = ['cam1', 'cam2', 'cam3'];
  files.forEach((f, i) => {
    for (const cam of cams) {
      const rel = path.join(dir, cam, segmentRelPath(t0 + i * 60_000));
      mkdirSync(path.dirname(rel), { recursive: true });
      linkSync(path.join(flat, f), rel);
    }
  });
  // A recorder with unreachable cameras only indexes the folder (reconcile), then stops.
  const urls = cams.map((name) => ({ name, url: 'rtsp://127.0.0.1:9/none' }));
  const rec = new Recorder({ dir, retention: { minFreeBytes: 0 }, cameras: urls });
  await rec.start(AbortSignal.timeout(120_000));
  await until('indexing', () => rec.stats().cameras.every((c) => c.segments >= files.length));
  await rec.stop();
  return { dir, t0, cams };
}

async function assembly(tmp: string, windowMin: number): Promise<{ dir: string; record: IncidentRecord }> {
  const { dir, t0, cams } = await footage(tmp, windowMin);
  const from = t0 + 20_000;
  const to = from + windowMin * 60_000;
  const input = { caseNumber: 'B-1', reason: 'bench', area: AREA, from, to, issuer: 'bench' };
  const signed = signIncident(createIncidentRequest(input, { now: to }), generateSigningKeyPair().privateKey);
  const record: IncidentRecord = {
    incidentId: signed.request.id,
    requestId: randomUUID(),
    signed,
    keyId: 'bench',
    receivedAt: Date.now(),
    nextSeq: 0,
    cameras: [],
  };
  // buildPackage reads coverage and cuts: the read-only library does both on a stopped folder.
  const footages = new Map(await Promise.all(cams.map(async (c) => [c, await readFootage(dir, c)] as const)));
  const recorder = {
    coverage: (cam: string, a: number, b: number) => footageCoverage(footages.get(cam)!, a, b, Date.now()),
    clip: (cam: string, a: number, b: number, o: string) => clipFromDisk(dir, cam, a, b, o),
    stats: () => ({ cameras: cams.map((camera) => ({ camera })) }),
  } as unknown as IncidentRecorder;
  const identity = {
    agentId: 'bench',
    deviceKey: generateSigningKeyPair().privateKey,
    rtccKeys: [],
    bridgeUrl: 'http://127.0.0.1:9',
    site: { policy: 'auto' as const, location: SITE },
  };
  const ctx: BuildContext = {
    recorder,
    identity,
    software: 'bench',
    stateDir: path.join(tmp, 'state'),
    now: Date.now,
  };
  let bytes = 0;
  const t = performance.now();
  for (const cameraId of cams) {
    const job = {
      cameraId,
      state: 'cutting',
      policy: 'auto',
      approval: 'auto',
      location: SITE,
      attempts: 0,
      updatedAt: 0,
    } as const;
    bytes += (await buildPackage(ctx, record, job)).files[0]!.bytes;
  }
  const ours = performance.now() - t;
  const tb = performance.now();
  for (const cam of cams) {
    const target = path.join(tmp, `copy-${cam}.ts`);
    const segments = footages.get(cam)!.segments.slice(0, windowMin + 1);
    async function* concat(): AsyncGenerator<Buffer> {
      for (const s of segments)
        for await (const c of createReadStream(path.join(dir, cam, s.file))) yield c as Buffer;
    }
    await pipeline(concat(), createWriteStream(target));
    await pipeline(createReadStream(target), createHash('sha256'));
    await rm(target);
  }
  const base = performance.now() - tb;
  out(
    `assembly: ${windowMin}-min window x 3 cameras, ${(bytes / 1e6).toFixed(0)} MB of clips: ${(ours / 1000).toFixed(2)} s (cut + hash + sign)`,
  );
  out(
    `          copy + hash of the same segments: ${(base / 1000).toFixed(2)} s; ratio ${(ours / base).toFixed(2)}x`,
  );
  return { dir: path.join(ctx.stateDir, 'packages', record.incidentId, 'cam1'), record };
}

async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

async function upload(tmp: string, pkgDir: string, record: IncidentRecord, runs: number): Promise<void> {
  const staging = path.join(tmp, 'tus');
  const tus = new TusServer({ path: '/uploads', datastore: new FileStore({ directory: staging }) });
  const tusHttp = await serve((req, res) => void tus.handle(req, res));
  const bare = await serve((req, res) => {
    void pipeline(req, createWriteStream(path.join(tmp, 'bare-upload'))).then(() => res.writeHead(204).end());
  });
  const name = readdirSync(path.join(pkgDir, 'files'))[0]!;
  const file = path.join(pkgDir, 'files', name);
  const { size } = await stat(file);
  const manifestBytes = (await stat(path.join(pkgDir, 'manifest.json'))).size;
  const pkg = {
    files: [{ name, bytes: size, sha256: '', from: 0, to: 1 }],
    manifestBytes,
    packageSha256: '',
  };
  const noop = () => undefined;
  const send = (url: string, method: string, headers: Record<string, string>) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, { method, headers: { 'content-length': size, ...headers } }, (res) =>
        res.resume().once('end', resolve),
      );
      req.once('error', reject);
      createReadStream(file).pipe(req);
    });
  let [ours, base, patch] = [Infinity, Infinity, Infinity];
  try {
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      await send(`${bare.url}/put`, 'PUT', {});
      base = Math.min(base, performance.now() - t);
      // One bare PATCH of the whole file to the same tus server: the receiver's own cost.
      const tusHeaders = { 'Tus-Resumable': '1.0.0' };
      const created = await fetch(`${tusHttp.url}/uploads`, {
        method: 'POST',
        headers: { ...tusHeaders, 'Upload-Length': String(size) },
      });
      const location = new URL(created.headers.get('location') ?? '', tusHttp.url).href;
      t = performance.now();
      await send(location, 'PATCH', {
        ...tusHeaders,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      });
      patch = Math.min(patch, performance.now() - t);
      await rm(staging, { recursive: true, force: true });
      const jobs = await JobStore.open(await mkdtemp(path.join(tmp, 'jobs-')));
      const job = {
        cameraId: 'cam1',
        state: 'uploading',
        policy: 'auto',
        approval: 'auto',
        location: null,
      } as const;
      await jobs.add({
        ...record,
        cameras: [{ ...job, attempts: 0, updatedAt: 0, package: pkg, upload: freshUpload(pkg) }],
      });
      const client = new TusClient(tusHttp.url, 30_000, 2);
      const deps = {
        client,
        bucket: undefined,
        chunkBytes: DEFAULT_CHUNK_BYTES,
        retryInitialMs: 1_000,
        retryMaxMs: 1_000,
      };
      const hooks = {
        jobs,
        agentId: 'bench',
        log: silentLogger,
        onProgress: noop,
        onResume: noop,
        onFirstByte: noop,
      };
      t = performance.now();
      await uploadJob(
        { ...deps, ...hooks },
        record,
        jobs.job(record.incidentId, 'cam1')!,
        pkgDir,
        AbortSignal.timeout(600_000),
      );
      ours = Math.min(ours, performance.now() - t);
      client.close();
      await rm(staging, { recursive: true, force: true });
    }
    const mbps = (ms: number) => (size / 1e6 / (ms / 1000)).toFixed(0);
    const chunk = `${DEFAULT_CHUNK_BYTES / 2 ** 20} MiB PATCHes`;
    out(
      `upload: ${(size / 1e6).toFixed(0)} MB over loopback, no cap, best of ${runs}: agent's tus uploader ${mbps(ours)} MB/s (${chunk});`,
    );
    out(
      `        bare HTTP PUT ${mbps(base)} MB/s; one bare PATCH to the same tus receiver ${mbps(patch)} MB/s`,
    );
    out(
      `        throughput ratio vs bare PUT ${(base / ours).toFixed(2)} (target >= 0.8); vs the bare PATCH (client overhead alone) ${(patch / ours).toFixed(2)}`,
    );
  } finally {
    await tusHttp.close();
    await bare.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const options = {
    runs: { type: 'string', default: '3' },
    'window-min': { type: 'string', default: '10' },
  } as const;
  const { values } = parseArgs({ args, options });
  const runs = Math.max(1, Number(values.runs));
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-incidents-'));
  try {
    await latency(tmp, runs);
    const pkg = await assembly(tmp, Math.max(1, Number(values['window-min'])));
    await upload(tmp, pkg.dir, pkg.record, runs);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
