import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { StreamAnchor } from '../../agent/recorder/anchor.js';
import { Backoff, stallAfterMs } from '../../agent/recorder/backoff.js';
import {
  classifyFsError,
  classifyStderr,
  parseSegmentListLine,
  recordArgs,
} from '../../agent/recorder/ffmpeg-cmd.js';
import { redactText } from '../../lib/redact.js';

describe('recorder backoff', () => {
  it('grows with equal jitter up to the cap, and resets on progress', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 8000, crashLoopAfter: 4 });
    expect(b.failed(0)).toBe(500);
    expect(b.failed(1)).toBe(2000);
    expect(b.failed(0.5)).toBe(3000);
    expect(b.degraded).toBe(false);
    expect(b.failed(1)).toBe(8000);
    expect(b.degraded).toBe(true);
    expect(b.failed(1)).toBe(8000); // capped: a crash loop does not spin, nor grow without bound
    b.progressed();
    expect(b.degraded).toBe(false);
    expect(b.failed(1)).toBe(1000);
  });

  it('declares a stall after twice the segment length plus grace', () => {
    expect(stallAfterMs(60, 10_000)).toBe(130_000);
  });
});

describe('recorder wall-clock anchoring', () => {
  it('anchors on the earliest arrival and keeps segments contiguous', () => {
    const clock = new ManualClock(1_000_000, 0);
    const a = new StreamAnchor(clock);
    clock.advance(10_300); // first segment [0,10] s reported 300 ms late
    const s1 = a.observe(10, 10_000);
    clock.advance(9_800); // second reported only 100 ms late: better anchor
    const s2 = a.observe(20, 10_000);
    expect(s2.end - s1.end).toBe(9_800);
    expect(s2.end).toBe(1_000_000 + 20_100);
    expect(s2.start).toBe(s2.end - 10_000);
  });

  it('ignores a camera clock jump in stream time by re-anchoring', () => {
    const clock = new ManualClock(5_000_000, 0);
    const a = new StreamAnchor(clock);
    clock.advance(10_000);
    a.observe(10, 10_000);
    clock.advance(10_000);
    // The camera restarted its RTP clock: stream time jumps by an hour.
    const s = a.observe(3620, 10_000);
    expect(s.reanchored).toBe(true);
    expect(s.end).toBe(5_000_000 + 20_000);
  });

  it('follows a system clock step (the system clock is the authority), not monotonic drift', () => {
    const clock = new ManualClock(0, 0);
    const a = new StreamAnchor(clock);
    clock.advance(10_000);
    a.observe(10, 10_000);
    clock.jumpWall(3_600_000);
    clock.advance(10_000);
    expect(a.observe(20, 10_000).end).toBe(3_600_000 + 20_000);
  });

  it('pulls the anchor forward only when arrivals lag persistently (slow camera clock)', () => {
    const clock = new ManualClock(0, 0);
    const a = new StreamAnchor(clock, { maxLagMs: 1000 });
    clock.advance(10_000);
    a.observe(10, 10_000);
    // One line 5 s late (a busy machine): the anchor holds, the next segment is on time again.
    clock.advance(15_000);
    expect(a.observe(20, 10_000).end).toBe(20_000);
    clock.advance(5_000);
    expect(a.observe(30, 10_000).end).toBe(30_000);
    // The stream clock runs 10% slow for a while: after the window, the anchor follows.
    let last = 0;
    for (let k = 4; k <= 12; k++) {
      clock.advance(11_000);
      last = a.observe(k * 10, 10_000).end;
    }
    // Behind the arrival by at most maxLag plus the drift across the window (4 x 1 s here;
    // a real 0.1% slow clock drifts 60 ms per 60 s segment). Without the rule: 9 s.
    expect(clock.now() - last).toBeLessThanOrEqual(1000 + 4 * 1000);
    expect(clock.now() - last).toBeGreaterThan(0);
  });

  it('uses the arrival time captured before slow work', () => {
    const clock = new ManualClock(50_000, 0);
    const a = new StreamAnchor(clock);
    clock.advance(10_000);
    const at = a.arrival();
    clock.advance(4_000); // hashing and fsync took 4 s
    expect(a.observe(10, 10_000, at).end).toBe(60_000);
  });
});

describe('recorder ffmpeg command and stderr', () => {
  it('records by stream copy into segments, TCP by default, audio when present', () => {
    const args = recordArgs({
      url: 'rtsp://u:p@cam/x',
      transport: 'tcp',
      segmentSeconds: 60,
      outputPattern: '/d/in/r-%06d.ts',
    });
    const s = args.join(' ');
    expect(s).toContain('-rtsp_transport tcp');
    expect(s).toContain('-map 0:v -map 0:a? -c copy');
    expect(s).toContain('-f segment -segment_format mpegts -segment_time 60');
    expect(s).toContain('-segment_list pipe:1 -segment_list_type csv');
    expect(s).not.toContain('flush_packets'); // off by default: ~10% more ffmpeg CPU
    const flushed = recordArgs({
      url: 'rtsp://h/x',
      transport: 'udp',
      segmentSeconds: 2,
      outputPattern: 'o-%06d.ts',
      flushPackets: true,
    });
    expect(flushed.join(' ')).toContain('-rtsp_transport udp');
    expect(flushed.join(' ')).toContain('-segment_format_options flush_packets=1');
    expect(args.at(-1)).toBe('/d/in/r-%06d.ts');
    expect(args).not.toContain('-nostdin'); // "q" on stdin is the clean stop
  });

  it('parses segment list lines', () => {
    expect(parseSegmentListLine('r1-000003.ts,6.936344,8.936344')).toEqual({
      name: 'r1-000003.ts',
      startSec: 6.936344,
      endSec: 8.936344,
    });
    expect(parseSegmentListLine('garbage')).toBeUndefined();
  });

  it('classifies ffmpeg errors into gap causes, without echoing credentials', () => {
    const auth = classifyStderr([
      '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized',
      'rtsp://admin:hunter2@10.0.0.5/x: Server returned 401 Unauthorized (authorization failed)',
    ]);
    expect(auth?.cause).toBe('auth-failed');
    expect(auth?.message).not.toContain('hunter2');
    expect(
      classifyStderr(['[tcp @ 0x1] Connection to tcp://127.0.0.1:1?timeout=0 failed: Connection refused'])
        ?.cause,
    ).toBe('camera-unreachable');
    expect(classifyStderr(['rtsp://h/x: Connection timed out'])?.cause).toBe('camera-unreachable');
    expect(
      classifyStderr(['[segment @ 0x1] Failed to open segment', 'x.ts: No space left on device'])?.cause,
    ).toBe('disk-full');
    expect(classifyStderr(['x.ts: Read-only file system'])?.cause).toBe('disk-read-only');
    expect(classifyStderr(['method DESCRIBE failed: 404 Not Found'])?.cause).toBe('stream-not-found');
    expect(classifyStderr(['something odd'])).toBeUndefined();
    expect(classifyFsError('ENOSPC').cause).toBe('disk-full');
    expect(classifyFsError('EROFS').cause).toBe('disk-read-only');
    expect(redactText('rtsp://admin:hunter2@10.0.0.5/x: Connection refused')).not.toContain('hunter2');
  });
});
