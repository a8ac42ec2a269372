/**
 * Media service (ONVIF Media 1.0, ver10/media/wsdl, which Profile S uses):
 * two fixed profiles, `main` and `sub`, on one video source, with H.264
 * encoder settings that describe the RTSP streams the simulator serves.
 */
import { EVENT_TOKENS } from './motion.js';
import { esc, faults, text, type SoapRequest } from './soap.js';
import type { OnvifCamera, OnvifStream } from './types.js';

export type ProfileToken = 'main' | 'sub';
export const PROFILE_TOKENS: readonly ProfileToken[] = ['main', 'sub'];

export interface MediaContext {
  camera: OnvifCamera;
  /** Absolute URL the snapshot is served at. */
  snapshotUrl: () => string;
}

export const MEDIA_CAPABILITIES_XML =
  '<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">' +
  '<trt:ProfileCapabilities MaximumNumberOfProfiles="2"/>' +
  '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" NonAggregateControl="false" NoRTSPStreaming="false"/>' +
  '</trt:Capabilities>';

function videoSource(cam: OnvifCamera, tag: string): string {
  const m = cam.streams.main;
  return (
    `<${tag} token="${EVENT_TOKENS.videoSource}"><tt:Framerate>${m.fps}</tt:Framerate>` +
    `<tt:Resolution><tt:Width>${m.width}</tt:Width><tt:Height>${m.height}</tt:Height></tt:Resolution></${tag}>`
  );
}

/** tt:VideoSourceConfiguration: the whole sensor, shared by both profiles. */
function sourceConfig(cam: OnvifCamera, tag: string): string {
  const m = cam.streams.main;
  return (
    `<${tag} token="${EVENT_TOKENS.videoSourceConfiguration}"><tt:Name>VideoSourceConfig</tt:Name>` +
    `<tt:UseCount>2</tt:UseCount><tt:SourceToken>${EVENT_TOKENS.videoSource}</tt:SourceToken>` +
    `<tt:Bounds x="0" y="0" width="${m.width}" height="${m.height}"/></${tag}>`
  );
}

/** tt:VideoEncoderConfiguration, elements in schema order (onvif.xsd). */
function encoderConfig(token: ProfileToken, s: OnvifStream, tag: string): string {
  return (
    `<${tag} token="enc-${token}"><tt:Name>${token}</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>H264</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${s.width}</tt:Width><tt:Height>${s.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>5</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${s.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
    `<tt:BitrateLimit>${s.kbps}</tt:BitrateLimit></tt:RateControl>` +
    `<tt:H264><tt:GovLength>${s.gop ?? s.fps}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>` +
    `<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
    `<tt:SessionTimeout>PT60S</tt:SessionTimeout></${tag}>`
  );
}

/** The motion rule the events name as their Source (VideoAnalyticsConfigurationToken, Rule). */
const ANALYTICS_XML =
  `<tt:VideoAnalyticsConfiguration token="${EVENT_TOKENS.videoAnalyticsConfiguration}">` +
  '<tt:Name>Analytics</tt:Name><tt:UseCount>2</tt:UseCount><tt:AnalyticsEngineConfiguration/>' +
  `<tt:RuleEngineConfiguration><tt:Rule Name="${EVENT_TOKENS.rule}" Type="tt:CellMotionDetector">` +
  '<tt:Parameters/></tt:Rule></tt:RuleEngineConfiguration></tt:VideoAnalyticsConfiguration>';

function profile(cam: OnvifCamera, token: ProfileToken, tag: string): string {
  return (
    `<${tag} token="${token}" fixed="true"><tt:Name>${token}</tt:Name>` +
    sourceConfig(cam, 'tt:VideoSourceConfiguration') +
    encoderConfig(token, cam.streams[token], 'tt:VideoEncoderConfiguration') +
    ANALYTICS_XML +
    `</${tag}>`
  );
}

/** Reads and checks a ProfileToken (ter:InvalidArgVal/ter:NoProfile otherwise, as the Media service specifies). */
function profileToken(req: SoapRequest): ProfileToken {
  const t = text(req.body, 'ProfileToken');
  if (t === 'main' || t === 'sub') return t;
  throw faults.invalidArgVal('ter:NoProfile', `No such profile: ${t ?? '(none)'}`);
}

function encoderToken(req: SoapRequest): ProfileToken {
  const t = text(req.body, 'ConfigurationToken');
  if (t === 'enc-main' || t === 'enc-sub') return t.slice(4) as ProfileToken;
  throw faults.invalidArgVal('ter:NoConfig', `No such configuration: ${t ?? '(none)'}`);
}

function mediaUri(uri: string): string {
  return (
    `<trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
    `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`
  );
}

export function handleMedia(ctx: MediaContext, req: SoapRequest): string {
  const cam = ctx.camera;
  const r = (inner: string) => `<trt:${req.action}Response>${inner}</trt:${req.action}Response>`;
  switch (req.action) {
    case 'GetServiceCapabilities':
      return r(MEDIA_CAPABILITIES_XML);
    case 'GetProfiles':
      return r(PROFILE_TOKENS.map((t) => profile(cam, t, 'trt:Profiles')).join(''));
    case 'GetProfile':
      return r(profile(cam, profileToken(req), 'trt:Profile'));
    case 'GetVideoSources':
      return r(videoSource(cam, 'trt:VideoSources'));
    case 'GetVideoSourceConfigurations':
      return r(sourceConfig(cam, 'trt:Configurations'));
    case 'GetVideoSourceConfiguration': {
      const t = text(req.body, 'ConfigurationToken');
      if (t !== EVENT_TOKENS.videoSourceConfiguration) {
        throw faults.invalidArgVal('ter:NoConfig', `No such configuration: ${t ?? '(none)'}`);
      }
      return r(sourceConfig(cam, 'trt:Configuration'));
    }
    case 'GetVideoEncoderConfigurations':
      return r(PROFILE_TOKENS.map((t) => encoderConfig(t, cam.streams[t], 'trt:Configurations')).join(''));
    case 'GetVideoEncoderConfiguration': {
      const t = encoderToken(req);
      return r(encoderConfig(t, cam.streams[t], 'trt:Configuration'));
    }
    case 'GetAudioSources':
    case 'GetAudioEncoderConfigurations':
      return r(''); // no audio: an empty list, not a fault
    case 'GetStreamUri': {
      const token = profileToken(req);
      const stream = text(req.body, 'StreamSetup', 'Stream') ?? 'RTP-Unicast';
      const protocol = text(req.body, 'StreamSetup', 'Transport', 'Protocol') ?? 'RTSP';
      // The simulator's RTSP server does unicast RTSP only (RTP over UDP or interleaved TCP).
      if (stream !== 'RTP-Unicast' || !['RTSP', 'UDP', 'TCP'].includes(protocol)) {
        throw faults.invalidArgVal(
          'ter:InvalidStreamSetup',
          `Unsupported stream setup ${stream}/${protocol}`,
        );
      }
      return r(mediaUri(cam.streams[token].uri));
    }
    case 'GetSnapshotUri':
      profileToken(req);
      return r(mediaUri(ctx.snapshotUrl()));
    case 'SetSynchronizationPoint':
      // Streams carry a keyframe every second anyway (gop = fps), so there is nothing to force.
      profileToken(req);
      return r('');
    default:
      throw faults.actionNotSupported(req.action);
  }
}
