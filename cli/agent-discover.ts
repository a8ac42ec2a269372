/**
 * `camconnect agent discover [--interface IF] [--json]`: WS-Discovery probe, then for each camera
 * found: identity, profiles, stream roles and URIs, snapshot URI and clock offset.
 *
 * Credentials: `--user NAME` with the password in CAMCONNECT_CAMERA_PASSWORD (an environment
 * variable, not an argument: arguments are visible to every local user in `ps`). Output never
 * shows a password: URIs go through redactUrl, records through publicView-style fields only.
 * `--save FILE` adds the cameras that answered to the agent's camera state file (mode 0600).
 */
import type { Command } from 'commander';
import { redactText, redactUrl } from '../lib/redact.js';
import { discover, preferredXaddr, type DiscoveredCamera } from '../agent/cameras/discovery.js';
import { hintFor } from '../agent/cameras/errors.js';
import type { CameraRecord } from '../agent/cameras/inventory.js';
import { addByAddress, onboardOnvif, type OnboardResult } from '../agent/cameras/onboarding.js';
import { CameraStore } from '../agent/cameras/store.js';
import { UsageError, parseIntOption } from './util.js';

interface DiscoverOpts {
  interface?: string;
  to?: string;
  /** Cameras to add by hand: RTSP URL, ONVIF device URL, or host[:port]. */
  add?: string[];
  json?: boolean;
  timeout: number;
  user?: string;
  save?: string;
}

export interface DiscoverReport {
  /** WS-Discovery endpoint; absent for cameras added by hand. */
  endpoint?: string;
  /** What was typed after --add (redacted), for cameras added by hand. */
  address?: string;
  name?: string;
  xaddr?: string;
  from?: string;
  interface?: string;
  ok: boolean;
  error?: string;
  hint?: string;
  id?: string;
  device?: OnboardResult['device'];
  profiles?: OnboardResult['profiles'];
  streams?: {
    role: 'main' | 'sub';
    profile?: string;
    uri: string;
    width?: number;
    height?: number;
    codec?: string;
    fps?: number;
  }[];
  snapshotUri?: string;
  clockOffsetMs?: number;
  eventsSupported?: boolean;
  warnings?: string[];
}

function parseTarget(spec: string): { address: string; port?: number } {
  const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!m) throw new UsageError(`--to expects HOST or HOST:PORT, got "${spec}"`);
  return { address: m[1]!, ...(m[2] ? { port: Number(m[2]) } : {}) };
}

/** The parts of an inventory record worth showing, with every URI redacted. */
function recordFields(r: CameraRecord): Partial<DiscoverReport> {
  const streams = (['main', 'sub'] as const).map((role) => {
    const { profileToken, uri, ...rest } = r.streams[role];
    return { role, ...(profileToken ? { profile: profileToken } : {}), uri: redactUrl(uri), ...rest };
  });
  return {
    ok: true,
    id: r.id,
    streams,
    ...(r.snapshotUri ? { snapshotUri: redactUrl(r.snapshotUri) } : {}),
    ...(r.clock ? { clockOffsetMs: r.clock.offsetMs } : {}),
    eventsSupported: Boolean(r.onvif?.eventsXaddr),
  };
}

function failed(base: Partial<DiscoverReport>, err: unknown): DiscoverReport {
  const hint = hintFor(err);
  const msg = err instanceof Error ? err.message : String(err);
  return { ...base, ok: false, error: redactText(msg), ...(hint ? { hint } : {}) };
}

async function describe(
  cam: DiscoveredCamera,
  o: DiscoverOpts,
  taken: Set<string>,
): Promise<{ report: DiscoverReport; result?: OnboardResult }> {
  const xaddr = preferredXaddr(cam);
  const base = {
    endpoint: cam.endpoint,
    ...(cam.name ? { name: cam.name } : {}),
    xaddr,
    from: cam.from,
    interface: cam.interface,
  };
  try {
    const result = await onboardOnvif({
      xaddr,
      ...credentials(o),
      ...(cam.name ? { name: cam.name } : {}),
      endpoint: cam.endpoint,
      taken,
      timeoutMs: o.timeout,
    });
    taken.add(result.record.id);
    return {
      result,
      report: {
        ...base,
        ...recordFields(result.record),
        ok: true,
        device: result.device,
        profiles: result.profiles,
        ...(result.warnings.length ? { warnings: result.warnings.map(redactText) } : {}),
      },
    };
  } catch (err) {
    return { report: failed(base, err) };
  }
}

