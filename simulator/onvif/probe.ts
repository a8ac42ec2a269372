/**
 * A small WS-Discovery 2005/04 client (ONVIF Core 7.3): sends a Probe for
 * NetworkVideoTransmitters and collects the ProbeMatches that relate to it.
 *
 * The probe leaves by exactly one interface: the socket is bound to
 * `interfaceAddress` and IP_MULTICAST_IF is set to it, so a multicast probe
 * never goes out of the default-route interface by accident. With `unicastTo`
 * it is sent to that one address instead (a directed probe, WS-Discovery §5.2
 * allows a Probe to be sent unicast to a known target).
 *
 * The simulator's tests use it on loopback; the agent reuses it on the site LAN.
 */
import dgram from 'node:dgram';
import { WSD_MULTICAST, WSD_PORT, buildProbe, newMessageId, parseProbeMatches } from './wsd.js';

export interface ProbeOptions {
  /** Local IPv4 address of the interface to probe on, e.g. 127.0.0.1 or the LAN address. */
  interfaceAddress: string;
  /** How long to collect answers; default 3000 ms (WS-Discovery targets wait up to 500 ms before answering). */
  timeoutMs?: number;
  /** Send to one target instead of the multicast group. */
  unicastTo?: { address: string; port?: number };
  /** Probe Types as prefixed QNames (dn: and tds: are declared); default dn:NetworkVideoTransmitter. */
  types?: string;
  scopes?: string[];
  signal?: AbortSignal;
}

export interface ProbeResult {
  /** EndpointReference address, e.g. urn:uuid:... (stable per device). */
  address: string;
  xaddrs: string[];
  types: string[];
  scopes: string[];
  metadataVersion?: number;
  /** Who answered. */
  from: { address: string; port: number };
}

/**
 * SOAP-over-UDP 1.0 retransmission: a multicast message is sent again after a
 * short random delay, since UDP may drop it. Responders answer a MessageID once.
 */
const REPEAT_DELAY_MS = { min: 50, max: 250 };

export async function probe(opts: ProbeOptions): Promise<ProbeResult[]> {
  opts.signal?.throwIfAborted();
  const messageId = newMessageId();
  const message = Buffer.from(buildProbe(messageId, opts.types, opts.scopes));
  const found = new Map<string, ProbeResult>();
  const socket = dgram.createSocket({ type: 'udp4' });
  const target = opts.unicastTo
    ? { address: opts.unicastTo.address, port: opts.unicastTo.port ?? WSD_PORT }
    : { address: WSD_MULTICAST, port: WSD_PORT };

  socket.on('message', (msg, rinfo) => {
    const matches = parseProbeMatches(msg.toString('utf8'));
    for (const m of matches ?? []) {
      // Answers to someone else's probe (or stale ones) carry another RelatesTo.
      if (m.relatesTo !== messageId || !m.address) continue;
      const prev = found.get(m.address);
      const result: ProbeResult = {
        address: m.address,
        xaddrs: [...new Set([...(prev?.xaddrs ?? []), ...m.xaddrs])],
        types: m.types,
        scopes: m.scopes,
        from: { address: rinfo.address, port: rinfo.port },
      };
      if (m.metadataVersion !== undefined) result.metadataVersion = m.metadataVersion;
      found.set(m.address, result);
    }
  });

  const timers: NodeJS.Timeout[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, opts.interfaceAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (!opts.unicastTo) {
      socket.setMulticastInterface(opts.interfaceAddress);
      // One hop: discovery is link-local by design (WS-Discovery ad hoc mode).
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
    }
    const sendOnce = () =>
      new Promise<void>((resolve, reject) =>
        socket.send(message, target.port, target.address, (err) => (err ? reject(err) : resolve())),
      );
    await sendOnce();
    await new Promise<void>((resolve, reject) => {
      const repeatIn = REPEAT_DELAY_MS.min + Math.random() * (REPEAT_DELAY_MS.max - REPEAT_DELAY_MS.min);
      timers.push(setTimeout(() => void sendOnce().catch(reject), repeatIn));
      timers.push(setTimeout(resolve, opts.timeoutMs ?? 3000));
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      socket.on('error', reject);
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return [...found.values()];
}
