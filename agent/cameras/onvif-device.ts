/**
 * The ONVIF device and media operations onboarding needs (Profile S, Media 1.0): the camera's
 * clock, identity, service addresses, media profiles, stream and snapshot URIs.
 */
import { CameraError } from './errors.js';
import { SoapClient, type Credentials } from './soap.js';
import { attr, child, children, num, text, type XmlNode } from './xml.js';

export const NS = {
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
} as const;

export interface DeviceInformation {
  manufacturer?: string;
  model?: string;
  firmwareVersion?: string;
  serialNumber?: string;
  hardwareId?: string;
}

export interface ServiceAddresses {
  device: string;
  media?: string;
  events?: string;
}

export interface MediaProfile {
  token: string;
  name?: string;
  /** H264, H265, JPEG, MPEG4 as the camera names it. */
  encoding?: string;
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
}

export interface ClockReading {
  /** Camera clock minus agent clock, ms. */
  offsetMs: number;
  /** What the reading proves: the offset lies in [lowMs, highMs]. */
  lowMs: number;
  highMs: number;
  /** The reading's uncertainty: half the round trip plus the camera's whole-second resolution. */
  uncertaintyMs: number;
}

export interface OnvifClientOptions {
  /** Name used in errors: the configured name, or host:port before the camera has one. */
  camera: string;
  /** The device service URL (from discovery, or http://HOST/onvif/device_service). */
  xaddr: string;
  credentials?: Credentials;
  timeoutMs?: number;
  now?: () => number;
}

export class OnvifDeviceClient {
  readonly soap: SoapClient;
  /** Updated by readClock(); used for the UsernameToken's Created and for event times. */
  clockOffsetMs = 0;
  private readonly now: () => number;

  constructor(readonly opts: OnvifClientOptions) {
    this.now = opts.now ?? Date.now;
    this.soap = new SoapClient({
      camera: opts.camera,
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
      now: this.now,
      clockOffsetMs: () => this.clockOffsetMs,
    });
  }

  private fail(operation: string, detail: string): CameraError {
    return new CameraError(this.opts.camera, 'malformed', operation, detail);
  }

  /**
   * GetSystemDateAndTime, unauthenticated as Core 5.9.4 allows, so the offset is known before
   * the first UsernameToken: a camera whose clock is off by more than its freshness window
   * (often 5 minutes) would otherwise reject a correct password.
   */
  async readClock(signal?: AbortSignal): Promise<ClockReading> {
    const sent = this.now();
    const r = await this.soap.call(this.opts.xaddr, NS.tds, 'GetSystemDateAndTime', '', {
      authenticate: false,
      signal,
    });
    const received = this.now();
    const utc = child(child(r, 'SystemDateAndTime'), 'UTCDateTime');
    const fields = [
      ...['Year', 'Month', 'Day'].map((f) => num(utc, 'Date', f)),
      ...['Hour', 'Minute', 'Second'].map((f) => num(utc, 'Time', f)),
    ];
    if (fields.some((v) => v === undefined))
      throw this.fail('GetSystemDateAndTime', 'no UTCDateTime in the answer');
    const [y, mo, d, h, mi, s] = fields as number[];
    // Whole seconds, read at some instant between sent and received: the camera's time then
    // lay in [t, t + 1 s). Estimate with the middles; keep the bounds for later refinement.
    const t = Date.UTC(y!, mo! - 1, d, h, mi, s);
    this.clockOffsetMs = Math.round(t + 500 - (sent + received) / 2);
    return {
      offsetMs: this.clockOffsetMs,
      lowMs: Math.floor(t - received),
      highMs: Math.ceil(t + 1000 - sent),
      uncertaintyMs: Math.round((received - sent) / 2 + 500),
    };
  }

  async deviceInformation(signal?: AbortSignal): Promise<DeviceInformation> {
    const r = await this.soap.call(this.opts.xaddr, NS.tds, 'GetDeviceInformation', '', { signal });
    const t = (name: string) => text(r, name) || undefined;
    return {
      manufacturer: t('Manufacturer'),
      model: t('Model'),
      firmwareVersion: t('FirmwareVersion'),
      serialNumber: t('SerialNumber'),
      hardwareId: t('HardwareId'),
    };
  }

  /** GetCapabilities (Profile S mandatory); GetServices when a newer device refuses it. */
  async services(signal?: AbortSignal): Promise<ServiceAddresses> {
    const out: ServiceAddresses = { device: this.opts.xaddr };
    try {
      const r = await this.soap.call(this.opts.xaddr, NS.tds, 'GetCapabilities', '<Category>All</Category>', {
        signal,
      });
      const caps = child(r, 'Capabilities');
      out.media = text(caps, 'Media', 'XAddr') || undefined;
      out.events = text(caps, 'Events', 'XAddr') || undefined;
    } catch (err) {
      if (!(err instanceof CameraError) || err.kind !== 'fault') throw err;
      const r = await this.soap.call(
        this.opts.xaddr,
        NS.tds,
        'GetServices',
        '<IncludeCapability>false</IncludeCapability>',
        {
          signal,
        },
      );
      for (const s of children(r, 'Service')) {
        const ns = text(s, 'Namespace');
        const x = text(s, 'XAddr') || undefined;
        if (ns === NS.trt) out.media = x;
        if (ns === NS.tev) out.events = x;
      }
    }
    return out;
  }

  async profiles(mediaXaddr: string, signal?: AbortSignal): Promise<MediaProfile[]> {
    const r = await this.soap.call(mediaXaddr, NS.trt, 'GetProfiles', '', { signal });
    return children(r, 'Profiles').flatMap((p): MediaProfile[] => {
      const token = attr(p, 'token');
      if (!token) return [];
      const enc: XmlNode | undefined = child(p, 'VideoEncoderConfiguration');
      return [
        {
          token,
          name: text(p, 'Name') || undefined,
          encoding: text(enc, 'Encoding') || undefined,
          width: num(enc, 'Resolution', 'Width'),
          height: num(enc, 'Resolution', 'Height'),
          fps: num(enc, 'RateControl', 'FrameRateLimit'),
          bitrateKbps: num(enc, 'RateControl', 'BitrateLimit'),
        },
      ];
    });
  }

  /** RTSP over unicast (Media 1.0 GetStreamUri): what ffmpeg pulls with -rtsp_transport tcp. */
  async streamUri(mediaXaddr: string, profileToken: string, signal?: AbortSignal): Promise<string> {
    const setup =
      `<StreamSetup><Stream xmlns="${NS.tt}">RTP-Unicast</Stream><Transport xmlns="${NS.tt}">` +
      `<Protocol>RTSP</Protocol></Transport></StreamSetup><ProfileToken>${escToken(profileToken)}</ProfileToken>`;
    const r = await this.soap.call(mediaXaddr, NS.trt, 'GetStreamUri', setup, { signal });
    const uri = text(r, 'MediaUri', 'Uri');
    if (!uri || !/^rtsps?:\/\//i.test(uri)) throw this.fail('GetStreamUri', 'no RTSP URI in the answer');
    return uri;
  }

  async snapshotUri(mediaXaddr: string, profileToken: string, signal?: AbortSignal): Promise<string> {
    const r = await this.soap.call(
      mediaXaddr,
      NS.trt,
      'GetSnapshotUri',
      `<ProfileToken>${escToken(profileToken)}</ProfileToken>`,
      {
        signal,
      },
    );
    const uri = text(r, 'MediaUri', 'Uri');
    if (!uri || !/^https?:\/\//i.test(uri)) throw this.fail('GetSnapshotUri', 'no HTTP URI in the answer');
    return uri;
  }
}

function escToken(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