function printText(reports: DiscoverReport[]): void {
  const w = (s: string) => process.stdout.write(s + '\n');
  if (reports.length === 0) w('no ONVIF cameras answered');
  for (const r of reports) {
    const where = r.interface ? `  (via ${r.interface}, from ${r.from})` : '  (added by hand)';
    w(`${r.name ?? r.endpoint ?? r.address}  ${r.xaddr ?? r.address}${where}`);
    if (!r.ok) {
      w(`  error: ${r.error}`);
      if (r.hint) w(`  hint: ${r.hint}`);
      continue;
    }
    const d = r.device ?? {};
    if (r.device)
      w(
        `  device: ${[d.manufacturer, d.model].filter(Boolean).join(' ') || '?'}  serial ${d.serialNumber ?? '?'}  firmware ${d.firmwareVersion ?? '?'}`,
      );
    if (r.clockOffsetMs !== undefined) {
      w(
        `  clock offset: ${r.clockOffsetMs} ms (camera minus agent)  events: ${r.eventsSupported ? 'yes' : 'no'}`,
      );
    }
    for (const p of r.profiles ?? []) {
      w(
        `  profile ${p.token}: ${p.encoding ?? '?'} ${p.width ?? '?'}x${p.height ?? '?'} @ ${p.fps ?? '?'} fps`,
      );
    }
    for (const s of r.streams ?? []) {
      const size = s.width && s.height ? `${s.width}x${s.height} ${s.codec ?? ''}`.trim() : 'size unknown';
      w(`  ${s.role.padEnd(4)} ${s.uri}  (${size})`);
    }
    if (r.snapshotUri) w(`  snapshot ${r.snapshotUri}`);
    for (const x of r.warnings ?? []) w(`  warning: ${x}`);
  }
}

export async function runDiscover(o: DiscoverOpts): Promise<DiscoverReport[]> {
  if (o.user !== undefined && process.env['CAMCONNECT_CAMERA_PASSWORD'] === undefined) {
    throw new UsageError('--user needs the password in the environment variable CAMCONNECT_CAMERA_PASSWORD');
  }
  const found = await discover({
    ...(o.interface ? { interface: o.interface } : {}),
    ...(o.to ? { target: parseTarget(o.to) } : {}),
    timeoutMs: Math.min(o.timeout, 10_000),
  });
  const store = o.save ? new CameraStore(o.save) : undefined;
  await store?.load();
  const taken = store?.ids() ?? new Set<string>();
  const out: DiscoverReport[] = [];
  for (const cam of found) {
    const { report, result } = await describe(cam, o, taken);
    out.push(report);
    if (store && result) {
      // Same camera again (same WS-Discovery endpoint): keep its id, location and motion settings.
      const prev = store.list().find((c) => c.onvif?.endpoint === cam.endpoint);
      const rec = prev
        ? { ...result.record, id: prev.id, name: prev.name, location: prev.location, motion: prev.motion }
        : result.record;
      await store.upsert(rec);
      report.id = rec.id;
    }
  }
  for (const address of o.add ?? []) {
    const base = { address: redactUrl(address) };
    let record: CameraRecord;
    try {
      record = await addByAddress({ address, taken, timeoutMs: o.timeout, ...credentials(o) });
    } catch (err) {
      out.push(failed(base, err));
      continue;
    }
    taken.add(record.id);
    out.push({ ...base, name: record.name, ...recordFields(record), ok: true });
    await store?.upsert(record);
  }
  return out;
}

function credentials(o: DiscoverOpts): { credentials?: { username: string; password: string } } {
  if (o.user === undefined) return {};
  return { credentials: { username: o.user, password: process.env['CAMCONNECT_CAMERA_PASSWORD'] ?? '' } };
}

export function registerDiscoverCommand(agent: Command): void {
  agent
    .command('discover')
    .description('find ONVIF cameras on the network (WS-Discovery) and show their streams')
    .option('--interface <IF>', 'network interface name or IPv4 address to probe on (default: all)')
    .option('--to <HOST[:PORT]>', 'send a directed probe to one address instead of multicast')
    .option('--json', 'print one JSON document instead of text')
    .option(
      '--timeout <MS>',
      'how long to wait for answers and for each camera',
      parseIntOption('--timeout'),
      3000,
    )
    .option('--user <NAME>', 'camera user name (password from CAMCONNECT_CAMERA_PASSWORD)')
    .option(
      '--add <ADDRESS>',
      'also add a camera by hand: rtsp:// URL, ONVIF URL or HOST[:PORT] (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option('--save <STATE_FILE>', 'add the cameras found to this camera state file')
    .action(async (o: DiscoverOpts) => {
      const reports = await runDiscover(o);
      if (o.json) process.stdout.write(JSON.stringify({ cameras: reports }, null, 2) + '\n');
      else printText(reports);
    });
}
