import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  SoapFault,
  buildFault,
  envelope,
  faults,
  parseDuration,
  parseSoapRequest,
  parseTerminationTime,
  text,
} from '../../simulator/onvif/soap.js';

const ENV = 'http://www.w3.org/2003/05/soap-envelope';

describe('parseSoapRequest', () => {
  it('finds the action and arguments under any prefixes', () => {
    const variants = [
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}" xmlns:ns9="http://www.onvif.org/ver10/media/wsdl" xmlns:q="http://www.onvif.org/ver10/schema">` +
        `<SOAP-ENV:Body><ns9:GetStreamUri><ns9:StreamSetup><q:Stream>RTP-Unicast</q:Stream><q:Transport><q:Protocol>RTSP</q:Protocol></q:Transport></ns9:StreamSetup>` +
        `<ns9:ProfileToken>sub</ns9:ProfileToken></ns9:GetStreamUri></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
      `<?xml version="1.0"?>\n<Envelope xmlns="${ENV}"><Header/><Body>\n  <GetStreamUri xmlns="http://www.onvif.org/ver10/media/wsdl">` +
        `<StreamSetup><Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream><Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>RTSP</Protocol></Transport></StreamSetup>` +
        `<ProfileToken> sub </ProfileToken></GetStreamUri></Body></Envelope>`,
      `<e:Envelope xmlns:e="${ENV}"><e:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><m:GetStreamUri xmlns:m="http://www.onvif.org/ver10/media/wsdl">` +
        `<m:StreamSetup><s:Stream xmlns:s="http://www.onvif.org/ver10/schema">RTP-Unicast</s:Stream><s:Transport xmlns:s="http://www.onvif.org/ver10/schema"><s:Protocol>RTSP</s:Protocol></s:Transport></m:StreamSetup>` +
        `<m:ProfileToken>sub</m:ProfileToken></m:GetStreamUri></e:Body></e:Envelope>`,
    ];
    for (const xml of variants) {
      const req = parseSoapRequest(xml);
      expect(req.action).toBe('GetStreamUri');
      expect(text(req.body, 'ProfileToken')).toBe('sub');
      expect(text(req.body, 'StreamSetup', 'Transport', 'Protocol')).toBe('RTSP');
    }
  });

  it('handles an empty action element and attributes on the Body', () => {
    const req = parseSoapRequest(
      `<s:Envelope xmlns:s="${ENV}"><s:Body xmlns:xsd="http://www.w3.org/2001/XMLSchema"><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`,
    );
    expect(req.action).toBe('GetSystemDateAndTime');
  });

  it('rejects malformed XML, a missing Body and DTDs with ter:WellFormed', () => {
    const bad = [
      `<s:Envelope xmlns:s="${ENV}"><s:Body><GetProfiles></s:Body></s:Envelope>`,
      'not xml at all',
      `<s:Envelope xmlns:s="${ENV}"><s:Header/></s:Envelope>`,
      `<s:Envelope xmlns:s="${ENV}"><s:Body></s:Body></s:Envelope>`,
      `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="${ENV}"><s:Body><X>&a;</X></s:Body></s:Envelope>`,
    ];
    for (const xml of bad) {
      let caught: unknown;
      try {
        parseSoapRequest(xml);
      } catch (err) {
        caught = err;
      }
      expect(caught, xml).toBeInstanceOf(SoapFault);
      expect((caught as SoapFault).spec.subcodes).toEqual(['ter:WellFormed']);
      expect((caught as SoapFault).httpStatus).toBe(400);
    }
  });
});

describe('SOAP faults', () => {
  const parse = (xml: string) =>
    new XMLParser({ removeNSPrefix: true, ignoreAttributes: false }).parse(xml) as {
      Envelope: {
        Body: {
          Fault: {
            Code: { Value: string; Subcode: { Value: string; Subcode: { Value: string } } };
            Reason: { Text: { '#text': string } };
          };
        };
      };
    };

  it('nests subcodes in order and maps Sender to 400, Receiver to 500', () => {
    const f = faults.invalidArgVal('ter:NoProfile', 'No such profile: x');
    expect(f.httpStatus).toBe(400);
    const fault = parse(f.toXml()).Envelope.Body.Fault;
    expect(fault.Code.Value).toBe('env:Sender');
    expect(fault.Code.Subcode.Value).toBe('ter:InvalidArgVal');
    expect(fault.Code.Subcode.Subcode.Value).toBe('ter:NoProfile');
    expect(fault.Reason.Text['#text']).toBe('No such profile: x');
    expect(faults.actionNotSupported('Foo').httpStatus).toBe(500);
    expect(parse(faults.actionNotSupported('Foo').toXml()).Envelope.Body.Fault.Code.Subcode.Value).toBe(
      'ter:ActionNotSupported',
    );
  });

  it('declares the prefixes it uses and escapes the reason', () => {
    const xml = buildFault({ code: 'Sender', subcodes: ['ter:NotAuthorized'], reason: 'a <b> & "c"' });
    expect(xml).toContain('xmlns:ter="http://www.onvif.org/ver10/error"');
    expect(xml).toContain(`xmlns:env="${ENV}"`);
    expect(xml).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(parse(xml).Envelope.Body.Fault.Reason.Text['#text']).toBe('a <b> & "c"');
    expect(envelope('<x/>')).toContain('<env:Body><x/></env:Body>');
  });
});

describe('xsd:duration and termination times', () => {
  it('parses the durations ONVIF clients send', () => {
    expect(parseDuration('PT60S')).toBe(60_000);
    expect(parseDuration('PT1M')).toBe(60_000);
    expect(parseDuration('PT1H2M3.5S')).toBe(3_723_500);
    expect(parseDuration('P1D')).toBe(86_400_000);
    expect(parseDuration('PT0S')).toBe(0);
    for (const bad of ['', 'P', 'PT', '60', 'P1Y', '-PT1S', 'PT1X'])
      expect(() => parseDuration(bad), bad).toThrow();
  });

  it('takes a duration from the device clock or an absolute dateTime', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseTerminationTime('PT2M', now)).toBe(now + 120_000);
    expect(parseTerminationTime('2030-01-01T00:05:00Z', now)).toBe(now + 300_000);
    expect(() => parseTerminationTime('tomorrow', now)).toThrow();
  });
});
