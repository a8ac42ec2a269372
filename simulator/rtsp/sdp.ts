/**
 * The session description a camera returns to DESCRIBE (RFC 4566, with the
 * H.264 parameters of RFC 6184 §8.2.1), and the Transport header of SETUP
 * (RFC 2326 §12.39).
 */
import { H264_PAYLOAD_TYPE, RTP_CLOCK_RATE } from '../rtp.js';
import { createHash } from 'node:crypto';
import { parseParams } from './message.js';
import type { LiveStream } from './stream.js';

/** Control name of the single video track, resolved against Content-Base by clients. */
export const TRACK_CONTROL = 'trackID=0';

export interface SdpInput {
  /** Address of the server as the client reached it, for o= (RFC 4566 §5.2). */
  host: string;
  sessionName: string;
  /** Stable per stream, so a re-DESCRIBE gives the same o= line. */
  sessionId: string;
  kbps: number;
  fps: number;
  width: number;
  height: number;
  sps: Buffer;
  pps: Buffer;
  profileLevelId: string;
}

export function buildSdp(s: SdpInput): string {
  const ipVersion = s.host.includes(':') ? 'IP6' : 'IP4';
  const spropSets = `${s.sps.toString('base64')},${s.pps.toString('base64')}`;
  const lines = [
    'v=0',
    `o=- ${s.sessionId} 1 IN ${ipVersion} ${s.host}`,
    `s=${s.sessionName}`,
    `c=IN ${ipVersion} ${ipVersion === 'IP6' ? '::' : '0.0.0.0'}`,
    't=0 0',
    'a=tool:camconnect-sim',
    'a=type:broadcast',
    'a=control:*',
    // A live source: no seeking, playback starts "now" (RFC 2326 §C.1.5, §3.6).
    'a=range:npt=now-',
    `m=video 0 RTP/AVP ${H264_PAYLOAD_TYPE}`,
    `b=AS:${s.kbps}`,
    `a=rtpmap:${H264_PAYLOAD_TYPE} H264/${RTP_CLOCK_RATE}`,
    `a=fmtp:${H264_PAYLOAD_TYPE} packetization-mode=1;profile-level-id=${s.profileLevelId};sprop-parameter-sets=${spropSets}`,
    `a=framerate:${s.fps}`,
    `a=x-dimensions:${s.width},${s.height}`,
    `a=control:${TRACK_CONTROL}`,
  ];
  return lines.join('\r\n') + '\r\n';
}

/** The SDP of one camera stream, as DESCRIBE returns it. */
export function sdpForStream(stream: LiveStream, localHost: string): string {
  const m = stream.media;
  const hash = createHash('sha1').update(stream.path).digest();
  return buildSdp({
    host: localHost,
    sessionName: `CamConnect simulated camera ${stream.path}`,
    sessionId: String(hash.readUInt32BE(0)),
    kbps: m.kbps,
    fps: m.fps,
    width: m.info.width,
    height: m.info.height,
    sps: m.sps,
    pps: m.pps,
    profileLevelId: m.info.profileLevelId,
  });
}

export type TransportSpec =
  { kind: 'tcp'; interleaved?: [number, number] } | { kind: 'udp'; clientPorts: [number, number] };

function range(text: string | undefined): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text ?? '');
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  return a <= 65535 && b <= 65535 ? [a, b] : undefined;
}

/**
 * Picks the first alternative of a Transport header that this server can
 * serve: RTP/AVP/TCP with interleaved channels, or unicast RTP/AVP[/UDP] with
 * client_port. Multicast, RTP/SAVP and unparseable ones are skipped; none left
 * means 461 Unsupported Transport.
 */
export function parseTransport(header: string): TransportSpec | undefined {
  for (const alt of header.split(',')) {
    const [proto = '', ...rest] = alt.trim().split(';');
    const params = parseParams(rest.join(';'), ';');
    if (params.has('multicast')) continue;
    const p = proto.toUpperCase();
    if (p === 'RTP/AVP/TCP') {
      const channels = params.has('interleaved') ? range(params.get('interleaved')) : undefined;
      if (params.has('interleaved') && (!channels || channels[1] > 255)) continue;
      return channels ? { kind: 'tcp', interleaved: channels } : { kind: 'tcp' };
    }
    if (p === 'RTP/AVP' || p === 'RTP/AVP/UDP') {
      const ports = range(params.get('client_port'));
      if (ports && ports[0] > 0) return { kind: 'udp', clientPorts: ports };
    }
  }
  return undefined;
}
