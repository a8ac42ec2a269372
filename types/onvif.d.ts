/**
 * Declarations for the parts of the `onvif` npm client (0.8.x, CommonJS) that
 * the tests and the agent use, checked against node_modules/onvif/lib.
 *
 * Why our own instead of the package's index.d.ts: that file declares an
 * `export default` the CommonJS module does not have, and types every result
 * as `any`. This ambient declaration takes precedence over it and describes
 * what the library really hands back: xml2js output passed through its
 * `linerase` (single-element arrays unwrapped; "true"/"false" become booleans;
 * numeric text becomes numbers, so a serial like "1234" arrives as 1234;
 * xsd:dateTime ending in Z becomes a Date; element names lose their prefix and
 * get a lower-case first letter unless the second letter is upper-case:
 * "Profiles" -> "profiles", "XAddr" and "H264" stay).
 *
 * Import it as `import onvif from 'onvif'` and use `onvif.Cam`, `onvif.Discovery`:
 * Node cannot see named exports in this CommonJS module.
 */
declare module 'onvif' {
  import type { RemoteInfo } from 'node:dgram';
  import type { EventEmitter } from 'node:events';
  import type { Agent } from 'node:http';
  import type { UrlWithStringQuery } from 'node:url';

  namespace onvif {
    /** Text that linerase may have turned into a number. */
    type Scalar = string | number;

    interface CamOptions {
      hostname: string;
      username?: string;
      password?: string;
      /** Default 80 (443 with useSecure). Discovery passes a string. */
      port?: number | string;
      /** Device service path; default /onvif/device_service. */
      path?: string;
      /** Per-request timeout in ms; default 120000. PullMessages uses its own 80 s. */
      timeout?: number;
      useSecure?: boolean;
      secureOpts?: object;
      /** Send WS-UsernameToken (default true); false forces HTTP Digest. */
      useWSSecurity?: boolean;
      /** Default true: connect() runs from the constructor and calls the callback. */
      autoconnect?: boolean;
      /** Use the constructor's hostname/port for every service URL the device reports. */
      preserveAddress?: boolean;
      agent?: Agent | boolean;
    }

    /** Callbacks run with `this` bound to the Cam. */
    type Callback<T> = (this: Cam, err: Error | null, data: T, xml?: string) => void;

    interface MediaUri {
      uri: string;
      invalidAfterConnect?: boolean;
      invalidAfterReboot?: boolean;
      timeout?: string;
    }

    interface DeviceInformation {
      manufacturer: Scalar;
      model: Scalar;
      firmwareVersion: Scalar;
      serialNumber: Scalar;
      hardwareId: Scalar;
    }

    interface VideoSourceConfiguration {
      $: { token: Scalar };
      name: Scalar;
      useCount: number;
      sourceToken: Scalar;
      bounds: { $: { x: number; y: number; width: number; height: number } };
    }

    interface VideoEncoderConfiguration {
      $: { token: Scalar };
      name: Scalar;
      useCount: number;
      /** 'JPEG', 'MPEG4' or 'H264'. */
      encoding: string;
      resolution: { width: number; height: number };
      quality?: number;
      rateControl?: { frameRateLimit: number; encodingInterval: number; bitrateLimit: number };
      H264?: { govLength: number; H264Profile: string };
      sessionTimeout?: string;
    }

    interface Profile {
      $: { token: Scalar; fixed?: boolean };
      name: Scalar;
      videoSourceConfiguration?: VideoSourceConfiguration;
      videoEncoderConfiguration?: VideoEncoderConfiguration;
      [other: string]: unknown;
    }

    interface SimpleItem {
      $: { Name: string; Value: string | number | boolean };
    }

    /** One wsnt:NotificationMessage as emitted by cam.on('event'). */
    interface NotificationMessage {
      topic: { _: string; $?: { Dialect?: string } };
      message: {
        message: {
          $: { UtcTime: Date | string; PropertyOperation?: 'Initialized' | 'Changed' | 'Deleted' };
          source?: { simpleItem: SimpleItem | SimpleItem[] };
          key?: { simpleItem: SimpleItem | SimpleItem[] };
          data?: { simpleItem: SimpleItem | SimpleItem[] };
        };
      };
      subscriptionReference?: unknown;
      producerReference?: unknown;
    }

