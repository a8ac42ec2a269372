import { describe, expect, it } from 'vitest';
import {
  DEVICE_TYPES,
  MATCH_BY_RFC3986,
  buildProbe,
  buildProbeMatches,
  isLoopback,
  parseProbe,
  parseProbeMatches,
  scopesMatch,
  typesMatch,
} from '../../simulator/onvif/wsd.js';

/** The exact Probe the onvif npm client (lib/discovery.js) multicasts. */
const ONVIF_CLIENT_PROBE =
  '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
  '<Header>' +
  '<wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:1234</wsa:MessageID>' +
  '<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>' +
  '<wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>' +
  '</Header><Body>' +
  '<Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
  '<Types>dn:NetworkVideoTransmitter</Types><Scopes />' +
  '</Probe></Body></Envelope>';

describe('WS-Discovery Probe parsing and matching (2005/04 §5)', () => {
  it('reads the onvif client’s probe and matches our device types', () => {
    const p = parseProbe(ONVIF_CLIENT_PROBE)!;
    expect(p.messageId).toBe('urn:uuid:1234');
    expect(p.types).toEqual([
      { ns: 'http://www.onvif.org/ver10/network/wsdl', local: 'NetworkVideoTransmitter' },
    ]);
    expect(p.scopes).toEqual([]);
    expect(typesMatch(p.types)).toBe(true);
  });

  it('resolves Types QNames by namespace, not by prefix or local name alone', () => {
    const probe = (types: string, decls: string) =>
      parseProbe(
        `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ${decls}>` +
          `<s:Header><a:MessageID>urn:uuid:x</a:MessageID></s:Header><s:Body><w:Probe xmlns:w="http://schemas.xmlsoap.org/ws/2005/04/discovery">` +
          `<w:Types>${types}</w:Types></w:Probe></s:Body></s:Envelope>`,
      )!;
    const onvifNs =
      'xmlns:nvt="http://www.onvif.org/ver10/network/wsdl" xmlns:dev="http://www.onvif.org/ver10/device/wsdl"';
    expect(typesMatch(probe('nvt:NetworkVideoTransmitter dev:Device', onvifNs).types)).toBe(true);
    // DPWS's Device is another type with the same local name.
    expect(
      typesMatch(probe('wsdp:Device', 'xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"').types),
    ).toBe(false);
    // Undeclared dn: is read as the ONVIF namespace (some tools forget the declaration).
    expect(typesMatch(probe('dn:NetworkVideoTransmitter', '').types)).toBe(true);
    expect(typesMatch(probe('zz:NetworkVideoTransmitter', '').types)).toBe(false);
    expect(typesMatch([])).toBe(true);
  });

  it('ignores what is not a Probe', () => {
    expect(parseProbe('garbage')).toBeUndefined();
    expect(parseProbe(ONVIF_CLIENT_PROBE.replace(/<wsa:MessageID.*?<\/wsa:MessageID>/, ''))).toBeUndefined();
    expect(parseProbe(ONVIF_CLIENT_PROBE.replace(/Probe/g, 'Resolve'))).toBeUndefined();
  });

  it('matches scopes by RFC 3986 segment prefix or strcmp0', () => {
    const mine = ['onvif://www.onvif.org/name/Front%20Door', 'onvif://www.onvif.org/Profile/Streaming'];
    expect(scopesMatch([], mine)).toBe(true);
    expect(scopesMatch(['onvif://www.onvif.org/name'], mine, MATCH_BY_RFC3986)).toBe(true);
    expect(scopesMatch(['onvif://www.onvif.org/name/Front'], mine)).toBe(false);
    expect(scopesMatch(['onvif://www.onvif.org/Profile/Streaming/'], mine)).toBe(true);
    const strcmp = 'http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0';
    expect(scopesMatch(['onvif://www.onvif.org/name'], mine, strcmp)).toBe(false);
    expect(scopesMatch([mine[0]!], mine, strcmp)).toBe(true);
    expect(scopesMatch(['x'], mine, 'urn:unknown-rule')).toBe(false);
  });
});

describe('ProbeMatches', () => {
  it('round-trips what the responder sends, related to the probe', () => {
    const xml = buildProbeMatches({
      relatesTo: 'urn:uuid:probe-1',
      address: 'urn:uuid:dev-1',
      xaddrs: ['http://127.0.0.1:8080/onvif/device_service'],
      scopes: ['onvif://www.onvif.org/name/a&b'],
      metadataVersion: 1,
      instanceId: 7,
      messageNumber: 1,
    });
    expect(parseProbeMatches(xml)).toEqual([
      {
        relatesTo: 'urn:uuid:probe-1',
        address: 'urn:uuid:dev-1',
        types: ['dn:NetworkVideoTransmitter', 'tds:Device'],
        scopes: ['onvif://www.onvif.org/name/a&b'],
        xaddrs: ['http://127.0.0.1:8080/onvif/device_service'],
        metadataVersion: 1,
      },
    ]);
    expect(parseProbeMatches(buildProbe('urn:uuid:p'))).toBeUndefined();
    expect(parseProbe(buildProbe('urn:uuid:p'))?.types).toEqual([DEVICE_TYPES[0]]);
  });

  it('knows loopback sources', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1'])
      expect(isLoopback(a), a).toBe(false);
  });
});
