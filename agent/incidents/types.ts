/**
 * What the incidents service is given by the composition root, and its defaults.
 *
 * The service needs only a narrow slice of the recorder (coverage, clip, pin/unpin, holds,
 * stats), a way to send `replies`, and the device's identity. Everything is injected so the
 * end-to-end tests, the benchmark and `camconnect agent run` compose the same code.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { ReplyPayload } from '../../protocol/schemas/replies.js';
import type { CameraLocation, LatLon } from '../../protocol/schemas/common.js';
import type { Recorder } from '../recorder/index.js';

/** The owner's sharing policy (the same three words as enrollment and the bridge registry). */
export type SharingPolicy = 'auto' | 'approve' | 'never';
export const SHARING_POLICIES: readonly SharingPolicy[] = ['auto', 'approve', 'never'];

/**
 * Who this device is and whom it trusts, from enrollment (provisioning/agent-state.ts):
 * `identityFromEnrollment()` in index.ts builds it from the enrolled state file.
 */
export interface IncidentIdentity {
  agentId: string;
  /** Ed25519 private key: signs evidence manifests (the bridge has the public half). */
  deviceKey: KeyObject;
  /** The RTCC public key(s) that may sign incident requests (several during a key rotation). */
  rtccKeys: readonly KeyObject[];
  /** Base URL of the bridge; tus uploads go to `${bridgeUrl}/uploads`. */
  bridgeUrl: string;
  site: { policy: SharingPolicy; location: LatLon | null };
}

/** A camera as incidents see it: id (= recorder camera name), installed location, own policy. */
export interface CameraPlacement {
  id: string;
  /** null until the owner places the camera: such a camera is never in any geofence. */
  location: CameraLocation | null;
}

/** The recorder calls incidents make; `Recorder` satisfies it, tests may pass a fake. */
export type IncidentRecorder = Pick<Recorder, 'coverage' | 'clip' | 'pin' | 'unpin' | 'listHolds' | 'stats'>;

export interface IncidentLimits {
  /** Largest geofence radius accepted (default 800 m). */
  maxRadiusM: number;
  /** Longest footage window (default 12 h). */
  maxWindowMs: number;
  /** Clock difference tolerated between bridge and agent (default 2 min). */
  maxSkewMs: number;
  /** Longest request validity (default 24 h); bounds the nonce store. */
  maxValidityMs: number;
  /**
   * How far back a window may start to be worth asking for: a window that ended before
   * now - maxLookbackMs is refused (`window-over-limit`), since retention cannot hold it.
   * Default: undefined (the recorder's coverage then answers "no footage").
   */
  maxLookbackMs: number | undefined;
  /** How long footage stays pinned when the bridge never confirms receipt (default 7 days). */
  holdMs: number;
  /** After `to`, how long to wait for the segment holding it to be finished before cutting. */
  settleMs: number;
  /** Narrow "inside the geofence" by heading and field of view where a camera has them. */
  useFieldOfView: boolean;
  /** How often a package is rebuilt and uploaded again after the bridge rejected it. */
  maxAttempts: number;
  /** Finished incidents are dropped from the job document after this long (the audit log keeps them). */
  keepFinishedMs: number;
}

const HOUR = 3600_000;
export const DEFAULT_LIMITS: IncidentLimits = {
  maxRadiusM: 800,
  maxWindowMs: 12 * HOUR,
  maxSkewMs: 2 * 60_000,
  maxValidityMs: 24 * HOUR,
  maxLookbackMs: undefined,
  holdMs: 7 * 24 * HOUR,
  settleMs: 150_000,
  useFieldOfView: false,
  maxAttempts: 3,
  keepFinishedMs: 30 * 24 * HOUR,
};

export interface UploadOptions {
  /** Cap on the total upload rate of this agent, bytes per second; undefined = no cap. */
  bytesPerSecond?: number;
  /** Camera packages uploaded at the same time (default 2). */
  parallel?: number;
  /** Bytes per tus PATCH request (default 64 MiB; under a cap at most 4 s of it). Keep it below a reverse proxy's body limit. */
  chunkBytes?: number;
  /** A request that moves no byte for this long is abandoned and resumed (default 30 s). */
  idleTimeoutMs?: number;
  /** Backoff between attempts after a network error (defaults 1 s .. 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** Moments the benchmark and tests observe (monotonic ms). Never carries keys or tokens. */
export type IncidentEvent =
  | { type: 'request'; requestId: string; at: number }
  | { type: 'first-byte'; incidentId: string; cameraId: string; at: number }
  | { type: 'state'; incidentId: string; cameraId: string; state: string; at: number };

export interface IncidentsOptions {
  recorder: IncidentRecorder;
  /** Sends a reply on `replies` (the link's outbox: durable while offline). */
  replies: (reply: ReplyPayload) => Promise<void>;
  identity: IncidentIdentity;
  /** Cameras with their installed locations (the inventory), read at each request. */
  cameras: () => readonly CameraPlacement[];
  /** Holds jobs.json, nonces.json, audit.log, packages/ and decisions/ (see index.ts). */
  stateDir: string;
  clock: Clock;
  log: Logger;
  limits?: Partial<IncidentLimits>;
  /** Owner policy: the site's (default: identity.site.policy) and per-camera overrides. */
  policy?: { site?: SharingPolicy; cameras?: Readonly<Record<string, SharingPolicy>> };
  upload?: UploadOptions;
  /** Software name and version written into manifests. */
  software: string;
  /** Keep packages on the agent after the bridge confirmed them (default false: free the disk). */
  keepPackages?: boolean;
  /** How often the owner's decisions folder is read (default 1 s). */
  approvalPollMs?: number;
  onEvent?: (e: IncidentEvent) => void;
}
