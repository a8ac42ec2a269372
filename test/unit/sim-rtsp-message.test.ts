import { describe, expect, it } from 'vitest';
import {
  formatResponse,
  MAX_HEAD,
  parseParams,
  RtspParseError,
  RtspParser,
} from '../../simulator/rtsp/message.js';
import { parseTransport } from '../../simulator/rtsp/sdp.js';

const req = (lines: string[], body = ''): string => lines.join('\r\n') + '\r\n\r\n' + body;

describe('RtspParser', () => {
  it('parses a request delivered byte by byte', () => {
    const p = new RtspParser();
    const text = req(['OPTIONS rtsp://127.0.0.1:554/cam1/main RTSP/1.0', 'CSeq: 1', 'User-Agent: test']);
    const got = [...Buffer.from(text)].flatMap((b) => p.push(Buffer.from([b])));
    expect(got).toHaveLength(1);
    const m = got[0]!;
    expect(m.kind).toBe('request');
    if (m.kind !== 'request') return;
    expect(m.request).toMatchObject({
      method: 'OPTIONS',
      uri: 'rtsp://127.0.0.1:554/cam1/main',
      version: 'RTSP/1.0',
      cseq: '1',
    });
    expect(m.request.headers.get('user-agent')).toBe('test');
  });

  it('separates interleaved binary frames, bodies and pipelined requests', () => {
    const p = new RtspParser();
    const rtcp = Buffer.from([0x24, 1, 0, 3, 9, 8, 7]);
    const a = req(['GET_PARAMETER rtsp://h/c RTSP/1.0', 'CSeq: 5', 'Content-Length: 7'], 'uptime\n');
    const b = req(['TEARDOWN rtsp://h/c RTSP/1.0', 'CSeq: 6']);
    const all = Buffer.concat([rtcp, Buffer.from(a), Buffer.from('\r\n'), Buffer.from(b)]);
    const got = [...p.push(all.subarray(0, 10)), ...p.push(all.subarray(10))];
    expect(got.map((m) => m.kind)).toEqual(['interleaved', 'request', 'request']);
    expect(got[0]).toEqual({ kind: 'interleaved', channel: 1, data: Buffer.from([9, 8, 7]) });
    if (got[1]?.kind === 'request') expect(got[1].request.body.toString()).toBe('uptime\n');
  });

  it('joins repeated headers and folded lines', () => {
    const p = new RtspParser();
    const [m] = p.push(
      Buffer.from(
        req([
          'DESCRIBE rtsp://h/c RTSP/1.0',
          'CSeq: 2',
          'Accept: application/sdp',
          'Accept: text/x',
          'X-Long: a',
          ' b',
        ]),
      ),
    );
    if (m?.kind !== 'request') throw new Error('no request');
    expect(m.request.headers.get('accept')).toBe('application/sdp, text/x');
    expect(m.request.headers.get('x-long')).toBe('a b');
  });

  it('rejects garbage and bounds what it buffers', () => {
    expect(() => new RtspParser().push(Buffer.from('HELLO\r\n\r\n'))).toThrow(RtspParseError);
    expect(() => new RtspParser().push(Buffer.alloc(MAX_HEAD + 10, 0x41))).toThrow(/too large/);
    const big = req(['ANNOUNCE rtsp://h/c RTSP/1.0', 'CSeq: 1', 'Content-Length: 999999999']);
    expect(() => new RtspParser().push(Buffer.from(big))).toThrow(/Content-Length/);
  });
});

describe('responses and parameters', () => {
  it('formats status line, CSeq first, and Content-Length for a body', () => {
    const text = formatResponse({
      status: 454,
      cseq: '3',
      headers: { Server: 's', Skip: undefined },
      body: 'x',
    }).toString();
    expect(text).toBe('RTSP/1.0 454 Session Not Found\r\nCSeq: 3\r\nServer: s\r\nContent-Length: 1\r\n\r\nx');
  });

  it('parses ; and , separated parameters with quotes', () => {
    expect([...parseParams('unicast;client_port=5000-5001;mode="PLAY"', ';')]).toEqual([
      ['unicast', ''],
      ['client_port', '5000-5001'],
      ['mode', 'PLAY'],
    ]);
  });
});

describe('Transport header (RFC 2326 §12.39)', () => {
  it('accepts TCP interleaved with and without channels', () => {
    expect(parseTransport('RTP/AVP/TCP;unicast;interleaved=2-3')).toEqual({
      kind: 'tcp',
      interleaved: [2, 3],
    });
    expect(parseTransport('RTP/AVP/TCP;unicast')).toEqual({ kind: 'tcp' });
  });

  it('accepts unicast UDP with client ports', () => {
    expect(parseTransport('RTP/AVP;unicast;client_port=40000-40001')).toEqual({
      kind: 'udp',
      clientPorts: [40000, 40001],
    });
    expect(parseTransport('RTP/AVP/UDP;unicast;client_port=40000')).toEqual({
      kind: 'udp',
      clientPorts: [40000, 40001],
    });
  });

  it('skips alternatives it cannot serve and picks the first it can', () => {
    expect(parseTransport('RTP/AVP;multicast, RTP/AVP/TCP;interleaved=0-1')).toEqual({
      kind: 'tcp',
      interleaved: [0, 1],
    });
    expect(parseTransport('RTP/AVP;multicast')).toBeUndefined();
    expect(parseTransport('RTP/SAVP;unicast;client_port=1-2')).toBeUndefined();
    expect(parseTransport('RTP/AVP;unicast')).toBeUndefined();
    expect(parseTransport('RTP/AVP/TCP;interleaved=300-301')).toBeUndefined();
  });
});
