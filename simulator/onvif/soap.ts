/**
 * SOAP 1.2 plumbing for the simulated ONVIF device: namespaces, envelope and
 * fault builders, request parsing, and the xsd:duration / xsd:dateTime helpers
 * that the event service needs.
 *
 * Requests are parsed on local names only (fast-xml-parser removeNSPrefix):
 * clients pick namespace prefixes freely (`s:`, `SOAP-ENV:`, `env:`, a default
 * namespace...), and the services are routed by URL path, so the local name of
 * the first Body child is enough to pick the action.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Namespaces used in responses, with the prefixes the ONVIF Core namespace table uses. */
export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  tns1: 'http://www.onvif.org/ver10/topics',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wsntw: 'http://docs.oasis-open.org/wsn/bw-2',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsrfr: 'http://docs.oasis-open.org/wsrf/r-2',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

const DECLS = Object.entries(NS)
  .map(([p, uri]) => `xmlns:${p}="${uri}"`)
  .join(' ');

export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

/** Escapes text and attribute content. */
export function esc(value: string | number | boolean): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A SOAP 1.2 envelope declaring every prefix the services use. */
export function envelope(body: string, header = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${DECLS}>` +
    (header ? `<env:Header>${header}</env:Header>` : '') +
    `<env:Body>${body}</env:Body></env:Envelope>`
  );
}

export interface FaultSpec {
  /** SOAP 1.2 §5.4.6: Sender = the request was wrong, Receiver = the device failed. */
  code: 'Sender' | 'Receiver';
  /** Nested subcodes, outermost first, as prefixed QNames (ter:, wsrf-r...). */
  subcodes: string[];
  reason: string;
  /** Extra XML placed inside env:Detail. */
  detail?: string;
}

/**
 * A fault and the HTTP status that carries it. The SOAP 1.2 HTTP binding (Part 2 §7) maps
 * Sender faults to 400 and Receiver faults to 500.
 */
export class SoapFault extends Error {
  constructor(
    readonly spec: FaultSpec,
    readonly httpStatus = spec.code === 'Sender' ? 400 : 500,
  ) {
    super(spec.reason);
    this.name = 'SoapFault';
  }

  toXml(): string {
    return buildFault(this.spec);
  }
}

export function buildFault(f: FaultSpec): string {
  let sub = '';
  for (const code of [...f.subcodes].reverse()) {
    sub = `<env:Subcode><env:Value>${esc(code)}</env:Value>${sub}</env:Subcode>`;
  }
  const detail = f.detail ? `<env:Detail>${f.detail}</env:Detail>` : '';
  return envelope(
    `<env:Fault><env:Code><env:Value>env:${f.code}</env:Value>${sub}</env:Code>` +
      `<env:Reason><env:Text xml:lang="en">${esc(f.reason)}</env:Text></env:Reason>${detail}</env:Fault>`,
  );
}

/** The ONVIF Core generic faults (error handling chapter) that the services raise. */
export const faults = {
  notAuthorized: () =>
    new SoapFault({ code: 'Sender', subcodes: ['ter:NotAuthorized'], reason: 'Sender not authorized' }),
  actionNotSupported: (action: string) =>
    new SoapFault({
      code: 'Receiver',
      subcodes: ['ter:ActionNotSupported'],
      reason: `Action not supported: ${action}`,
    }),
  wellFormed: (why: string) =>
    new SoapFault({ code: 'Sender', subcodes: ['ter:WellFormed'], reason: `XML not well-formed: ${why}` }),
  invalidArgVal: (sub: string, reason: string) =>
    new SoapFault({ code: 'Sender', subcodes: ['ter:InvalidArgVal', sub], reason }),
  actionFailed: (reason: string) => new SoapFault({ code: 'Receiver', subcodes: ['ter:Action'], reason }),
};

/** A parsed element: strings for leaves, objects (attributes under '@_') otherwise. */
export type XmlNode = string | { [key: string]: XmlNode | XmlNode[] | undefined };

export interface SoapRequest {
  /** Local name of the first Body child, e.g. "GetProfiles". */
  action: string;
  /** That element's content. */
  body: XmlNode;
  header: XmlNode;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the five predefined XML entities can occur: DTDs are refused below.
  processEntities: true,
});

/** Parses a SOAP request; malformed XML or a missing Body throws ter:WellFormed. */
export function parseSoapRequest(xml: string): SoapRequest {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw faults.wellFormed(valid.err.msg);
  // SOAP 1.2 Part 1 §5: a SOAP message MUST NOT contain a document type declaration
  // (which also rules out entity-expansion tricks).
  if (/<!DOCTYPE/i.test(xml)) throw faults.wellFormed('document type declarations are not allowed in SOAP');
  const doc = parser.parse(xml) as Record<string, XmlNode>;
  const env = doc['Envelope'];
  if (!env || typeof env === 'string') throw faults.wellFormed('no SOAP Envelope');
  const body = child(env, 'Body');
  if (body === undefined) throw faults.wellFormed('no SOAP Body');
  const first = typeof body === 'string' ? undefined : Object.keys(body).find((k) => !k.startsWith('@_'));
  if (!first || typeof body === 'string') throw faults.wellFormed('empty SOAP Body');
  return { action: first, body: child(body, first) ?? '', header: child(env, 'Header') ?? '' };
}

/** The first child called `name` (repeated elements parse as arrays). */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Follows a path of local names and returns the text content, if any. */
export function text(node: XmlNode | undefined, ...path: string[]): string | undefined {
  let cur = node;
  for (const p of path) cur = child(cur, p);
  if (cur === undefined) return undefined;
  if (typeof cur === 'string') return cur;
  const t = cur['#text'];
  if (typeof t === 'string') return t;
  // An element with only attributes is empty text; one with child elements has none.
  return Object.keys(cur).every((k) => k.startsWith('@_')) ? '' : undefined;
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

/**
 * xsd:duration (XML Schema Part 2 §3.2.6) to milliseconds: PT60S, PT1M, PT1H2M3.5S, P1D.
 * Years and months have no fixed length and are refused, as is a negative duration.
 */
export function parseDuration(value: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
  if (!m || value.trim() === 'P' || value.trim().endsWith('T'))
    throw new Error(`not an xsd:duration: ${value}`);
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

/** Formats a millisecond count as xsd:duration (whole seconds, e.g. PT60S). */
export function formatDuration(ms: number): string {
  return `PT${Math.round(ms / 1000)}S`;
}

/**
 * WS-BaseNotification (§4.1/§6.1) termination times are "xsd:duration or
 * xsd:dateTime"; durations count from the device's current time.
 */
export function parseTerminationTime(value: string, deviceNowMs: number): number {
  const v = value.trim();
  if (v.startsWith('P')) return deviceNowMs + parseDuration(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`not an xsd:duration or xsd:dateTime: ${value}`);
  return t;
}

/** xsd:dateTime in UTC with milliseconds, the form the onvif client parses as a Date. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
