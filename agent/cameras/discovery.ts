/**
 * Finding cameras: WS-Discovery (ONVIF Core 7.3) Probe for NetworkVideoTransmitters on the
 * site's network, on one chosen interface or on each IPv4 interface in turn.
 *
 * The wire format (Probe/ProbeMatches, SOAP-over-UDP repetition, RelatesTo matching) is the
 * WS-Discovery client in simulator/onvif/probe.ts, written for the simulator's tests and meant
 * for reuse here: one implementation of the protocol, tested from both sides. This file adds
 * what the agent needs on top: interface selection by name, scope decoding (Core 7.3.2.2: the
 * camera's configured name and hardware), de-duplication across interfaces, and plain results.
 *
 * The probe leaves by exactly the interface asked for (bound to its address, IP_MULTICAST_IF set,
 * TTL 1): an appliance with a LAN port and an uplink never probes the uplink by accident.
 */
import os from 'node:os';
import { probe, type ProbeResult } from '../../simulator/onvif/probe.js';

export interface DiscoveredCamera {
  /** WS-Addressing endpoint reference (urn:uuid:...): stable across IP address changes. */
  endpoint: string;
  /** Device service URLs (http://HOST/onvif/device_service), as announced. */
  xaddrs: string[];
  /** The name configured in the camera (scope onvif://www.onvif.org/name/...), if any. */
  name?: string;
  hardware?: string;
  scopes: string[];
  /** Address the answer came from, and the local interface that heard it. */
  from: string;
  interface: string;
}

export interface DiscoverOptions {
  /** Interface name (eth0) or IPv4 address; default: every non-internal IPv4 interface. */
  interface?: string;
  /** Send a directed (unicast) probe to this host[:port] instead of the multicast group. */
  target?: { address: string; port?: number };
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LocalInterface {
  name: string;
  address: string;
}

/** IPv4 interfaces by name or address; all non-internal ones when `which` is undefined. */
export function localInterfaces(which?: string): LocalInterface[] {
  const out: LocalInterface[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (which === undefined ? a.internal : name !== which && a.address !== which) continue;
      out.push({ name, address: a.address });
    }
  }
  return out;
}

function scopeValue(scopes: string[], kind: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${kind}/`;
  const s = scopes.find((x) => x.toLowerCase().startsWith(prefix.toLowerCase()));
  if (!s) return undefined;
  try {
    return decodeURIComponent(s.slice(prefix.length)) || undefined;
  } catch {
    return s.slice(prefix.length) || undefined; // not percent-encoded after all: keep it raw
  }
}

function toCamera(r: ProbeResult, iface: LocalInterface): DiscoveredCamera {
  const name = scopeValue(r.scopes, 'name');
  const hardware = scopeValue(r.scopes, 'hardware');
  return {
    endpoint: r.address,
    // Only absolute http(s) URLs: a ProbeMatch is unauthenticated input from the network.
    xaddrs: r.xaddrs.filter((x) => /^https?:\/\/[^\s]+$/i.test(x)),
    ...(name ? { name } : {}),
    ...(hardware ? { hardware } : {}),
    scopes: r.scopes,
    from: r.from.address,
    interface: iface.name,
  };
}

export async function discover(o: DiscoverOptions = {}): Promise<DiscoveredCamera[]> {
  const ifaces = localInterfaces(o.interface);
  if (ifaces.length === 0) {
    throw new Error(
      o.interface
        ? `no IPv4 address on interface "${o.interface}"`
        : 'no network interface with an IPv4 address; name one with --interface',
    );
  }
  const found = new Map<string, DiscoveredCamera>();
  // One interface at a time: each probe is short, and answers then name the interface they came by.
  for (const iface of ifaces) {
    const results = await probe({
      interfaceAddress: iface.address,
      timeoutMs: o.timeoutMs ?? 3000,
      ...(o.target ? { unicastTo: o.target } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for (const r of results) {
      const cam = toCamera(r, iface);
      if (cam.xaddrs.length > 0 && !found.has(cam.endpoint)) found.set(cam.endpoint, cam);
    }
    if (o.signal?.aborted) break;
  }
  return [...found.values()].sort((a, b) => (a.name ?? a.endpoint).localeCompare(b.name ?? b.endpoint));
}

/** The xaddr to use: one on the subnet the answer came from, else the first. */
export function preferredXaddr(c: DiscoveredCamera): string {
  return c.xaddrs.find((x) => new URL(x).hostname === c.from) ?? c.xaddrs[0]!;
}
