/**
 * The agent's enrolled state: who it is (agent id, device key), whom it trusts (the bridge and
 * the RTCC key that signs incident requests) and how it reaches the broker (URL, credentials).
 * One JSON document, `<agent data dir>/enrollment.json`, mode 0600.
 *
 * This is the API later work reads (issue 8 incidents, issue 9 `agent run`):
 *
 *   const state = await loadEnrolledState(enrolledStatePath(dataDir));   // null: not enrolled
 *   createLink({ ...linkConnection(state), outbox: { dir } }, deps);       // MQTT
 *   verifyIncident(request, rtccPublicKey(state), ...);                    // incident requests
 *   signCanonical(SIGNING_DOMAINS.evidenceManifest, manifest, deviceSigningKey(state));
 *
 * Written once, after the bridge confirmed the enrollment, atomically: a temp file created
 * O_EXCL with mode 0600 from the first byte, fsynced, renamed over the target, directory
 * fsynced. There is never a half-written or world-readable state file, and an enrollment that
 * fails at any step before leaves no file at all ("no half-enrolled state").
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../lib/durable.js';
import { z } from 'zod';
import { AgentId } from '../protocol/schemas/common.js';
import { importPrivateKeyRaw, importPublicKeyRaw, KeyId } from '../protocol/signing.js';
import type { LinkConfigInput } from '../agent/link/config.js';
import { POLICIES } from './payload.js';

/** Default agent data folder (relative to the working directory), like the bridge's. */
export const DEFAULT_AGENT_DATA_DIR = 'camconnect-agent-data';
export const ENROLLMENT_FILE = 'enrollment.json';

const RawKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a raw 32-byte key in base64url');

export const EnrolledState = z.strictObject({
  version: z.literal(1),
  agentId: AgentId,
  enrolledAt: z.int().min(0),
  bridge: z.strictObject({
    /** Base URL of the bridge API (evidence uploads go to `${url}/uploads/`). */
    url: z.url(),
    /** Raw Ed25519 public key that signs incident requests (and signed the QR code). */
    rtccPublicKey: RawKey,
    rtccKeyId: KeyId,
  }),
  site: z.strictObject({
    name: z.string().min(1).max(200),
    address: z.string().max(500).nullable(),
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    policy: z.enum(POLICIES),
  }),
  /** The device key: signs evidence manifests. Generated here; the private half never leaves. */
  device: z.strictObject({ publicKey: RawKey, privateKey: RawKey }),
  mqtt: z.strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|tcp|ssl|tls):\/\/[^\s@]+$/, 'must be an mqtt(s):// URL without credentials'),
    username: z.string().min(1),
    password: z.string().min(1),
    clientId: AgentId,
    /** PEM of the CA that signs the broker's certificate, when the bridge supplied one. */
    caPem: z.string().optional(),
  }),
});
export type EnrolledState = z.infer<typeof EnrolledState>;

export function enrolledStatePath(dataDir: string): string {
  return path.join(dataDir, ENROLLMENT_FILE);
}

/** Reads the state; null when the device is not enrolled. Invalid content is an error, never a reset. */
export async function loadEnrolledState(file: string): Promise<EnrolledState | null> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  // A state file others can read holds a key others may have copied: tighten, like the bridge's key.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`enrollment state ${file} is not valid JSON (${(err as Error).name})`);
  }
  const parsed = EnrolledState.safeParse(json);
  if (!parsed.success) {
    // Field paths only: the values include the MQTT password and the device's private key.
    throw new Error(
      `enrollment state ${file} is invalid: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  return parsed.data;
}

/** Atomic replace with mode 0600 (see the file comment; lib/durable.ts). */
export async function writeEnrolledState(file: string, state: EnrolledState): Promise<void> {
  const text = JSON.stringify(EnrolledState.parse(state), null, 2) + '\n';
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text, { mode: 0o600 });
}

/** Fails early (before the token is spent) if the state file could not be written later. */
export async function assertStateWritable(file: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const probe = path.join(dir, `.probe.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fh = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  await fh.close();
  await unlink(probe);
}

export function deviceSigningKey(state: EnrolledState): KeyObject {
  return importPrivateKeyRaw(state.device.privateKey);
}

export function rtccPublicKey(state: EnrolledState): KeyObject {
  return importPublicKeyRaw(state.bridge.rtccPublicKey);
}

/** The connection part of the link's config (agent/link/config.ts): id, URL, credentials, TLS. */
export function linkConnection(
  state: EnrolledState,
): Pick<LinkConfigInput, 'agentId' | 'url' | 'username' | 'password' | 'tls'> {
  return {
    agentId: state.agentId,
    url: state.mqtt.url,
    username: state.mqtt.username,
    password: state.mqtt.password,
    ...(state.mqtt.caPem ? { tls: { ca: state.mqtt.caPem, rejectUnauthorized: true } } : {}),
  };
}
