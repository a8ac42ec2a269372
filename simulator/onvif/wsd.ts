/**
 * WS-Discovery 1.0 (April 2005, the version ONVIF Core 7.3 uses) messages,
 * shared by the responder (discovery.ts) and our probe client (probe.ts).
 *
 * Only Probe / ProbeMatches (WS-Discovery §5) are implemented: Hello, Bye and
 * Resolve are not needed by ONVIF clients that probe, and Hello/Bye would be
 * multicast announcements we do not want to send at all.
 */
import { randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { esc, parseSoapRequest, type XmlNode } from './soap.js';

export const WSD_MULTICAST = '239.255.255.250';
export const WSD_PORT = 3702;

export const WSD_NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  d: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
} as const;

const ACTION = {
  probe: `${WSD_NS.d}/Probe`,
  probeMatches: `${WSD_NS.d}/ProbeMatches`,
} as const;
const TO_DISCOVERY = 'urn:schemas-xmlsoap-org:ws:2005:04:discovery';
const TO_ANONYMOUS = `${WSD_NS.wsa}/role/anonymous`;
/** §5.1 default: RFC 3986 prefix matching. */
export const MATCH_BY_RFC3986 = `${WSD_NS.d}/rfc3986`;
const MATCH_BY_STRCMP = `${WSD_NS.d}/strcmp0`;

export interface QName {
  ns: string;
  local: string;
}

/** What an ONVIF device is in discovery (ONVIF Core 7.3): a NetworkVideoTransmitter and a Device. */
export const DEVICE_TYPES: QName[] = [
  { ns: WSD_NS.dn, local: 'NetworkVideoTransmitter' },
  { ns: WSD_NS.tds, local: 'Device' },
];

const HEADER_DECLS = Object.entries(WSD_NS)
  .map(([p, uri]) => `xmlns:${p}="${uri}"`)
  .join(' ');

export function newMessageId(): string {
  return `urn:uuid:${randomUUID()}`;
}

export function buildProbe(
  messageId: string,
  types = 'dn:NetworkVideoTransmitter',
  scopes: string[] = [],
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope ${HEADER_DECLS}><soap:Header>` +
    `<wsa:MessageID>${esc(messageId)}</wsa:MessageID><wsa:To>${TO_DISCOVERY}</wsa:To>` +
    `<wsa:Action>${ACTION.probe}</wsa:Action></soap:Header><soap:Body><d:Probe>` +
    (types ? `<d:Types>${esc(types)}</d:Types>` : '') +
    (scopes.length ? `<d:Scopes>${scopes.map(esc).join(' ')}</d:Scopes>` : '') +
    '</d:Probe></soap:Body></soap:Envelope>'
  );
}

export interface ProbeMatchSpec {
  relatesTo: string;
  address: string;
  xaddrs: string[];
  scopes: string[];
  metadataVersion: number;
  instanceId: number;
  messageNumber: number;
}

/** One ProbeMatches message holding one ProbeMatch (§5.3), sent unicast to the prober. */
export function buildProbeMatches(m: ProbeMatchSpec): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope ${HEADER_DECLS}><soap:Header>` +
    `<wsa:MessageID>${newMessageId()}</wsa:MessageID><wsa:RelatesTo>${esc(m.relatesTo)}</wsa:RelatesTo>` +
    `<wsa:To>${TO_ANONYMOUS}</wsa:To><wsa:Action>${ACTION.probeMatches}</wsa:Action>` +
    `<d:AppSequence InstanceId="${m.instanceId}" MessageNumber="${m.messageNumber}"/></soap:Header>` +
    `<soap:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>${esc(m.address)}</wsa:Address>` +
    `</wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>` +
    `<d:Scopes>${m.scopes.map(esc).join(' ')}</d:Scopes><d:XAddrs>${m.xaddrs.map(esc).join(' ')}</d:XAddrs>` +
    `<d:MetadataVersion>${m.metadataVersion}</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></soap:Body></soap:Envelope>`
  );
}

export interface ParsedProbe {
  messageId: string;
  /** Resolved QNames; empty = any type. */
  types: QName[];
  scopes: string[];
  matchBy: string;
}

// Kept prefixes and xmlns attributes: Types holds QNames whose prefixes must be resolved.
const rawParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
});
type Raw = Record<string, unknown>;
const localOf = (k: string) => k.slice(k.indexOf(':') + 1);

/** Finds the child element with local name `local`, updating the in-scope namespace map. */
function step(node: unknown, local: string, scope: Map<string, string>): unknown {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as Raw;
  for (const [k, v] of Object.entries(n)) {
    if (k.startsWith('@_') || localOf(k) !== local) continue;
    const el = Array.isArray(v) ? (v[0] as unknown) : v;
    if (el && typeof el === 'object') {
      for (const [a, uri] of Object.entries(el as Raw)) {
        if (a === '@_xmlns') scope.set('', String(uri));
        else if (a.startsWith('@_xmlns:')) scope.set(a.slice(8), String(uri));
      }
    }
    return el ?? '';
  }
  return undefined;
}

