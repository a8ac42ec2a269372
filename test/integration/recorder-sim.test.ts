/**
 * The recorder against the project's simulated cameras (simulator/fleet.ts:
 * 720p H.264, 15 fps, GOP 1 s, Digest auth) over TCP and UDP: the same
 * guarantees as against GStreamer, from a second, independent server.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../agent/recorder/index.js';
import { silentLogger } from '../../lib/log.js';
import { SimulatorFleet } from '../../simulator/fleet.js';
import { countFrames, filesOnDisk, probe, readJournal, tmpDir, waitFor } from '../helpers/gst-recorder.js';

const USER = 'operator';
const PASSWORD = 'Fleet-Pa55word';
const withCreds = (url: string, password = PASSWORD) =>
  url.replace('rtsp://', `rtsp://${USER}:${encodeURIComponent(password)}@`);

describe('recorder with the simulated cameras', () => {
  let fleet: SimulatorFleet;
  let rec: Recorder;
  let dir: string;

  beforeAll(async () => {
    fleet = new SimulatorFleet({
      cameras: 2,
      rtspPort: 0,
      onvif: false,
      username: USER,
      password: PASSWORD,
      log: silentLogger,
    });
    await fleet.start(AbortSignal.timeout(240_000));
    const [c1, c2] = fleet.cameras();
    dir = tmpDir('rec-sim-');
    rec = new Recorder({
      dir,
      segmentSeconds: 2,
      retention: { minFreeBytes: 0 },
      cameras: [
        { name: 'tcp', url: withCreds(c1!.rtsp.main), transport: 'tcp' },
        { name: 'udp', url: withCreds(c2!.rtsp.main), transport: 'udp' },
        { name: 'wrongpass', url: withCreds(c1!.rtsp.main, 'nope') },
      ],
    });
    await rec.start(AbortSignal.timeout(30_000));
    await waitFor(
      '4 segments per transport',
      () =>
        rec
          .stats()
          .cameras.filter((c) => c.camera !== 'wrongpass')
          .every((c) => c.segments >= 4),
      180_000,
    );
  });

  afterAll(async () => {
    await rec?.stop();
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['tcp', 'udp'])(
    'records playable 720p segments over %s with a complete journal',
    async (camera) => {
      const j = await readJournal(dir, camera);
      const segs = [...j.segments.values()];
      expect(filesOnDisk(dir, camera).hour).toEqual(segs.map((s) => s.file).sort());
      for (const s of segs) {
        expect(s.keyframe).toBe(true);
        const file = path.join(dir, camera, s.file);
        expect((await probe(file)).streams.some((x) => x.codec_name === 'h264')).toBe(true);
        expect(await countFrames(file)).toBeGreaterThan(0);
      }
    },
  );

  it('cuts a clip covering the window', async () => {
    const segs = rec.segments('tcp', 0, Date.now());
    const from = segs[1]!.start + 400;
    const to = segs[2]!.end - 200;
    const r = await rec.clip('tcp', from, to, path.join(dir, 'sim-clip.mp4'));
    expect(r.start).toBeLessThanOrEqual(from);
    expect(from - r.start).toBeLessThanOrEqual(1100);
    expect(Number((await probe(r.file)).format.duration)).toBeGreaterThanOrEqual((to - r.start) / 1000 - 0.1);
  });

  it('reports a wrong password as an authentication failure', async () => {
    const c = await waitFor('auth failure', () =>
      rec.stats().cameras.find((x) => x.camera === 'wrongpass' && x.detail),
    );
    expect(c.detail).toMatch(/authentication failed/);
  });
});
