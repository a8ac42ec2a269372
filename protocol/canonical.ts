/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one exact byte sequence per JSON value,
 * so a signature made on one machine verifies on another whatever the key order or
 * spacing on the wire.
 *
 * - Structure (§3.2.1): no whitespace; arrays keep their order.
 * - Literals (§3.2.2.1): `null`, `true`, `false`.
 * - Strings (§3.2.2.2): ECMAScript JSON.stringify escaping: `\b \t \n \f \r \" \\`, other
 *   C0 controls as lowercase `\u00xx`, everything else (including DEL and non-ASCII)
 *   literally.
 * - Numbers (§3.2.2.3): ECMAScript Number::toString (ECMA-262 §6.1.6.1.20), which is what
 *   String(n) does in every conforming engine; -0 becomes `0`; NaN and ±Infinity are errors.
 * - Properties (§3.2.3): sorted by their names as arrays of UTF-16 code units, which is
 *   exactly Array.prototype.sort's default comparison.
 * - Input is I-JSON (RFC 7493): lone surrogates are errors (§3.2.2.2 and RFC 7493 §2.1).
 *
 * Mirrors JSON.stringify for object properties whose value is `undefined` (omitted), so a
 * value that survives a JSON round trip canonicalizes the same before and after it; every
 * other non-JSON value (undefined in arrays, functions, symbols, BigInt, Dates, Maps,
 * class instances, cycles) is an error rather than a silent change of what is signed.
 */

export class CanonicalizationError extends TypeError {
  override name = 'CanonicalizationError';
}

// With the `u` flag a well-formed surrogate pair is one code point, so \p{Cs} matches
// only lone (ill-formed) surrogates.
const LONE_SURROGATE = /\p{Cs}/u;

/** Deeper than any payload we define; stops cycles and hostile nesting. */
const MAX_DEPTH = 64;

function serializeString(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalizationError(`${path}: lone surrogate (not I-JSON)`);
  // ES2019+ JSON.stringify on a well-formed string is exactly RFC 8785 §3.2.2.2.
  return JSON.stringify(s);
}

function serializeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new CanonicalizationError(`${path}: ${n} is not a JSON number`);
  // Number::toString; `String(-0)` is already "0" as §3.2.2.3 requires.
  return String(n);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function serialize(value: unknown, path: string, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalizationError(`${path}: nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'number':
      return serializeNumber(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new CanonicalizationError(`${path}[${i}]: undefined in an array`);
          items.push(serialize(item, `${path}[${i}]`, depth + 1));
        }
        return `[${items.join(',')}]`;
      }
      if (!isPlainObject(value)) {
        throw new CanonicalizationError(`${path}: ${value.constructor?.name ?? 'object'} is not plain JSON`);
      }
      const keys = Object.keys(value).sort();
      const members: string[] = [];
      for (const key of keys) {
        const member = value[key];
        if (member === undefined) continue;
        members.push(`${serializeString(key, path)}:${serialize(member, `${path}.${key}`, depth + 1)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new CanonicalizationError(`${path}: ${typeof value} is not a JSON value`);
  }
}

/** The RFC 8785 canonical JSON text of `value`. Throws CanonicalizationError on non-JSON. */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', 0);
}

/** UTF-8 bytes of the canonical text: what gets hashed and signed. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
