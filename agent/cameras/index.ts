/**
 * Cameras: the public surface for the composition root (and the setup page). Only this folder
 * speaks ONVIF.
 *
 *   const store = new CameraStore(path.join(stateDir, 'cameras.json'));   // mode 0600, atomic
 *   await store.load();
 *
 *   // Onboarding: discovery on the LAN interface, or an address typed by the installer.
 *   const found = await discover({ interface: 'eth0' });
 *   const { record } = await onboardOnvif({ xaddr: preferredXaddr(found[0]), credentials,
 *     name: found[0].name, endpoint: found[0].endpoint, taken: store.ids() });
 *   const other = await addByAddress({ address: 'rtsp://user:pass@10.0.0.9/stream1', taken: store.ids() });
 *   await store.upsert(record);
 *   await store.setLocation(record.id, { lat, lon, heading, fovDeg });    // incidents need it
 *
 *   // What the other parts get from an inventory record:
 *   link.setCameras(store.list().map(publicView))          // no URL, user or password in it
 *   recorder camera: { name: c.id, url: withCredentials(c.streams.main.uri, c.credentials) }
 *   motion: new CameraMotion({ camera: c, sink })           // agent/motion
 *   health: c.clock?.offsetMs (camera minus agent clock)
 *
 * Every failure talking to a camera is a CameraError (kind: auth, fault, timeout, malformed,
 * http, network, aborted) whose message names the camera; `hintFor(err)` says what to do.
 */
export { CameraError, hintFor, type CameraErrorKind } from './errors.js';
export {
  discover,
  preferredXaddr,
  localInterfaces,
  type DiscoveredCamera,
  type DiscoverOptions,
} from './discovery.js';
export {
  onboardOnvif,
  addByAddress,
  addManual,
  probeStream,
  type OnboardOnvifOptions,
  type OnboardResult,
  type AddByAddressOptions,
} from './onboarding.js';
export {
  CameraRecord,
  Location,
  MotionSettings,
  StreamRecord,
  publicView,
  makeCameraId,
  type CameraPublicView,
} from './inventory.js';
export { CameraStore, writeAtomic } from './store.js';
export { pickStreams, withCredentials, splitCredentials, codecName } from './streams.js';
export {
  OnvifDeviceClient,
  type ClockReading,
  type DeviceInformation,
  type MediaProfile,
} from './onvif-device.js';
export { PullPointSubscription, parseMotionMessage, type MotionNotification } from './onvif-events.js';
export type { Credentials } from './soap.js';
