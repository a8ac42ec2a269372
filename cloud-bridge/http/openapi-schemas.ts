/** Response schemas of the OpenAPI document (openapi.ts), kept beside the views they describe. */
const str = { type: 'string' };
const num = { type: 'number' };
const nstr = { type: ['string', 'null'] };
const nnum = { type: ['number', 'null'] };
const obj = (properties: Record<string, unknown>, description?: string) => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
});

/** The state names an agent or the bridge reports (protocol's CameraIncidentState plus ours). */
const CAMERA_STATES = [
  'accepted',
  'declined',
  'no-footage',
  'awaiting-approval',
  'uploading',
  'received',
  'verified',
  'failed',
];
const TARGET_STATES = [
  'sent',
  'acknowledged',
  'in-progress',
  'done',
  'no-cameras-in-area',
  'error',
  'cancelled',
];

/** Hand-written to match incidents/view.ts (IncidentView): the views are TS types, not zod. */
export const INCIDENT_SCHEMA = obj(
  {
    id: str,
    caseNumber: str,
    reason: str,
    area: { description: 'the geofence (see IncidentInput.area)' },
    from: num,
    to: num,
    createdAt: num,
    createdBy: nstr,
    expiresAt: nnum,
    targets: {
      type: 'array',
      items: obj({
        deviceId: str,
        siteName: nstr,
        lat: nnum,
        lon: nnum,
        state: { type: 'string', enum: TARGET_STATES },
        detail: nstr,
        updatedAt: num,
        cameras: {
          type: 'array',
          items: obj({
            cameraId: str,
            state: { type: 'string', enum: CAMERA_STATES },
            percent: nnum,
            detail: nstr,
            updatedAt: num,
          }),
        },
      }),
    },
    evidence: {
      type: 'array',
      items: obj({
        deviceId: str,
        cameraId: str,
        state: { type: 'string', enum: ['uploading', 'finalizing', 'verified', 'rejected'] },
        detail: nstr,
        totalBytes: num,
        receivedBytes: num,
        percent: num,
        packageSha256: nstr,
        receivedAt: nnum,
        receipt: { description: "protocol's EvidenceReceipt, once verified" },
      }),
    },
  },
  "an incident with each agent's and camera's state and its evidence packages (times: epoch ms)",
);

/** Matches registry/query.ts (DeviceSummary; GET /api/devices/{id} adds the detail fields). */
export const DEVICE_SCHEMA = obj(
  {
    id: str,
    siteName: str,
    lat: num,
    lon: num,
    policy: { type: 'string', enum: ['auto', 'approve', 'never'] },
    status: { type: 'string', enum: ['unknown', 'online', 'offline'] },
    statusReason: { type: ['string', 'null'], description: 'shutdown, lost (last will) or stale' },
    health: { type: 'string', enum: ['online', 'offline', 'degraded', 'unknown'] },
    lastSeen: nnum,
    lastHealthAt: nnum,
    bufferSeconds: { type: ['number', 'null'], description: 'footage held by the shallowest camera' },
    agentVersion: nstr,
    cameraCount: num,
    motionLastHour: num,
    latestHealth: { description: "detail only: protocol's HealthPayload" },
    cameras: { type: 'array', description: 'detail only' },
    motion: { type: 'array', description: 'detail only: the 50 newest episodes' },
    healthHistory: { type: 'array', description: 'detail only: thinned summaries of the last 24 h' },
  },
  'a registered device with health at a glance',
);
