/**
 * RTP packetization of H.264 (RFC 6184, packetization-mode=1) done once when
 * a stream is loaded, and RTCP Sender Reports (RFC 3550 §6.4.1).
 *
 * Invariant: every frame is stored as one contiguous wire buffer of packets,
 * each preceded by the 4-byte RTSP interleaved frame header (RFC 2326
 * §10.12: '$', channel, 16-bit length). Serving a frame is then one copy plus
 * rewriting the channel byte and 10 bytes of each 12-byte RTP header
 * (sequence number, timestamp, SSRC); the payload bytes are never touched.
 * Over UDP the same buffer is sent packet by packet, skipping the prefix.
 */
import type { AccessUnit, NalUnit } from './h264.js';
import { NAL, nalType } from './h264.js';

/** Dynamic payload type used in the SDP rtpmap. */
export const H264_PAYLOAD_TYPE = 96;
export const RTP_CLOCK_RATE = 90_000;
/** RTP packet size bound (header + payload), below a 1500-byte Ethernet MTU with IP/UDP headers. */
export const DEFAULT_MTU = 1400;
export const RTP_HEADER = 12;
export const INTERLEAVED_PREFIX = 4;

export interface PacketizedFrame {
  /** All packets of the frame, each as [4-byte interleaved prefix][RTP header][payload]. */
  wire: Buffer;
  /** Offset in `wire` of each packet's interleaved prefix. */
  offsets: number[];
  /** RTP packet length (header + payload) of each packet, without the prefix. */
  lengths: number[];
  keyframe: boolean;
  /** Payload bytes (RTP headers excluded), for the Sender Report octet count (RFC 3550 §6.4.1). */
  payloadBytes: number;
}

/**
 * Splits one NAL unit into RTP payloads: a single NAL unit packet when it
 * fits (RFC 6184 §5.6), otherwise FU-A fragments (§5.8): FU indicator keeps
 * F and NRI of the NAL header with type 28; the FU header carries S/E bits
 * and the original type; the NAL header itself is not repeated.
 */
