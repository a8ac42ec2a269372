/**
 * The simulator's RTSP server against real clients: ffprobe/ffmpeg over TCP
 * and UDP, GStreamer's rtspsrc, and a raw client for exact status codes.
 * Everything on 127.0.0.1 with ephemeral ports; scenes come from the cache
 * warmed by test/global-setup.ts. No assertion depends on how fast anything is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, ffprobePath } from '../../lib/ffmpeg.js';
import type { EncodedScene } from '../../simulator/encode.js';
import { ensureScene } from '../../simulator/encode.js';
import type { AuthConfig } from '../../simulator/rtsp/auth.js';
import type { RtspCamera } from '../../simulator/rtsp/server.js';
import { RtspServer } from '../../simulator/rtsp/server.js';
import { SceneTimeline, sceneByName } from '../../simulator/scenes.js';
import { commandExists, runProcess } from '../helpers/proc.js';
import { RawRtspClient } from '../helpers/rtsp-client.js';
import { LOOP_TEST_SCENE } from '../helpers/sim-scenes.js';

const servers: RtspServer[] = [];
let street: EncodedScene;
let lights: EncodedScene;
let loop: EncodedScene;
let tmp: string;

function camera(id: string, enc: EncodedScene, epochMs = Date.now()): RtspCamera {
  return { id, timeline: new SceneTimeline(enc.scene, epochMs), main: enc.main, sub: enc.sub };
}

async function serve(cameras: RtspCamera[], auth?: AuthConfig): Promise<RtspServer> {
  const server = new RtspServer({ port: 0, cameras, ...(auth ? { auth } : {}) });
  servers.push(server);
  await server.start(AbortSignal.timeout(120_000));
  return server;
}

const withCreds = (url: string, user: string, pass: string): string =>
  url.replace('rtsp://', `rtsp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`);

async function probe(url: string, transport: 'tcp' | 'udp') {
  const args = [
    '-v',
    'error',
    '-rtsp_transport',
    transport,
    '-show_entries',
    'stream=codec_name,width,height',
  ];
  const r = await runProcess(ffprobePath(), [...args, '-of', 'json', url], { timeoutMs: 60_000 });
  const streams =
    r.code === 0 ? (JSON.parse(r.stdout) as { streams: Record<string, unknown>[] }).streams : [];
  return { ...r, streams };
}

beforeAll(async () => {
  street = await ensureScene(sceneByName('street'));
  lights = await ensureScene(sceneByName('lights'));
  loop = await ensureScene(LOOP_TEST_SCENE);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sim-rtsp-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('ffprobe reads both streams', () => {
  let server: RtspServer;
  beforeAll(async () => {
    server = await serve([camera('cam1', street), camera('cam2', lights)]);
  });

  for (const transport of ['tcp', 'udp'] as const) {
    it(`main and sub over ${transport}`, async () => {
      const main = await probe(server.url('cam1', 'main'), transport);
      expect(main.stderr).toBe('');
      expect(main.streams).toEqual([{ codec_name: 'h264', width: 1280, height: 720 }]);
      const sub = await probe(server.url('cam2', 'sub'), transport);
      expect(sub.streams).toEqual([{ codec_name: 'h264', width: 640, height: 360 }]);
    });
  }

  it('answers 404 for an unknown path', async () => {
    const bad = await probe(server.url('cam1', 'main').replace('/cam1/main', '/cam9/main'), 'tcp');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/404/);
    const c = await RawRtspClient.connect(server.port());
    try {
      const base = `rtsp://127.0.0.1:${server.port()}`;
      expect((await c.request('DESCRIBE', `${base}/cam1/third`)).status).toBe(404);
      expect((await c.request('DESCRIBE', `${base}/cam1/main/trackID=7`)).status).toBe(404);
    } finally {
      c.close();
    }
  });

  it('GStreamer rtspsrc over TCP decodes frames', async (ctx) => {
    if (!(await commandExists('gst-launch-1.0'))) ctx.skip();
    // fakesink stops the pipeline after num-buffers decoded frames (EOS, exit 0); with -v and
    // silent=false it prints one "chain" line per decoded frame, with the raw I420 frame size.
    const pipeline = `rtspsrc location=${server.url('cam1', 'sub')} protocols=tcp ! rtph264depay ! h264parse ! avdec_h264 ! fakesink num-buffers=20 silent=false`;
    const r = await runProcess('gst-launch-1.0', ['-v', ...pipeline.split(' ')], { timeoutMs: 90_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
    const frames = r.stdout.split('\n').filter((l) => /last-message = chain .*\(345600 bytes/.test(l));
    expect(frames.length).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toMatch(/width=\(int\)640, height=\(int\)360/);
    expect(r.stdout).toMatch(/Got EOS/);
  });
});

describe('authentication', () => {
  const creds = { username: 'admin', password: 'pa ss:w0rd' };
  const cases: [string, AuthConfig][] = [
    ['Basic', { ...creds, mode: 'basic' }],
    ['Digest with qop=auth', { ...creds, mode: 'digest' }],
    ['Digest without qop', { ...creds, mode: 'digest', digestQop: false }],
  ];
  for (const [name, auth] of cases) {
    it(`${name}: right password accepted, wrong or none rejected`, async () => {
      const server = await serve([camera('cam1', street)], auth);
      const url = server.url('cam1', 'sub');
      const ok = await probe(withCreds(url, creds.username, creds.password), 'tcp');
      expect(ok.streams).toEqual([{ codec_name: 'h264', width: 640, height: 360 }]);
      const wrong = await probe(withCreds(url, creds.username, 'wrong'), 'tcp');
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/401/);
      expect((await probe(url, 'tcp')).code).not.toBe(0);

      const c = await RawRtspClient.connect(server.port());
      try {
        expect((await c.request('OPTIONS', url)).status).toBe(200); // open, as on most cameras
        const res = await c.request('DESCRIBE', url);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(
          auth.mode === 'basic' ? /^Basic realm=/ : /^Digest realm=.*nonce=/,
        );
      } finally {
        c.close();
      }
    });
  }
});

describe('RTSP semantics (raw client)', () => {
  it('walks OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN with the right errors on the way', async () => {
    const server = await serve([camera('cam1', street)]);
    const url = server.url('cam1', 'main');
    const c = await RawRtspClient.connect(server.port());
    try {
      expect((await c.request('OPTIONS', url)).headers.get('public')).toContain('GET_PARAMETER');
      const d = await c.request('DESCRIBE', url, { Accept: 'application/sdp' });
      expect(d.headers.get('content-base')).toBe(`${url}/`);
      for (const line of [
        'a=control:trackID=0',
        'a=rtpmap:96 H264/90000',
        'a=range:npt=now-',
        'packetization-mode=1',
      ]) {
        expect(d.body).toContain(line);
      }
      expect(d.body).toMatch(/profile-level-id=4d40[0-9a-f]{2};sprop-parameter-sets=Z[^,]+,aO/);
      const track = `${url}/trackID=0`;
      expect((await c.request('SETUP', track, { Transport: 'RTP/AVP;multicast' })).status).toBe(461);
      expect((await c.request('PLAY', url)).status).toBe(455);
      expect((await c.request('PLAY', url, { Session: 'nosuchsession' })).status).toBe(454);
      const s = await c.request('SETUP', track, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      expect(s.status).toBe(200);
      expect(s.headers.get('transport')).toMatch(/^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}$/);
      const session = s.headers.get('session')!.split(';')[0]!;
      expect(s.headers.get('session')).toMatch(/;timeout=60$/);
      const p = await c.request('PLAY', `${url}/`, { Session: session, Range: 'npt=0-' });
      expect(p.status).toBe(200);
      expect(p.headers.get('rtp-info')).toMatch(new RegExp(`^url=${track};seq=\\d+;rtptime=\\d+$`));
      expect((await c.request('SETUP', track, { Session: session, Transport: 'RTP/AVP/TCP' })).status).toBe(
        455,
      );
      await c.waitInterleaved(20_000); // media flows from the next keyframe on
      expect((await c.request('GET_PARAMETER', url, { Session: session })).status).toBe(200);
      expect((await c.request('TEARDOWN', url, { Session: session })).status).toBe(200);
      expect((await c.request('GET_PARAMETER', url, { Session: session })).status).toBe(454);
      expect((await c.request('RECORD', url)).status).toBe(405);
    } finally {
      c.close();
    }
    expect(server.health()).toMatchObject({ state: 'ok', sessions: 0 });
  });
});

describe('RTCP sender reports', () => {
  it('map RTP time to wall-clock NTP time on the camera timeline (what a recorder anchors on)', async () => {
    const epochMs = Math.floor(Date.now() / 1000) * 1000;
    const server = await serve([camera('cam1', street, epochMs)]);
    const url = server.url('cam1', 'sub');
    const c = await RawRtspClient.connect(server.port());
    try {
      await c.request('DESCRIBE', url);
      const s = await c.request('SETUP', `${url}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5',
      });
      const session = s.headers.get('session')!.split(';')[0]!;
      const ssrc = parseInt(/ssrc=([0-9A-F]+)/.exec(s.headers.get('transport')!)![1]!, 16);
      expect((await c.request('PLAY', url, { Session: session })).status).toBe(200);
      const isSr = (p: { channel: number; data: Buffer }): boolean => p.channel === 5 && p.data[1] === 200;
      await c.waitFor(() => c.packets.some(isSr) && c.packets.some((p) => p.channel === 4));
      const sr = c.packets.find(isSr)!.data;
      const rtp = c.packets.find((p) => p.channel === 4)!.data;
      expect(sr.readUInt32BE(4)).toBe(ssrc);
      expect(rtp.readUInt32BE(8)).toBe(ssrc);
      const srWallMs = (sr.readUInt32BE(8) - 2_208_988_800) * 1000 + (sr.readUInt32BE(12) / 2 ** 32) * 1000;
      const delta = ((rtp.readUInt32BE(4) - sr.readUInt32BE(16) + 2 ** 31 + 2 ** 32) % 2 ** 32) - 2 ** 31;
      // The frame's wall time, from SR + RTP, falls on the camera's 15 fps frame grid from its epoch.
      const frameWallMs = srWallMs + delta / 90;
      const framesSinceEpoch = ((frameWallMs - epochMs) * 15) / 1000;
      expect(Math.abs(framesSinceEpoch - Math.round(framesSinceEpoch))).toBeLessThan(0.02);
      // ...and the session joined at a keyframe: the first packet is its SPS (repeated before every IDR).
      expect(rtp[12]! & 0x1f).toBe(7);
    } finally {
      c.close();
    }
  });
});

describe('recording across the loop point', () => {
  it('ffmpeg -c copy writes monotonic timestamps through a scene loop', async () => {
    const server = await serve([camera('cam1', loop)]);
    const out = path.join(tmp, 'loop.mkv');
    // 75 frames at 15 fps cover the 2 s loop at least twice, whenever the recording starts.
    const rec = await runProcess(
      ffmpegPath(),
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-i',
        server.url('cam1', 'main'),
        '-c',
        'copy',
        '-frames:v',
        '75',
        '-y',
        out,
      ],
      { timeoutMs: 90_000 },
    );
    expect(rec.stderr).toBe('');
    expect(rec.code).toBe(0);
    const p = await runProcess(ffprobePath(), [
      '-v',
      'error',
      '-select_streams',
      'v',
      '-show_entries',
      'packet=pts,flags',
      '-of',
      'csv=p=0',
      out,
    ]);
    const packets = p.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    expect(packets.length).toBeGreaterThanOrEqual(75);
    const pts = packets.map(([v]) => Number(v));
    // ffmpeg's H.264 parser gives the very first packet of any RTSP stream no timestamp (the same
    // against gst-rtsp-server), and the muxer then writes it at the second one's: so the first
    // step may be 0; every later one, including across each loop point, must move forward.
    expect(pts[1]).toBeGreaterThanOrEqual(pts[0]!);
    for (let i = 2; i < pts.length; i++) expect(pts[i]).toBeGreaterThan(pts[i - 1]!);
    expect(packets[0]![1]).toMatch(/K/); // starts on a keyframe
    expect(packets.filter(([, f]) => f?.includes('K')).length).toBeGreaterThanOrEqual(4);
  });
});
