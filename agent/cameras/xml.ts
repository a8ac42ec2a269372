/**
 * Reading SOAP responses from cameras. Cameras choose namespace prefixes freely (`tt:`,
 * `onvif:`, `ns2:`, a default namespace), so elements are matched on local names
 * (fast-xml-parser's removeNSPrefix); ONVIF names are unique enough within each response.
 *
 * Everything a camera sends is untrusted: the XML is validated before parsing, a document type
 * declaration is refused (SOAP 1.2 Part 1 §5 forbids it, and it is the door to entity-expansion
 * attacks), and the accessors below never throw on a missing element; callers decide what is
 * required and say so in their error.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A parsed element: a string for a leaf, otherwise an object (attributes under '@_'). */
export type XmlNode = string | { [key: string]: XmlNode | XmlNode[] | undefined };

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
});

export class MalformedXmlError extends Error {
  constructor(why: string) {
    super(`malformed XML: ${why}`);
    this.name = 'MalformedXmlError';
  }
}

/** Parses a whole document; throws MalformedXmlError for anything that is not well-formed XML. */
export function parseXml(xml: string): Record<string, XmlNode> {
  if (/<!DOCTYPE/i.test(xml)) throw new MalformedXmlError('document type declarations are not allowed');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new MalformedXmlError(`${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(xml) as unknown;
  if (!doc || typeof doc !== 'object') throw new MalformedXmlError('no root element');
  return doc as Record<string, XmlNode>;
}

/** Every child called `name` (repeated elements parse as arrays, single ones do not). */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const v = node[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Follows a path of local names; returns the text content of the last one, if any. */
export function text(node: XmlNode | undefined, ...path: string[]): string | undefined {
  let cur = node;
  for (const p of path) cur = child(cur, p);
  if (cur === undefined) return undefined;
  if (typeof cur === 'string') return cur;
  const t = cur['#text'];
  if (typeof t === 'string') return t;
  return Object.keys(cur).every((k) => k.startsWith('@_')) ? '' : undefined;
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

export function num(node: XmlNode | undefined, ...path: string[]): number | undefined {
  const t = text(node, ...path);
  if (t === undefined || t.trim() === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Escapes text for an element or a double-quoted attribute. */
export function esc(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * xsd:duration (XML Schema Part 2 §3.2.6) to ms, for the days/hours/minutes/seconds forms
 * WS-BaseNotification uses; undefined for anything else.
 */
export function parseDuration(value: string): number | undefined {
  const v = value.trim();
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v);
  if (!m || v === 'P' || v.endsWith('T')) return undefined;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}