    interface PullPointSubscription {
      subscriptionReference: { address: UrlWithStringQuery };
      currentTime: Date;
      terminationTime: Date;
    }

    class Cam extends EventEmitter {
      constructor(options: CamOptions, callback?: (this: Cam, err: Error | null) => void);
      hostname: string;
      port: number | string;
      path: string;
      username?: string;
      /** Device clock minus local uptime, learnt from GetSystemDateAndTime. */
      timeShift?: number;
      uri?: Record<string, UrlWithStringQuery | undefined>;
      profiles?: Profile[];
      defaultProfile?: Profile;
      activeSource?: { sourceToken: Scalar; profileToken: Scalar; videoSourceConfigurationToken: Scalar };
      deviceInformation?: DeviceInformation;
      /** Set when the Cam came from Discovery.probe: the device's XAddrs. */
      xaddrs?: URL[];
      events: { subscription?: PullPointSubscription; terminationTime?: Date; messageLimit?: number };

      connect(callback?: (this: Cam, err: Error | null) => void): void;
      getSystemDateAndTime(callback: Callback<Date>): void;
      getDeviceInformation(callback: Callback<DeviceInformation>): void;
      getCapabilities(callback: Callback<Record<string, unknown>>): void;
      getServices(includeCapability: boolean, callback: Callback<unknown[]>): void;
      getScopes(callback: Callback<unknown[]>): void;
      getProfiles(callback: Callback<Profile[]>): void;
      getVideoSources(callback: Callback<unknown>): void;
      getStreamUri(
        options: { profileToken?: string; stream?: string; protocol?: string },
        callback: Callback<MediaUri>,
      ): void;
      getSnapshotUri(options: { profileToken?: string }, callback: Callback<MediaUri>): void;
      getEventProperties(callback: Callback<Record<string, unknown>>): void;
      createPullPointSubscription(callback: Callback<PullPointSubscription>): void;
      pullMessages(options: { messageLimit?: number }, callback: Callback<Record<string, unknown>>): void;
      renew(options: object, callback: Callback<Record<string, unknown>>): void;
      unsubscribe(callback?: Callback<unknown>, preserveListeners?: boolean): void;
      setSynchronizationPoint(options: { profileToken?: string }, callback: Callback<null>): void;

      /** Adding the first 'event' listener starts the pull-point loop; removing the last stops it. */
      on(event: 'event', listener: (message: NotificationMessage, xml: string) => void): this;
      on(event: 'eventsError', listener: (err: Error) => void): this;
      on(event: 'connect', listener: () => void): this;
      on(event: 'warning', listener: (warning: unknown) => void): this;
      on(event: 'rawRequest', listener: (xml: string) => void): this;
      on(event: 'rawResponse', listener: (xml: string, statusCode: number) => void): this;
    }

    interface ProbeOptions {
      /** How long to listen, ms; default 5000. */
      timeout?: number;
      /** Default true: answer with Cam objects (which autoconnect!); false: raw matches. */
      resolve?: boolean;
      messageId?: string;
      /** Interface name (e.g. 'lo'): the socket binds to its first IPv4 address. */
      device?: string;
      listeningPort?: number | null;
      bufferSize?: number;
    }

    /** A ProbeMatches body after linerase (resolve: false). */
    interface RawProbeMatch {
      probeMatches: {
        probeMatch: {
          endpointReference: { address: string };
          types: string;
          scopes: string;
          XAddrs: string;
          metadataVersion: number;
        };
      };
    }

    interface DiscoveryEmitter extends EventEmitter {
      probe(
        options: ProbeOptions & { resolve: false },
        callback: (err: Error[] | Error | null, found: RawProbeMatch[]) => void,
      ): void;
      probe(options: ProbeOptions, callback: (err: Error[] | Error | null, cams: Cam[]) => void): void;
      probe(callback: (err: Error[] | Error | null, cams: Cam[]) => void): void;
      on(
        event: 'device',
        listener: (found: Cam | RawProbeMatch, rinfo: RemoteInfo, xml: string) => void,
      ): this;
      /** Without an 'error' listener, one bad datagram on the network throws. */
      on(event: 'error', listener: (err: Error | string, xml?: string) => void): this;
    }

    const Discovery: DiscoveryEmitter;
  }

  export = onvif;
}
