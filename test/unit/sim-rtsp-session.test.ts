import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import type { PacketizedFrame } from '../../simulator/rtp.js';
import { packetizeAccessUnit, unixMsFromNtp } from '../../simulator/rtp.js';
import type { SessionTransport } from '../../simulator/rtsp/session.js';
import { RtspSession } from '../../simulator/rtsp/session.js';
import type { LoadedMedia } from '../../simulator/rtsp/stream.js';
import { FrameTicker } from '../../simulator/rtsp/ticker.js';
import { LiveStream } from '../../simulator/rtsp/stream.js';
import { SceneTimeline, sceneByName } from '../../simulator/scenes.js';

const FPS = 15;
const N = 30; // a two-second loop, GOP 15
const EPOCH = 1_700_000_000_000;

function media(): LoadedMedia {
  const frames = Array.from({ length: N }, (_, i) => {
    const key = i % 15 === 0;
    // NAL header 0x65 = IDR slice, 0x41 = non-IDR slice.
    const nal = Buffer.concat([Buffer.from([key ? 0x65 : 0x41, 0x88, i]), Buffer.alloc(key ? 3000 : 200, i)]);
    return packetizeAccessUnit({ nals: [nal], keyframe: key });
  });
  const info = {
    profileIdc: 77,
    constraintFlags: 0x40,
    levelIdc: 31,
    profileLevelId: '4d401f',
    width: 1280,
    height: 720,
  };
  return { frames, sps: Buffer.from([0x67]), pps: Buffer.from([0x68]), info, fps: FPS, kbps: 1500, bytes: 0 };
}

const scene = { ...sceneByName('still'), durationSec: 2 };

class FakeTransport implements SessionTransport {
  readonly kind = 'tcp';
  readonly header = 'RTP/AVP/TCP;unicast;interleaved=0-1';
  sent: { frame: PacketizedFrame; seq: number; ts: number }[] = [];
  rtcp: Buffer[] = [];
  queuedBytes = 0;
  send(frame: PacketizedFrame, seq: number, timestamp: number): number {
    this.sent.push({ frame, seq, ts: timestamp });
    return frame.wire.length;
  }
  sendRtcp(p: Buffer): void {
    this.rtcp.push(p);
  }
  queued(): number {
    return this.queuedBytes;
  }
  batch(fn: () => void): void {
    fn();
  }
}

const frameMs = 1000 / FPS;
const counters = () => ({ bytesSent: 0, packetsSent: 0, framesSent: 0, framesDropped: 0 });

describe('LiveStream timing', () => {
  const stream = new LiveStream('cam1', 'main', new SceneTimeline(scene, EPOCH, 0.5), media());

  it('agrees with the SceneTimeline on what is shown', () => {
    for (const dt of [0, 10, 499, 1234, 5000, 99_999]) {
      const t = EPOCH + dt;
      const a = stream.frameAt(t);
      expect(((a % N) + N) % N).toBe(Math.floor(stream.timeline.position(t) * FPS + 1e-6));
      expect(stream.frameTimeMs(a)).toBeLessThanOrEqual(t + 1e-6);
      expect(stream.frameTimeMs(a + 1)).toBeGreaterThan(t);
    }
  });

  it('finds the next keyframe across the loop point', () => {
    expect(stream.nextKeyframe(0)).toBe(0);
    expect(stream.nextKeyframe(1)).toBe(15);
    expect(stream.nextKeyframe(16)).toBe(30);
    expect(stream.nextKeyframe(-1)).toBe(0);
  });

  it('gives consecutive frames RTP timestamps exactly 90000/fps apart, on the same clock as wall time', () => {
    const base = 0xfffff000; // wraps modulo 2^32 within a few frames
    for (let a = 100; a < 110; a++) {
      const d = (stream.frameRtpTime(base, a + 1) - stream.frameRtpTime(base, a) + 2 ** 32) % 2 ** 32;
      expect(d).toBe(6000);
      expect(stream.frameRtpTime(base, a)).toBe(LiveStream.rtpTime(base, stream.frameTimeMs(a)));
    }
  });
});