function textOf(el: unknown): string {
  if (typeof el === 'string') return el;
  const t = el && typeof el === 'object' ? (el as Raw)['#text'] : undefined;
  return typeof t === 'string' ? t : '';
}

/**
 * Parses a Probe; undefined for anything else (Resolve, Hello, garbage). Some
 * cameras' tools omit the xmlns for the Types prefix: undeclared dn:/tds:
 * fall back to the ONVIF namespaces rather than silently matching nothing.
 */
export function parseProbe(xml: string): ParsedProbe | undefined {
  let doc: unknown;
  try {
    parseSoapRequest(xml); // well-formedness and the no-DTD rule
    doc = rawParser.parse(xml);
  } catch {
    return undefined; // not XML, not SOAP: a datagram that is not ours to answer
  }
  const scope = new Map<string, string>([
    ['dn', WSD_NS.dn],
    ['tds', WSD_NS.tds],
  ]);
  const env = step(doc, 'Envelope', scope);
  const header = step(env, 'Header', new Map(scope));
  const probe = step(step(env, 'Body', scope), 'Probe', scope);
  if (probe === undefined) return undefined;
  const messageId = textOf(step(header, 'MessageID', new Map()));
  if (!messageId) return undefined; // §5.2: a Probe MUST carry a MessageID to relate the answer to
  const typesScope = new Map(scope);
  const typesEl = step(probe, 'Types', typesScope);
  const types = textOf(typesEl)
    .split(/\s+/)
    .filter(Boolean)
    .map((q) => {
      const i = q.indexOf(':');
      const prefix = i < 0 ? '' : q.slice(0, i);
      return { ns: typesScope.get(prefix) ?? `urn:undeclared-prefix:${prefix}`, local: q.slice(i + 1) };
    });
  const scopesEl = step(probe, 'Scopes', new Map());
  const mb = scopesEl && typeof scopesEl === 'object' ? (scopesEl as Raw)['@_MatchBy'] : undefined;
  const matchBy = typeof mb === 'string' ? mb : MATCH_BY_RFC3986;
  return { messageId, types, scopes: textOf(scopesEl).split(/\s+/).filter(Boolean), matchBy };
}

/** §5.1: every probed type must be one of the target's types (QName equality). */
export function typesMatch(probed: QName[], target: QName[] = DEVICE_TYPES): boolean {
  return probed.every((p) => target.some((t) => t.ns === p.ns && t.local === p.local));
}

/** §5.1: every probed scope must match one of the target's scopes under MatchBy. */
export function scopesMatch(probed: string[], target: string[], matchBy = MATCH_BY_RFC3986): boolean {
  if (matchBy === MATCH_BY_STRCMP) return probed.every((p) => target.includes(p));
  if (matchBy !== MATCH_BY_RFC3986) return probed.length === 0; // unknown rule: match only an empty scope list
  const norm = (s: string) => s.replace(/\/+$/, '');
  return probed.every((p) => {
    const want = norm(p);
    // Segment-wise prefix: .../name/cam matches .../name/cam and .../name/cam/x, not .../name/camera.
    return target.some((t) => norm(t) === want || norm(t).startsWith(`${want}/`));
  });
}

export interface ParsedMatch {
  relatesTo: string;
  address: string;
  types: string[];
  scopes: string[];
  xaddrs: string[];
  metadataVersion?: number;
}

const list = (v: XmlNode | XmlNode[] | undefined): XmlNode[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
const str = (n: XmlNode | undefined): string =>
  n === undefined ? '' : typeof n === 'string' ? n : typeof n['#text'] === 'string' ? n['#text'] : '';
const words = (n: XmlNode | undefined) => str(n).split(/\s+/).filter(Boolean);
const one = (n: XmlNode | undefined, k: string): XmlNode | undefined =>
  n === undefined || typeof n === 'string' ? undefined : list(n[k])[0];

/** Parses a ProbeMatches message (any number of ProbeMatch elements); undefined otherwise. */
export function parseProbeMatches(xml: string): ParsedMatch[] | undefined {
  let req;
  try {
    req = parseSoapRequest(xml);
  } catch {
    return undefined; // garbage on the discovery port is expected now and then; skip it
  }
  if (req.action !== 'ProbeMatches') return undefined;
  const relatesTo = str(one(req.header, 'RelatesTo'));
  const matches = typeof req.body === 'string' ? [] : list(req.body['ProbeMatch']);
  return matches.map((m) => {
    const mv = Number(str(one(m, 'MetadataVersion')));
    const out: ParsedMatch = {
      relatesTo,
      address: str(one(one(m, 'EndpointReference'), 'Address')),
      types: words(one(m, 'Types')),
      scopes: words(one(m, 'Scopes')),
      xaddrs: words(one(m, 'XAddrs')),
    };
    if (Number.isFinite(mv) && str(one(m, 'MetadataVersion')) !== '') out.metadataVersion = mv;
    return out;
  });
}

/** 127.0.0.0/8 or ::1 (also as IPv4-mapped IPv6). */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