export function fragmentNal(nal: NalUnit, maxPayload: number): Buffer[] {
  if (nal.length <= maxPayload) return [nal];
  const header = nal[0] ?? 0;
  const indicator = (header & 0xe0) | NAL.FU_A;
  const type = header & 0x1f;
  const chunk = maxPayload - 2;
  const out: Buffer[] = [];
  for (let at = 1; at < nal.length; at += chunk) {
    const end = Math.min(at + chunk, nal.length);
    const fu = Buffer.allocUnsafe(2 + end - at);
    fu[0] = indicator;
    fu[1] = (at === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
    nal.copy(fu, 2, at, end);
    out.push(fu);
  }
  return out;
}

/** Builds the wire buffer of one access unit; AUDs are dropped (RFC 6184 lets a sender omit them). */
export function packetizeAccessUnit(au: AccessUnit, mtu = DEFAULT_MTU): PacketizedFrame {
  const payloads = au.nals
    .filter((n) => nalType(n) !== NAL.AUD)
    .flatMap((n) => fragmentNal(n, mtu - RTP_HEADER));
  const size = payloads.reduce((s, p) => s + INTERLEAVED_PREFIX + RTP_HEADER + p.length, 0);
  const wire = Buffer.alloc(size);
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  payloads.forEach((p, i) => {
    const len = RTP_HEADER + p.length;
    offsets.push(at);
    lengths.push(len);
    wire[at] = 0x24; // '$'
    wire.writeUInt16BE(len, at + 2);
    wire[at + 4] = 0x80; // V=2, P=0, X=0, CC=0
    // Marker: last packet of the access unit (RFC 6184 §5.1).
    wire[at + 5] = (i === payloads.length - 1 ? 0x80 : 0) | H264_PAYLOAD_TYPE;
    p.copy(wire, at + INTERLEAVED_PREFIX + RTP_HEADER);
    at += INTERLEAVED_PREFIX + len;
  });
  return {
    wire,
    offsets,
    lengths,
    keyframe: au.keyframe,
    payloadBytes: payloads.reduce((s, p) => s + p.length, 0),
  };
}

export interface StampParams {
  channel: number;
  /** Sequence number of the first packet; the following ones count up modulo 2^16. */
  seq: number;
  timestamp: number;
  ssrc: number;
}

/** A private copy of the frame with this session's header fields; the shared frame is not modified. */
export function stampFrame(frame: PacketizedFrame, p: StampParams): Buffer {
  const out = Buffer.allocUnsafe(frame.wire.length);
  frame.wire.copy(out);
  const ts = p.timestamp >>> 0;
  const ssrc = p.ssrc >>> 0;
  for (let i = 0; i < frame.offsets.length; i++) {
    const at = frame.offsets[i]!;
    out[at + 1] = p.channel;
    out.writeUInt16BE((p.seq + i) & 0xffff, at + 6);
    out.writeUInt32BE(ts, at + 8);
    out.writeUInt32BE(ssrc, at + 12);
  }
  return out;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** NTP timestamp (RFC 3550 §4) of a wall-clock time in Unix milliseconds, as [seconds, fraction]. */
export function ntpFromUnixMs(ms: number): [number, number] {
  const secs = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32);
  return [(secs + NTP_UNIX_OFFSET) >>> 0, frac >>> 0];
}

export function unixMsFromNtp(secs: number, frac: number): number {
  return (secs - NTP_UNIX_OFFSET) * 1000 + (frac / 2 ** 32) * 1000;
}

export interface SenderReportParams {
  ssrc: number;
  wallMs: number;
  /** RTP timestamp corresponding to `wallMs` on the same clock as the data packets. */
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  cname: string;
}

/**
 * A compound RTCP packet (RFC 3550 §6.1): SR with no report blocks (§6.4.1;
 * we receive no RTP) followed by SDES with the mandatory CNAME (§6.5.1).
 */
export function buildSenderReport(p: SenderReportParams): Buffer {
  const cname = Buffer.from(p.cname, 'utf8').subarray(0, 255);
  // SDES chunk: SSRC, CNAME item (type, length, text), END item, padded to 32 bits.
  const chunkLen = 4 + 2 + cname.length + 1;
  const sdesLen = 4 + Math.ceil(chunkLen / 4) * 4;
  const buf = Buffer.alloc(28 + sdesLen);
  const [ntpSec, ntpFrac] = ntpFromUnixMs(p.wallMs);
  buf[0] = 0x80; // V=2, P=0, RC=0
  buf[1] = 200; // PT=SR
  buf.writeUInt16BE(6, 2); // length in 32-bit words minus one
  buf.writeUInt32BE(p.ssrc >>> 0, 4);
  buf.writeUInt32BE(ntpSec, 8);
  buf.writeUInt32BE(ntpFrac, 12);
  buf.writeUInt32BE(p.rtpTimestamp >>> 0, 16);
  buf.writeUInt32BE(p.packetCount >>> 0, 20);
  buf.writeUInt32BE(p.octetCount >>> 0, 24);
  buf[28] = 0x81; // V=2, SC=1
  buf[29] = 202; // PT=SDES
  buf.writeUInt16BE(sdesLen / 4 - 1, 30);
  buf.writeUInt32BE(p.ssrc >>> 0, 32);
  buf[36] = 1; // CNAME
  buf[37] = cname.length;
  cname.copy(buf, 38);
  return buf;
}

/** Wraps an RTCP/RTP packet for the RTSP connection (RFC 2326 §10.12). */
export function interleave(channel: number, packet: Buffer): Buffer {
  const out = Buffer.allocUnsafe(INTERLEAVED_PREFIX + packet.length);
  out[0] = 0x24;
  out[1] = channel;
  out.writeUInt16BE(packet.length, 2);
  packet.copy(out, INTERLEAVED_PREFIX);
  return out;
}
