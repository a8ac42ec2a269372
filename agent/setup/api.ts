/**
 * The setup page's data: what the page reads and the few things it may change. Everything here
 * runs behind the session check in server.ts. What goes to the browser is built field by field:
 * no stream URL, no camera user name or password, no keys from enrollment.json.
 */
import path from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { enrolledStatePath, loadEnrolledState } from '../../provisioning/agent-state.js';
import { getWithHttpAuth } from '../../provisioning/http-auth.js';
import { Location, publicView } from '../cameras/inventory.js';
import type { CameraStore } from '../cameras/store.js';
import {
  AUDIT_FILE,
  incidentsStateDir,
  localUser,
  pendingApprovals,
  readAuditFile,
  readRecords,
  submitDecision,
  verifyAuditFile,
} from '../incidents/index.js';
import { ZoneConfig } from '../motion/zones.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const LocationBody = Location.nullable();
export const ZonesBody = ZoneConfig;
export const DecisionBody = z.strictObject({
  cameraId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .nullable(),
  decision: z.enum(['approve', 'decline']),
});
const IncidentId = z.uuid();

/** How many audit entries the page shows (newest); the chain check always covers the whole file. */
const AUDIT_SHOWN = 200;

export class SetupApi {
  constructor(
    private readonly dataDir: string,
    private readonly cameras: CameraStore,
    private readonly clock: Clock,
  ) {}

  async overview(): Promise<unknown> {
    const state = await loadEnrolledState(enrolledStatePath(this.dataDir));
    return {
      agentId: state?.agentId ?? null,
      site: state
        ? { name: state.site.name, lat: state.site.lat, lon: state.site.lon, policy: state.site.policy }
        : null,
      cameras: this.cameras.list().map((c) => ({
        ...publicView(c),
        hasSnapshot: c.snapshotUri !== undefined,
        motion: { zones: c.motion.zones, masks: c.motion.masks },
      })),
    };
  }

  /** The camera's snapshot, fetched with its stored credentials so the browser never needs them. */
  async snapshot(id: string): Promise<{ body: Buffer; type: string }> {
    const cam = this.cameras.get(id);
    if (!cam) throw new ApiError(404, 'no such camera');
    if (!cam.snapshotUri) throw new ApiError(404, 'this camera has no snapshot address');
    let body: Buffer;
    try {
      body = await getWithHttpAuth(cam.snapshotUri, cam.credentials, {
        signal: AbortSignal.timeout(8000),
        maxBytes: 8 * 1024 * 1024,
      });
    } catch (err) {
      // http-auth's messages name the failure, never the credentials.
      throw new ApiError(502, `the camera did not give a snapshot: ${(err as Error).message}`);
    }
    return { body, type: sniffImageType(body) };
  }

  async setLocation(id: string, body: unknown): Promise<void> {
    this.requireCamera(id);
    const parsed = LocationBody.safeParse(body);
    if (!parsed.success) throw new ApiError(400, `bad location: ${issues(parsed.error)}`);
    await this.cameras.setLocation(id, parsed.data);
  }

  async setZones(id: string, body: unknown): Promise<void> {
    const cam = this.requireCamera(id);
    const parsed = ZonesBody.safeParse(body);
    if (!parsed.success) throw new ApiError(400, `bad zones: ${issues(parsed.error)}`);
    // The source (ONVIF events, pixels) is not the page's to change; only where to look.
    await this.cameras.setMotion(id, { ...cam.motion, zones: parsed.data.zones, masks: parsed.data.masks });
  }

  async approvals(): Promise<unknown> {
    return pendingApprovals(await readRecords(incidentsStateDir(this.dataDir)));
  }

  /** Drops the decision where the running incidents part picks it up (as `agent approve` does). */
  async decide(incidentId: string, body: unknown, client: string): Promise<void> {
    if (!IncidentId.safeParse(incidentId).success) throw new ApiError(400, 'bad incident id');
    const parsed = DecisionBody.safeParse(body);
    if (!parsed.success) throw new ApiError(400, `bad decision: ${issues(parsed.error)}`);
    const pending = (await readRecords(incidentsStateDir(this.dataDir))).find(
      (r) => r.incidentId === incidentId,
    );
    if (!pending) throw new ApiError(404, 'no such incident');
    await submitDecision(incidentsStateDir(this.dataDir), {
      incidentId,
      cameraId: parsed.data.cameraId,
      decision: parsed.data.decision,
      // Who decided, as far as the box can tell: the page, the client's LAN address, the agent's user.
      by: `setup page from ${client} (${localUser()})`.slice(0, 128),
      at: this.clock.now(),
    });
  }

  async audit(): Promise<unknown> {
    const file = path.join(incidentsStateDir(this.dataDir), AUDIT_FILE);
    const [check, entries] = await Promise.all([verifyAuditFile(file), readAuditFile(file)]);
    return { check, total: entries.length, entries: entries.slice(-AUDIT_SHOWN).reverse() };
  }

  private requireCamera(id: string) {
    const cam = this.cameras.get(id);
    if (!cam) throw new ApiError(404, 'no such camera');
    return cam;
  }
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

export function sniffImageType(b: Buffer): string {
  if (b[0] === 0x89 && b[1] === 0x50) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  return 'application/octet-stream';
}
