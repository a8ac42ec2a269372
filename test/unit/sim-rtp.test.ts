import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NAL, nalType } from '../../simulator/h264.js';
import {
  buildSenderReport,
  DEFAULT_MTU,
  fragmentNal,
  H264_PAYLOAD_TYPE,
  ntpFromUnixMs,
  packetizeAccessUnit,
  stampFrame,
  unixMsFromNtp,
} from '../../simulator/rtp.js';

/** RFC 6184 receiver side, enough to check the sender: single NAL and FU-A (§5.8) only. */
function depacketize(payloads: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let fu: Buffer[] | undefined;
  for (const p of payloads) {
    const type = p[0]! & 0x1f;
    if (type !== NAL.FU_A) {
      out.push(p);
      continue;
    }
    const start = (p[1]! & 0x80) !== 0;
    const end = (p[1]! & 0x40) !== 0;
    if (start) fu = [Buffer.from([(p[0]! & 0xe0) | (p[1]! & 0x1f)])];
    if (!fu) throw new Error('FU-A continuation without a start');
    fu.push(p.subarray(2));
    if (end) {
      out.push(Buffer.concat(fu));
      fu = undefined;
    }
  }
  return out;
}

const nal = (type: number, len: number): Buffer =>
  Buffer.concat([Buffer.from([0x60 | type]), randomBytes(len - 1)]);

describe('FU-A fragmentation', () => {
  it('sends a NAL that fits as one single-NAL packet, unchanged', () => {
    const n = nal(NAL.SLICE, 500);
    expect(fragmentNal(n, 1388)).toEqual([n]);
  });

  it('round-trips a large NAL through FU-A with S and E bits on the first and last fragment', () => {
    const n = nal(NAL.IDR, 10_000);
    const frags = fragmentNal(n, 1388);
    expect(frags.length).toBe(Math.ceil((n.length - 1) / 1386));
    expect(frags.every((f) => f.length <= 1388)).toBe(true);
    expect(frags.map((f) => f[1]! & 0xc0)).toEqual(
      frags.map((_, i) => (i === 0 ? 0x80 : 0) | (i === frags.length - 1 ? 0x40 : 0)),
    );
    expect(
      frags.every(
        (f) => (f[0]! & 0x1f) === NAL.FU_A && (f[0]! & 0x60) === 0x60 && (f[1]! & 0x1f) === NAL.IDR,
      ),
    ).toBe(true);
    expect(depacketize(frags)).toEqual([n]);
  });

  it('handles a NAL exactly one byte over the limit', () => {
    const n = nal(NAL.SLICE, 1389);
    expect(depacketize(fragmentNal(n, 1388))).toEqual([n]);
  });
});

describe('pre-packetized frames', () => {
  const au = {
    nals: [nal(NAL.SPS, 20), nal(NAL.PPS, 4), nal(NAL.IDR, 5000), nal(NAL.AUD, 2)],
    keyframe: true,
  };
  const frame = packetizeAccessUnit(au, DEFAULT_MTU);

  it('lays out interleaved packets with the marker bit only on the last one, and drops AUDs', () => {
    expect(frame.keyframe).toBe(true);
    const payloads = frame.offsets.map((at, i) => {
      expect(frame.wire[at]).toBe(0x24);
      expect(frame.wire.readUInt16BE(at + 2)).toBe(frame.lengths[i]);
      expect(frame.wire[at + 4]).toBe(0x80);
      const marker = (frame.wire[at + 5]! & 0x80) !== 0;
      expect(marker).toBe(i === frame.offsets.length - 1);
      expect(frame.wire[at + 5]! & 0x7f).toBe(H264_PAYLOAD_TYPE);
      return frame.wire.subarray(at + 16, at + 4 + frame.lengths[i]!);
    });
    expect(depacketize(payloads)).toEqual(au.nals.filter((n) => nalType(n) !== NAL.AUD));
    expect(frame.payloadBytes).toBe(payloads.reduce((s, p) => s + p.length, 0));
  });

  it('stamps seq, timestamp, SSRC and channel into a copy, leaving the shared frame untouched', () => {
    const before = Buffer.from(frame.wire);
    const out = stampFrame(frame, { channel: 6, seq: 0xfffe, timestamp: 0x12345678, ssrc: 0xdeadbeef });
    expect(frame.wire).toEqual(before);
    frame.offsets.forEach((at, i) => {
      expect(out[at + 1]).toBe(6);
      expect(out.readUInt16BE(at + 6)).toBe((0xfffe + i) & 0xffff); // wraps modulo 2^16
      expect(out.readUInt32BE(at + 8)).toBe(0x12345678);
      expect(out.readUInt32BE(at + 12)).toBe(0xdeadbeef);
    });
  });
});

describe('RTCP sender report', () => {
  it('converts wall clock to NTP and back', () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const [s, f] = ntpFromUnixMs(ms);
    expect(Math.abs(unixMsFromNtp(s, f) - ms)).toBeLessThan(0.001);
    expect(ntpFromUnixMs(0)[0]).toBe(2_208_988_800);
  });

  it('builds SR + SDES CNAME as a compound packet (RFC 3550 §6.4.1, §6.5.1)', () => {
    const wallMs = 1_700_000_000_123;
    const pkt = buildSenderReport({
      ssrc: 42,
      wallMs,
      rtpTimestamp: 9000,
      packetCount: 7,
      octetCount: 1234,
      cname: 'cam1/main@sim',
    });
    expect(pkt.length % 4).toBe(0);
    expect(pkt[0]).toBe(0x80);
    expect(pkt[1]).toBe(200);
    expect((pkt.readUInt16BE(2) + 1) * 4).toBe(28);
    expect(pkt.readUInt32BE(4)).toBe(42);
    expect(Math.abs(unixMsFromNtp(pkt.readUInt32BE(8), pkt.readUInt32BE(12)) - wallMs)).toBeLessThan(0.001);
    expect(pkt.readUInt32BE(16)).toBe(9000);
    expect(pkt.readUInt32BE(20)).toBe(7);
    expect(pkt.readUInt32BE(24)).toBe(1234);
    expect(pkt[29]).toBe(202);
    expect(28 + (pkt.readUInt16BE(30) + 1) * 4).toBe(pkt.length);
    expect(pkt[36]).toBe(1);
    expect(pkt.subarray(38, 38 + pkt[37]!).toString()).toBe('cam1/main@sim');
  });
});
