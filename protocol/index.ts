/**
 * The wire contract of CamConnect Edge, shared by the agent and the bridge: topic names,
 * payload schemas, the request/reply envelope, incident signing and geofence math.
 * Import from here (`../protocol/index.js`), never write an MQTT topic string by hand.
 */
export * from './schemas/common.js';
export * from './schemas/status.js';
export * from './schemas/health.js';
export * from './schemas/cameras.js';
export * from './schemas/motion.js';
export * from './schemas/requests.js';
export * from './schemas/replies.js';
export * from './topics.js';
export * from './codec.js';
export * from './envelope.js';
export * from './canonical.js';
export * from './signing.js';
export * from './incident.js';
export * from './incident-verify.js';
export * from './geofence.js';
export { localProjection, smallestEnclosingCircle, type Projection, type Vec } from './geofence-plane.js';
export * from './evidence-manifest.js';
