/**
 * Incidents: from a signed geofence request to verified evidence at the RTCC (issue 8).
 *
 * How the composition root (`camconnect agent run`, agent/agent.ts) wires it:
 *
 *   const state = await loadEnrolledState(enrolledStatePath(dataDir));        // provisioning
 *   let link: Link;
 *   const incidents = createIncidents({
 *     recorder,                                          // agent/recorder (already constructed)
 *     replies: (r) => link.publish('replies', r),        // late-bound: the link is built next
 *     identity: identityFromEnrollment(state),
 *     cameras: () => cameraStore.list().map((c) => ({ id: c.id, location: c.location })),
 *     stateDir: incidentsStateDir(dataDir),
 *     clock, log: log.child({ part: 'incidents' }), software: `camconnect-edge ${VERSION}`,
 *     limits: config.incidents?.limits, policy: config.incidents?.policy,
 *     upload: { bytesPerSecond: config.incidents?.uploadBytesPerSecond, parallel: 2 },
 *   });
 *   link = createLink(cfg, { ..., handlers: { ...incidents.handlers } });
 *   new Composition([recorder, ..., link, incidents])   // incidents after the link: its
 *                                                        // replies go into the link's outbox
 *
 * The handlers wait for start(), so requests that arrive while it starts are not lost.
 * Recorder camera names must equal the camera ids of the inventory.
 */
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { importPrivateKeyRaw, importPublicKeyRaw } from '../../protocol/signing.js';
import { IncidentsService } from './service.js';
import type { IncidentIdentity, IncidentsOptions, SharingPolicy } from './types.js';

export { IncidentsService, type Approvals, type IncidentHandlers } from './service.js';
export * from './types.js';
export {
  pendingApprovals,
  readRecords,
  submitDecision,
  localUser,
  type PendingApproval,
} from './approvals.js';
export { verifyAuditFile, readAuditFile, AUDIT_FILE, type AuditEntry, type AuditCheck } from './audit.js';
export { FINAL_STATES, type JobState, type IncidentRecord, type CameraJob } from './jobs.js';
export { packageDir, MANIFEST_FILE, FILES_DIR, REQUEST_FILE } from './package.js';

/** Where the incidents service keeps its state inside the agent's data folder. */
export function incidentsStateDir(agentDataDir: string): string {
  return path.join(agentDataDir, 'incidents');
}

/** Builds the service; no I/O until start(). */
export function createIncidents(options: IncidentsOptions): IncidentsService {
  return new IncidentsService(options);
}

/**
 * The identity from the enrolled state (provisioning/agent-state.ts, EnrolledState): only the
 * fields incidents need, so this module does not depend on how enrollment stores the rest.
 */
export function identityFromEnrollment(
  state: {
    agentId: string;
    bridge: { url: string; rtccPublicKey: string };
    site: { lat: number; lon: number; policy: SharingPolicy };
    device: { privateKey: string };
  },
  extraRtccKeys: readonly KeyObject[] = [],
): IncidentIdentity {
  return {
    agentId: state.agentId,
    deviceKey: importPrivateKeyRaw(state.device.privateKey),
    rtccKeys: [importPublicKeyRaw(state.bridge.rtccPublicKey), ...extraRtccKeys],
    bridgeUrl: state.bridge.url,
    site: { policy: state.site.policy, location: { lat: state.site.lat, lon: state.site.lon } },
  };
}
