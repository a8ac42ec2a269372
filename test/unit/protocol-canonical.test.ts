import { describe, expect, it } from 'vitest';
import { CanonicalizationError, canonicalize } from '../../protocol/canonical.js';

describe('RFC 8785 JSON canonicalization', () => {
  it('matches the RFC 8785 §3.2.2 sample (numbers, escapes, literals)', () => {
    // The input text of the RFC's sample, parsed as any receiver would parse it.
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });

  it('sorts properties by UTF-16 code units (RFC 8785 §3.2.3 sample)', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // Expected order from §3.2.3: \r, 1, U+0080, U+00F6, U+20AC, U+1F600, U+FB33.
    const expected =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
      '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
      '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    // The emoji (surrogates D83D DE00) precedes U+FB33 by UTF-16 code unit although it
    // follows it by code point: the rule §3.2.3 asks for.
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });

  it('serializes numbers as ECMAScript does (RFC 8785 Appendix B)', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // -0
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [hex, text] of cases) {
      expect(canonicalize(Buffer.from(hex, 'hex').readDoubleBE(0)), hex).toBe(text);
    }
  });

  it('rejects NaN and infinities (RFC 8785 Appendix B: "error")', () => {
    for (const n of [Number.NaN, Infinity, -Infinity]) {
      expect(() => canonicalize({ n })).toThrow(CanonicalizationError);
    }
  });

  it('escapes exactly the characters ECMAScript JSON.stringify escapes', () => {
    expect(canonicalize('\b\t\n\f\r"\\\u0001\u001f\u007f/é')).toBe(
      '"\\b\\t\\n\\f\\r\\"\\\\\\u0001\\u001f\u007f/é"',
    );
  });

  it('rejects lone surrogates (I-JSON, RFC 7493 §2.1) but keeps pairs', () => {
    expect(() => canonicalize('\ud83d')).toThrow(CanonicalizationError);
    expect(() => canonicalize({ ['\ude00']: 1 })).toThrow(CanonicalizationError);
    expect(canonicalize('\ud83d\ude00')).toBe('"😀"');
  });

  it('has no whitespace, keeps array order, sorts nested objects', () => {
    expect(canonicalize({ b: [3, 1, { z: 1, a: null }], a: { d: true, c: 'x' } })).toBe(
      '{"a":{"c":"x","d":true},"b":[3,1,{"a":null,"z":1}]}',
    );
  });

  it('omits undefined properties like JSON.stringify, so a JSON round trip canonicalizes the same', () => {
    const value = { a: 1, skip: undefined, nested: { b: undefined, c: 2 } };
    expect(canonicalize(value)).toBe('{"a":1,"nested":{"c":2}}');
    expect(canonicalize(JSON.parse(JSON.stringify(value)))).toBe(canonicalize(value));
  });

  it('refuses values that are not JSON rather than changing them', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [
      [undefined],
      () => 1,
      Symbol('s'),
      10n,
      new Date(0),
      new Map(),
      cyclic,
      { u: [1, undefined] },
    ]) {
      expect(() => canonicalize(bad)).toThrow(CanonicalizationError);
    }
  });

  it('accepts objects with a null prototype (as produced by some parsers)', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = 1;
    o.a = 2;
    expect(canonicalize(o)).toBe('{"a":2,"b":1}');
  });
});
