/**
 * WS-Discovery responder for the simulated cameras (ONVIF Core 7.3, WS-Discovery
 * 2005/04 §5): answers Probe with one ProbeMatches per matching device, unicast
 * back to the prober.
 *
 * It answers only on loopback: the group is joined on the loopback interface
 * address only, and any datagram whose source is not 127.0.0.0/8 is dropped
 * unread, so simulated cameras can never show up on a real LAN. It sends no
 * Hello/Bye (those are multicast announcements; nothing here multicasts).
 *
 * Usage: new DiscoveryResponder({ devices: () => fleet.map((d) => ({ uuid: d.uuid,
 *   xaddr: d.xaddr(), scopes: d.scopes() })) }); port 3702 by default, 0 in tests.
 */
import dgram from 'node:dgram';
import type { Health, HealthState, Service } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { DiscoverableDevice } from './types.js';
import {
  WSD_MULTICAST,
  WSD_PORT,
  buildProbeMatches,
  isLoopback,
  parseProbe,
  scopesMatch,
  typesMatch,
} from './wsd.js';

export interface DiscoveryResponderOptions {
  devices: () => DiscoverableDevice[];
  /** Loopback address whose interface joins the multicast group; default 127.0.0.1. */
  interfaceAddress?: string;
  /** Default 3702 (WS-Discovery's port); 0 = ephemeral, for unicast-only tests. */
  port?: number;
  /**
   * APP_MAX_DELAY (WS-Discovery 2005/04 protocol assignments: 500 ms): a target waits a random
   * time up to this before answering, so a multicast probe does not trigger a
   * burst from every device at once.
   */
  maxDelayMs?: number;
  log?: Logger;
}

const SEEN_TTL_MS = 30_000;

export class DiscoveryResponder implements Service {
  readonly name = 'ws-discovery';
  private socket: dgram.Socket | undefined;
  private state: HealthState = 'stopped';
  private detail: string | undefined;
  private multicast = false;
  private boundPort = 0;
  private readonly iface: string;
  private readonly log: Logger;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Probe MessageIDs already answered (a probe can arrive by several paths, and is repeated). */
  private readonly seen = new Map<string, number>();
  private readonly instanceId = Math.floor(Date.now() / 1000);
  private messageNumber = 0;
  private readonly counters = { probes: 0, matchesSent: 0, droppedNonLoopback: 0 };

  constructor(private readonly opts: DiscoveryResponderOptions) {
    this.iface = opts.interfaceAddress ?? '127.0.0.1';
    this.log = (opts.log ?? createLogger()).child({ component: 'ws-discovery' });
  }

  port(): number {
    return this.boundPort;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.socket) return;
    signal.throwIfAborted();
    if (!isLoopback(this.iface)) {
      throw new Error(
        `DiscoveryResponder answers on loopback only; interfaceAddress ${this.iface} is not 127.0.0.0/8`,
      );
    }
    this.state = 'starting';
    // reuseAddr: other WS-Discovery listeners on this host (another simulator) may share 3702.
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () =>
          reject(signal.reason instanceof Error ? signal.reason : new Error('start aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('error', reject);
        // Bound to the wildcard address: on Linux a socket bound to 127.0.0.1 does not see
        // datagrams addressed to the group. The source filter in onMessage keeps it loopback-only.
        socket.bind(this.opts.port ?? WSD_PORT, () => {
          signal.removeEventListener('abort', onAbort);
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.socket = undefined;
      socket.close();
      this.state = 'failed';
      this.detail = `cannot bind UDP ${this.opts.port ?? WSD_PORT}: ${(err as Error).message}`;
      throw err;
    }
    this.boundPort = socket.address().port;
    try {
      // Only on the loopback interface's address: a probe on eth0 never reaches this group membership.
      socket.addMembership(WSD_MULTICAST, this.iface);
      this.multicast = true;
    } catch (err) {
      // Unicast probes to 127.0.0.1 still work; say so instead of failing the whole simulator.
      this.multicast = false;
      this.detail = `multicast unavailable on ${this.iface} (${(err as Error).message}); unicast probes only`;
      this.log.warn('cannot join WS-Discovery group on loopback; answering unicast probes only', {
        err: (err as Error).message,
      });
    }
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => {
      this.state = 'degraded';
      this.detail = `socket error: ${err.message}`;
      this.log.warn('WS-Discovery socket error', { err: err.message });
    });
    this.state = this.multicast ? 'ok' : 'degraded';
    this.log.info('WS-Discovery responder listening', {
      port: this.boundPort,
      multicast: this.multicast,
      iface: this.iface,
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (this.state !== 'failed') this.state = 'stopped';
  }

  health(): Health {
    const h: Health = {
      state: this.state,
      port: this.boundPort,
      multicast: this.multicast,
      ...this.counters,
    };
    if (this.detail) h.detail = this.detail;
    return h;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!isLoopback(rinfo.address)) {
      this.counters.droppedNonLoopback++;
      return; // off-host prober: never answered, never parsed
    }
    const probe = parseProbe(msg.toString('utf8'));
    if (!probe) return;
    const now = Date.now();
    for (const [id, at] of this.seen) if (now - at > SEEN_TTL_MS) this.seen.delete(id);
    if (this.seen.has(probe.messageId)) return;
    this.seen.set(probe.messageId, now);
    this.counters.probes++;
    if (!typesMatch(probe.types)) return;
    const devices = this.opts
      .devices()
      .filter((d) => scopesMatch(probe.scopes, d.scopes ?? [], probe.matchBy));
    this.log.debug('probe', { from: `${rinfo.address}:${rinfo.port}`, matches: devices.length });
    for (const d of devices) {
      const delay = Math.floor(Math.random() * (this.opts.maxDelayMs ?? 500));
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.send(d, probe.messageId, rinfo);
      }, delay);
      this.timers.add(timer);
    }
  }

  private send(d: DiscoverableDevice, relatesTo: string, to: dgram.RemoteInfo): void {
    const socket = this.socket;
    if (!socket) return;
    const xml = buildProbeMatches({
      relatesTo,
      address: d.uuid,
      xaddrs: [d.xaddr],
      scopes: d.scopes ?? [],
      metadataVersion: 1,
      instanceId: this.instanceId,
      messageNumber: ++this.messageNumber,
    });
    socket.send(xml, to.port, to.address, (err) => {
      if (err) this.log.warn('ProbeMatches not sent', { to: to.address, err: err.message });
      else this.counters.matchesSent++;
    });
  }
}
