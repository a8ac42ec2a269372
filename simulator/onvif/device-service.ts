/**
 * Device management service (ONVIF Core 8, ver10/device/wsdl): identity,
 * clock, capabilities and the service list that clients read first.
 */
import { createHash } from 'node:crypto';
import { EVENT_CAPABILITIES_XML } from './events.js';
import { MEDIA_CAPABILITIES_XML } from './media-service.js';
import { NS, SoapFault, esc, faults, text, type SoapRequest } from './soap.js';
import type { OnvifCamera } from './types.js';

export const FIRMWARE_VERSION = 'camconnect-sim-1.0';

export interface DeviceContext {
  camera: OnvifCamera;
  /** e.g. http://127.0.0.1:PORT */
  baseUrl: () => string;
  /** The device clock, ms (real time plus the configured offset). */
  deviceNow: () => number;
  scopes: () => string[];
  uuid: string;
}

export const PATHS = {
  device: '/onvif/device_service',
  media: '/onvif/media_service',
  events: '/onvif/events_service',
  snapshot: '/onvif/snapshot.jpg',
} as const;

/** RFC 4122 namespace for the simulator's device UUIDs (a fixed random UUID). */
const UUID_NAMESPACE = Buffer.from('6c1e1d0a5b9f4c2e8a3d7f4e2b9c1a77', 'hex');

/** A name-based (version 5, RFC 4122 §4.3) urn:uuid, stable for a camera serial. */
export function stableUuid(serial: string): string {
  const h = createHash('sha1').update(UUID_NAMESPACE).update(serial, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** ONVIF Core 7.3 discovery scopes (type, profile, name, hardware, location). */
export function defaultScopes(cam: OnvifCamera): string[] {
  const seg = (s: string) => encodeURIComponent(s);
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/type/Network_Video_Transmitter',
    'onvif://www.onvif.org/Profile/Streaming',
    `onvif://www.onvif.org/name/${seg(cam.name)}`,
    `onvif://www.onvif.org/hardware/${seg(cam.model ?? 'SimCam')}`,
    'onvif://www.onvif.org/location/simulator',
  ];
}

/** tt:DateTime as GetSystemDateAndTime (Core 8) carries it: broken-down UTC fields, not an xsd:dateTime. */
function dateTime(tag: string, ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:${tag}><tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute>` +
    `<tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year>` +
    `<tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date></tt:${tag}>`
  );
}

const DEVICE_SERVICE_CAPABILITIES_XML =
  '<tds:Capabilities>' +
  '<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false" HostnameFromDHCP="false" NTP="0"/>' +
  '<tds:Security TLS1.0="false" TLS1.1="false" TLS1.2="false" OnboardKeyGeneration="false" AccessPolicyConfig="false" ' +
  'DefaultAccessPolicy="false" Dot1X="false" RemoteUserHandling="false" X.509Token="false" SAMLToken="false" ' +
  'KerberosToken="false" UsernameToken="true" HttpDigest="true" RELToken="false"/>' +
  '<tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" ' +
  'SystemLogging="false" FirmwareUpgrade="false" HttpFirmwareUpgrade="false" HttpSystemBackup="false" ' +
  'HttpSystemLogging="false" HttpSupportInformation="false"/>' +
  '</tds:Capabilities>';

function capabilities(ctx: DeviceContext, category: string): string {
  const base = ctx.baseUrl();
  const device =
    `<tt:Device><tt:XAddr>${base}${PATHS.device}</tt:XAddr>` +
    '<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>' +
    '<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>' +
    '<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye>' +
    '<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>' +
    '<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>' +
    '<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>' +
    '<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration>' +
    '<tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken>' +
    '<tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>';
  const events =
    `<tt:Events><tt:XAddr>${base}${PATHS.events}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
    '<tt:WSPullPointSupport>true</tt:WSPullPointSupport>' +
    '<tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>';
  const media =
    `<tt:Media><tt:XAddr>${base}${PATHS.media}</tt:XAddr><tt:StreamingCapabilities>` +
    '<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>' +
    '</tt:StreamingCapabilities></tt:Media>';
  const parts: Record<string, string> = { Device: device, Events: events, Media: media };
  if (category === 'All') return device + events + media;
  const one = parts[category];
  if (one) return one;
  // GetCapabilities (Core 8): a category the device lacks is ter:ActionNotSupported/ter:NoSuchService.
  throw new SoapFault({
    code: 'Receiver',
    subcodes: ['ter:ActionNotSupported', 'ter:NoSuchService'],
    reason: `No ${category} service on this device`,
  });
}

function services(ctx: DeviceContext, withCapabilities: boolean): string {
  const base = ctx.baseUrl();
  const list: [string, string, string][] = [
    [NS.tds, PATHS.device, DEVICE_SERVICE_CAPABILITIES_XML],
    [NS.trt, PATHS.media, MEDIA_CAPABILITIES_XML],
    [NS.tev, PATHS.events, EVENT_CAPABILITIES_XML],
  ];
  return list
    .map(
      ([ns, path, caps]) =>
        `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${base}${path}</tds:XAddr>` +
        (withCapabilities ? `<tds:Capabilities>${caps}</tds:Capabilities>` : '') +
        '<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>',
    )
    .join('');
}

export function handleDevice(ctx: DeviceContext, req: SoapRequest): string {
  const cam = ctx.camera;
  const r = (inner: string) => `<tds:${req.action}Response>${inner}</tds:${req.action}Response>`;
  switch (req.action) {
    case 'GetSystemDateAndTime': {
      // Manual time, UTC: clients learn the device clock from UTCDateTime before they build a
      // UsernameToken (Core 5.12), which is why this one call needs no authentication.
      const now = ctx.deviceNow();
      return r(
        '<tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>' +
          `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>${dateTime('UTCDateTime', now)}${dateTime('LocalDateTime', now)}` +
          '</tds:SystemDateAndTime>',
      );
    }
    case 'GetDeviceInformation':
      return r(
        `<tds:Manufacturer>${esc(cam.manufacturer ?? 'CamConnect')}</tds:Manufacturer>` +
          `<tds:Model>${esc(cam.model ?? 'SimCam')}</tds:Model><tds:FirmwareVersion>${FIRMWARE_VERSION}</tds:FirmwareVersion>` +
          `<tds:SerialNumber>${esc(cam.serial)}</tds:SerialNumber><tds:HardwareId>${esc(cam.hardwareId ?? cam.id)}</tds:HardwareId>`,
      );
    case 'GetCapabilities': {
      const cats = text(req.body, 'Category') ?? 'All';
      return r(`<tds:Capabilities>${capabilities(ctx, cats)}</tds:Capabilities>`);
    }
    case 'GetServices':
      return r(services(ctx, (text(req.body, 'IncludeCapability') ?? 'false').trim() === 'true'));
    case 'GetServiceCapabilities':
      return r(DEVICE_SERVICE_CAPABILITIES_XML);
    case 'GetScopes':
      return r(
        ctx
          .scopes()
          .map(
            (s) =>
              `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${esc(s)}</tt:ScopeItem></tds:Scopes>`,
          )
          .join(''),
      );
    case 'GetHostname':
      return r(
        `<tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${esc(cam.id)}</tt:Name></tds:HostnameInformation>`,
      );
    case 'GetEndpointReference':
      return r(`<tds:GUID>${esc(ctx.uuid)}</tds:GUID>`);
    default:
      throw faults.actionNotSupported(req.action);
  }
}
