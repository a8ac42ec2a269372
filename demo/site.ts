/**
 * Provisions one site end to end, as a technician would: the operator asks
 * the bridge for a one-time enrollment token, the QR code is written as a PNG
 * and read back from the image (the path a phone or camera takes), the agent
 * enrolls with it, and the site's ONVIF cameras are onboarded with their
 * installed locations into the agent's camera file.
 *
 * The demo uses it for its two sites; the agent's integration test uses it too,
 * so the demo's path is a tested path.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CAMERAS_FILE } from '../agent/agent.js';
import type { Location } from '../agent/cameras/inventory.js';
import { onboardOnvif } from '../agent/cameras/onboarding.js';
import { CameraStore } from '../agent/cameras/store.js';
import type { MotionSourceSetting } from '../protocol/schemas/health.js';
import type { EnrolledState } from '../provisioning/agent-state.js';
import { requestEnrollmentToken } from '../provisioning/bridge-client.js';
import { enrollAgent } from '../provisioning/enroll.js';
import type { Policy } from '../provisioning/payload.js';
import { decodeQrFile, writeQrFile } from '../provisioning/qr.js';

export interface SiteCamera {
  /** ONVIF device service URL. */
  xaddr: string;
  name: string;
  location: Location;
  motion?: MotionSourceSetting;
  credentials?: { username: string; password: string };
}

export interface SiteSpec {
  site: string;
  address?: string;
  lat: number;
  lon: number;
  policy: Policy;
  cameras: SiteCamera[];
}

export interface ProvisionedSite {
  state: EnrolledState;
  dataDir: string;
  qrPath: string;
  cameraIds: string[];
}

export async function provisionSite(o: {
  bridgeUrl: string;
  operatorToken: string;
  spec: SiteSpec;
  dataDir: string;
  agentVersion?: string;
}): Promise<ProvisionedSite> {
  const { spec } = o;
  const token = await requestEnrollmentToken(
    o.bridgeUrl,
    {
      site: spec.site,
      ...(spec.address ? { address: spec.address } : {}),
      lat: spec.lat,
      lon: spec.lon,
      policy: spec.policy,
      bridgeUrl: o.bridgeUrl,
    },
    { apiToken: o.operatorToken },
  );
  // The agent's data folder holds keys and camera passwords: private from the start.
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const qrPath = path.join(o.dataDir, 'enrollment-qr.png');
  await writeQrFile(qrPath, token.payload);
  // Read it back from the picture, not from memory: what the technician's scan would give.
  const scanned = await decodeQrFile(qrPath);
  const state = await enrollAgent({
    payloadText: scanned,
    dataDir: o.dataDir,
    expectBridge: o.bridgeUrl,
    ...(o.agentVersion ? { agentVersion: o.agentVersion } : {}),
  });

  const store = new CameraStore(path.join(o.dataDir, CAMERAS_FILE));
  await store.load();
  const cameraIds: string[] = [];
  for (const cam of spec.cameras) {
    const { record } = await onboardOnvif({
      xaddr: cam.xaddr,
      name: cam.name,
      taken: store.ids(),
      ...(cam.credentials ? { credentials: cam.credentials } : {}),
    });
    await store.upsert({
      ...record,
      location: cam.location,
      motion: { ...record.motion, source: cam.motion ?? record.motion.source },
    });
    cameraIds.push(record.id);
  }
  return { state, dataDir: o.dataDir, qrPath, cameraIds };
}