describe('RtspSession', () => {
  const stream = new LiveStream('cam1', 'main', new SceneTimeline(scene, EPOCH, 0), media());
  const opts = { maxQueuedBytes: 100_000, cname: 'test', counters: counters() };

  it('starts at the next keyframe, sends an SR first, and numbers packets without gaps', () => {
    const t = new FakeTransport();
    const s = new RtspSession(stream, t, 1, { ...opts, counters: counters() }, EPOCH);
    const start = EPOCH + 3 * frameMs + 1; // frame 3 is on screen: playback begins at frame 15
    const info = s.play(start);
    s.tick(start + 5 * frameMs);
    expect(t.sent).toHaveLength(0);
    for (let k = 15; k <= 40; k++) s.tick(EPOCH + k * frameMs + 1);
    expect(t.sent[0]!.frame.keyframe).toBe(true);
    expect(t.sent[0]!.seq).toBe(info.seq);
    expect(t.sent[0]!.ts).toBe(info.rtptime);
    expect(t.sent).toHaveLength(26);
    for (let i = 1; i < t.sent.length; i++) {
      expect(t.sent[i]!.seq).toBe((t.sent[i - 1]!.seq + t.sent[i - 1]!.frame.offsets.length) & 0xffff);
      expect((t.sent[i]!.ts - t.sent[i - 1]!.ts + 2 ** 32) % 2 ** 32).toBe(6000);
    }
    // SR before the first frame and then about once a second; its NTP and RTP time agree with the frames.
    expect(t.rtcp.length).toBeGreaterThanOrEqual(2);
    const sr = t.rtcp[0]!;
    const srWall = unixMsFromNtp(sr.readUInt32BE(8), sr.readUInt32BE(12));
    // Signed 32-bit difference: the SR goes out at tick time, a moment after the frame's own time.
    const ticks = ((t.sent[0]!.ts - sr.readUInt32BE(16) + 2 ** 31 + 2 ** 32) % 2 ** 32) - 2 ** 31;
    expect(Math.abs(srWall + ticks / 90 - stream.frameTimeMs(15))).toBeLessThan(1);
  });

  it('under backpressure drops frames up to the next keyframe, then resumes there', () => {
    const t = new FakeTransport();
    const c = counters();
    const s = new RtspSession(stream, t, 1, { ...opts, counters: c }, EPOCH);
    s.play(EPOCH);
    for (let k = 0; k <= 4; k++) s.tick(EPOCH + k * frameMs + 1);
    expect(t.sent).toHaveLength(5);
    t.queuedBytes = 200_000; // the reader stops reading
    for (let k = 5; k <= 20; k++) s.tick(EPOCH + k * frameMs + 1);
    expect(t.sent).toHaveLength(5);
    expect(c.framesDropped).toBe(16);
    t.queuedBytes = 0; // drained: nothing until the keyframe at 30
    for (let k = 21; k <= 31; k++) s.tick(EPOCH + k * frameMs + 1);
    expect(t.sent.slice(5).map((x) => x.frame.keyframe)).toEqual([true, false]);
    expect(t.sent[5]!.seq).toBe((t.sent[4]!.seq + t.sent[4]!.frame.offsets.length) & 0xffff);
  });

  it('after a long stall rejoins at a keyframe instead of bursting the backlog', () => {
    const t = new FakeTransport();
    const s = new RtspSession(stream, t, 1, { ...opts, counters: counters() }, EPOCH);
    s.play(EPOCH);
    s.tick(EPOCH + 1);
    s.tick(EPOCH + 10_000 + 1); // ten seconds later, frame 150 (a keyframe) is due
    expect(t.sent.map((x) => x.frame.keyframe)).toEqual([true, true]);
    expect(t.sent[1]!.frame).toBe(stream.frame(150));
  });

  it('treats PLAY while playing as a no-op and resumes after PAUSE at a keyframe', () => {
    const t = new FakeTransport();
    const s = new RtspSession(stream, t, 1, { ...opts, counters: counters() }, EPOCH);
    s.play(EPOCH);
    for (let k = 0; k <= 3; k++) s.tick(EPOCH + k * frameMs + 1);
    const again = s.play(EPOCH + 3 * frameMs + 2);
    s.tick(EPOCH + 4 * frameMs + 1);
    expect(t.sent[4]!.frame).toBe(stream.frame(4));
    expect(t.sent[4]!.seq).toBe(again.seq);
    s.pause();
    s.play(EPOCH + 5 * frameMs + 1);
    for (let k = 5; k <= 15; k++) s.tick(EPOCH + k * frameMs + 1);
    expect(t.sent.slice(5).map((x) => x.frame)).toEqual([stream.frame(15)]);
  });

  it('sends nothing when paused', () => {
    const t = new FakeTransport();
    const s = new RtspSession(stream, t, 1, { ...opts, counters: counters() }, EPOCH);
    s.play(EPOCH);
    s.pause();
    s.tick(EPOCH + 5000);
    expect(t.sent).toHaveLength(0);
  });
});

describe('FrameTicker', () => {
  it('ticks on the grid origin + k * period even when a tick runs late, and stops when told', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const seen: number[] = [];
      const ticker = new FrameTicker(systemClock, (now) => {
        seen.push(now);
        if (seen.length === 2) vi.setSystemTime(now + 30); // a slow tick: the next one must still be on the grid
        return seen.length < 5;
      });
      ticker.setGrid(999_990, 100);
      ticker.ensureRunning();
      ticker.ensureRunning(); // idempotent: still one timer
      vi.advanceTimersByTime(1000);
      expect(seen).toEqual([1_000_090, 1_000_190, 1_000_290, 1_000_390, 1_000_490]);
      expect(ticker.running).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
