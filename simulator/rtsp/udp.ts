/**
 * The server's UDP socket pair for RTP/AVP over UDP (RFC 2326 §12.39
 * server_port). One pair serves every UDP session of the server: sessions
 * differ by the client's address and ports, not by ours.
 *
 * RFC 3550 §11: RTP on an even port, RTCP on the next (odd) one. Clients
 * such as ffmpeg derive the RTCP port as RTP port + 1, so the pair must be
 * adjacent: we bind an ephemeral port and retry until we get an even one
 * whose successor is free.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface UdpPairEvents {
  /** An RTCP packet from a client (receiver reports): proof that the client is still there. */
  onRtcp(from: { address: string; port: number }, data: Buffer): void;
  onError(err: Error): void;
}

function bind(sock: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch (err) {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: never bound or already closed; nothing left to release.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw err;
      resolve();
    }
  });
}

export class UdpPair {
  private constructor(
    readonly rtp: dgram.Socket,
    readonly rtcp: dgram.Socket,
    readonly ports: [number, number],
  ) {}

  static async open(host: string, events: UdpPairEvents, attempts = 50): Promise<UdpPair> {
    const type = net.isIPv6(host) ? 'udp6' : 'udp4';
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      const rtp = dgram.createSocket(type);
      const rtcp = dgram.createSocket(type);
      try {
        await bind(rtp, 0, host);
        const port = rtp.address().port;
        if (port % 2 !== 0 || port >= 65535) throw Object.assign(new Error('odd port'), { code: 'ODD' });
        await bind(rtcp, port + 1, host);
        const pair = new UdpPair(rtp, rtcp, [port, port + 1]);
        rtcp.on('message', (data, rinfo) =>
          events.onRtcp({ address: rinfo.address, port: rinfo.port }, data),
        );
        // Clients send a few packets to our RTP port to open NAT bindings (ffmpeg does); ignore them.
        rtp.on('message', () => undefined);
        rtp.on('error', (err) => events.onError(err));
        rtcp.on('error', (err) => events.onError(err));
        return pair;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        await closeSocket(rtp);
        await closeSocket(rtcp);
        if (code !== 'ODD' && code !== 'EADDRINUSE') throw err;
        lastErr = err;
      }
    }
    throw new Error(`no adjacent even/odd UDP port pair on ${host} after ${attempts} attempts`, {
      cause: lastErr,
    });
  }

  /** Sends one RTP packet (a slice of a stamped frame) to a client. */
  sendRtp(
    buf: Buffer,
    offset: number,
    length: number,
    port: number,
    address: string,
    cb: (e: Error | null) => void,
  ) {
    this.rtp.send(buf, offset, length, port, address, cb);
  }

  sendRtcp(buf: Buffer, port: number, address: string, cb: (e: Error | null) => void) {
    this.rtcp.send(buf, port, address, cb);
  }

  async close(): Promise<void> {
    await Promise.all([closeSocket(this.rtp), closeSocket(this.rtcp)]);
  }
}
