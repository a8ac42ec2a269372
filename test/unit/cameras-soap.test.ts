/**
 * The agent's ONVIF client pieces checked against the simulator's server-side checks (an
 * independent implementation of the same specs): UsernameToken digests, HTTP Digest, XML
 * hygiene and the motion messages of the event service.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CameraError, hintFor } from '../../agent/cameras/errors.js';
import { parseMotionMessage } from '../../agent/cameras/onvif-events.js';
import { digestAuthorization, passwordDigest } from '../../agent/cameras/soap.js';
import { MalformedXmlError, child, parseDuration, parseXml } from '../../agent/cameras/xml.js';
import { HttpAuthenticator } from '../../simulator/onvif/http-auth.js';
import { motionMessages } from '../../simulator/onvif/motion.js';
import { UsernameTokenVerifier } from '../../simulator/onvif/wsse.js';

const account = { username: 'admin', password: 'pässword & <more>' };

describe('WS-UsernameToken', () => {
  it('produces a PasswordDigest the device accepts (UTF-8 password, UsernameToken Profile 1.0 §3.1)', () => {
    const now = Date.now();
    const verifier = new UsernameTokenVerifier(account, () => now);
    const nonce = randomBytes(16);
    const created = new Date(now).toISOString();
    const token = {
      username: 'admin',
      password: passwordDigest(nonce, created, account.password),
      type: 'digest' as const,
      nonce: nonce.toString('base64'),
      created,
    };
    expect(verifier.verify(token)).toEqual({ ok: true, username: 'admin' });
    expect(verifier.verify({ ...token, password: passwordDigest(nonce, created, 'wrong') }).ok).toBe(false);
  });
});

describe('HTTP Digest', () => {
  it('answers the strongest challenge so that the device accepts it', () => {
    const auth = new HttpAuthenticator(account, 'CamConnect-cam1');
    const header = auth.challenges().join(', ');
    const url = 'http://127.0.0.1:8000/onvif/device_service';
    const a = digestAuthorization(header, account, url)!;
    expect(a).toMatch(/^Digest .*algorithm=SHA-256/);
    expect(auth.verify(a, 'POST', '/onvif/device_service')).toMatchObject({ ok: true });
    const md5Only = auth
      .challenges()
      .filter((c) => c.includes('MD5'))
      .join(', ');
    const b = digestAuthorization(md5Only, account, url)!;
    expect(b).toMatch(/algorithm=MD5/);
    expect(auth.verify(b, 'POST', '/onvif/device_service')).toMatchObject({ ok: true });
    expect(digestAuthorization('Basic realm="x"', account, url)).toBeUndefined();
  });
});

describe('XML from cameras', () => {
  it('refuses what is not well-formed, and document type declarations', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(MalformedXmlError);
    expect(() => parseXml('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')).toThrow(
      /document type/,
    );
    expect(child(parseXml('<s:Envelope xmlns:s="u"><s:Body/></s:Envelope>')['Envelope'], 'Body')).toBe('');
  });
  it('reads xsd:durations', () => {
    expect(parseDuration('PT60S')).toBe(60_000);
    expect(parseDuration('PT1M30.5S')).toBe(90_500);
    expect(parseDuration('P1DT1H')).toBe(90_000_000);
    expect(parseDuration('P1Y')).toBeUndefined();
  });
});

function notification(xml: string) {
  const doc = parseXml(`<r xmlns:wsnt="n" xmlns:tt="t" xmlns:tns1="x">${xml}</r>`);
  return parseMotionMessage(child(doc['r'], 'NotificationMessage')!);
}

describe('motion notifications', () => {
  it('reads both Profile S motion topics, with state, operation and camera time', () => {
    const at = Date.UTC(2025, 5, 1, 12, 0, 0);
    const [cell, alarm] = motionMessages(true, at, 'Changed').map((m) => notification(m.xml));
    expect(cell).toMatchObject({
      topic: 'RuleEngine/CellMotionDetector/Motion',
      isMotion: true,
      operation: 'Changed',
      cameraTimeMs: at,
    });
    expect(alarm).toMatchObject({ topic: 'VideoSource/MotionAlarm', isMotion: true });
    expect(cell!.key).not.toBe(alarm!.key);
    expect(notification(motionMessages(false, at, 'Initialized')[0]!.xml)).toMatchObject({
      isMotion: false,
      operation: 'Initialized',
    });
  });

  it('ignores other topics and motion messages without a boolean state', () => {
    const msg = (topic: string, data: string) =>
      `<wsnt:NotificationMessage><wsnt:Topic>${topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="2025-01-01T00:00:00Z">` +
      `<tt:Source/><tt:Data>${data}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
    expect(
      notification(
        msg('tns1:Device/Trigger/DigitalInput', '<tt:SimpleItem Name="LogicalState" Value="true"/>'),
      ),
    ).toBeUndefined();
    expect(
      notification(msg('tns1:VideoSource/MotionAlarm', '<tt:SimpleItem Name="State" Value="maybe"/>')),
    ).toBeUndefined();
    expect(
      notification(
        msg('tns1:RuleEngine/MyVendorDetector/Motion', '<tt:SimpleItem Name="IsMotion" Value="1"/>'),
      ),
    ).toMatchObject({
      isMotion: true,
    });
  });
});

describe('CameraError', () => {
  it('names the camera and the operation, and never carries a URL password', () => {
    const e = new CameraError(
      'Front door',
      'auth',
      'GetProfiles',
      'rejected at rtsp://admin:hunter2@10.0.0.5/x',
    );
    expect(e.message).toBe(
      'camera "Front door": GetProfiles failed: rejected at rtsp://admin:***@10.0.0.5/x',
    );
    expect(hintFor(e)).toMatch(/user name and password/);
    expect(hintFor(new Error('x'))).toBeUndefined();
  });
});
