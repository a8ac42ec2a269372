/**
 * Enrollment on the bridge: issuing QR payloads, turning a token into a device, revoking one.
 *
 * enroll() is one database transaction: consume the token, register the device (registry's
 * registerDevice), store its credential, and, last, create it at the broker (dynsec). Anything
 * that throws rolls the whole transaction back, the token included, so the same QR code works
 * again once the cause is fixed. If the broker step succeeded but the COMMIT then fails, the
 * dynsec client is deleted again (DynsecClient.cleanupLater), so no broker account outlives a
 * rolled-back enrollment.
 *
 * revoke(): the registry marks the device and its credential revoked; with dynsec, deleteClient
 * runs inside the same transaction (if the broker cannot be told, nothing is marked and the
 * operator sees an error and retries; "not found" counts as done, so retrying is safe); with
 * the embedded broker the live connections are closed after the commit.
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { importPublicKeyRaw, keyIdOf, SIGNING_DOMAINS, verifyCanonical } from '../../protocol/signing.js';
import { encodePayload, validatePayloadFields } from '../../provisioning/payload.js';
import {
  PROOF_PURPOSE,
  type EnrollRequest,
  type EnrollResponse,
  type EnrollmentTokenRequest,
  type EnrollmentTokenResponse,
  type RevokeResponse,
} from '../../provisioning/api.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { Db } from '../db/db.js';
import { registerDevice } from '../registry/devices.js';
import { HttpError } from '../http/problem.js';
import type { EnrollmentConfig } from './config.js';
import {
  insertCredential,
  markRevoked,
  newAgentId,
  newDevicePassword,
  type BrokerKind,
} from './credentials.js';
import { consumeToken, issueToken, TokenRefused } from './tokens.js';
import type { EmbeddedBrokerAuth } from './aedes-auth.js';
import { DynsecError, type DynsecClient } from './dynsec.js';

export interface EnrollmentDeps {
  db: Db;
  clock: Clock;
  config: EnrollmentConfig;
  rtcc: { privateKey: KeyObject; publicKeyB64u: string; keyId: string };
  /** The broker URL for devices, resolved when asked (the embedded broker's port is known late). */
  agentMqttUrl: () => string;
  /** Exactly one of these, or neither (an external broker without dynsec: cannot enroll). */
  embedded?: EmbeddedBrokerAuth;
  dynsec?: DynsecClient;
  log: Logger;
}

export class EnrollmentService {
  private readonly caPem: string | undefined;

  constructor(private readonly d: EnrollmentDeps) {
    this.caPem = d.config.agentMqttCaFile ? readFileSync(d.config.agentMqttCaFile, 'utf8') : undefined;
  }

  private get broker(): BrokerKind | 'none' {
    return this.d.dynsec ? 'dynsec' : this.d.embedded ? 'embedded' : 'none';
  }

  async issue(req: EnrollmentTokenRequest, createdBy: string | null): Promise<EnrollmentTokenResponse> {
    const bridgeUrl = this.d.config.publicUrl ?? req.bridgeUrl;
    if (!bridgeUrl)
      throw new HttpError(
        422,
        'validation',
        'bridgeUrl is required (the URL devices reach this bridge at) unless the bridge has a public URL configured',
      );
    const ttlMs = req.ttlHours !== undefined ? Math.round(req.ttlHours * 3600_000) : this.d.config.tokenTtlMs;
    const site = {
      site: req.site,
      address: req.address ?? null,
      lat: req.lat,
      lon: req.lon,
      policy: req.policy,
      bridgeUrl,
    };
    const now = this.d.clock.now();
    try {
      // Refuse what cannot be encoded before a token row exists (a URL too long for the QR).
      validatePayloadFields({
        ...site,
        token: 'A'.repeat(22),
        expiresAt: Math.floor((now + ttlMs) / 1000) * 1000,
      });
    } catch (err) {
      throw new HttpError(422, 'validation', (err as Error).message);
    }
    const issued = await issueToken(this.d.db, site, ttlMs, now, createdBy);
    const payload = encodePayload(
      {
        bridgeUrl,
        token: issued.token,
        site: req.site,
        lat: req.lat,
        lon: req.lon,
        policy: req.policy,
        expiresAt: issued.expiresAt,
      },
      this.d.rtcc.privateKey,
    );
    this.d.log.info('enrollment token issued', {
      enrollmentId: issued.id,
      site: req.site,
      expiresAt: issued.expiresAt,
    });
    return { id: issued.id, payload, expiresAt: issued.expiresAt, bridgeUrl };
  }

  async enroll(req: EnrollRequest): Promise<EnrollResponse> {
    const broker = this.broker;
    if (broker === 'none') {
      throw new HttpError(
        503,
        'enrollment-unavailable',
        'this bridge cannot create broker credentials: run it with the embedded broker, or with --mqtt-dynsec on Mosquitto',
      );
    }
    let deviceKey: KeyObject;
    try {
      deviceKey = importPublicKeyRaw(req.publicKey);
    } catch (err) {
      throw new HttpError(
        422,
        'validation',
        `publicKey is not an Ed25519 public key (${(err as Error).message})`,
      );
    }
    // The proof names no key id of its own: it must verify with the very key being registered.
    const signature = { alg: 'Ed25519' as const, keyId: keyIdOf(deviceKey), sig: req.proof };
    const claim = { purpose: PROOF_PURPOSE, token: req.token, publicKey: req.publicKey };
    if (!verifyCanonical(SIGNING_DOMAINS.enrollment, claim, signature, deviceKey))
      throw new HttpError(422, 'bad-proof', 'the proof does not verify with the public key sent');

    const agentId = newAgentId();
    const password = newDevicePassword();
    const now = this.d.clock.now();
    // 'broker' once a command may have reached the broker: from then on a failure must undo it.
    let stage = 'db' as 'db' | 'broker';
    let site: Awaited<ReturnType<typeof consumeToken>>;
    try {
      site = await this.d.db.transaction(async (tx) => {
        const row = await consumeToken(tx, req.token, agentId, now);
        await registerDevice(
          tx,
          {
            id: agentId,
            publicKey: req.publicKey,
            siteName: row.site_name,
            lat: row.lat,
            lon: row.lon,
            policy: row.policy,
          },
          now,
        );
        await insertCredential(tx, agentId, password, broker, now);
        if (this.d.dynsec) {
          stage = 'broker';
          await this.d.dynsec.createDevice(agentId, password);
        }
        return row;
      });
    } catch (err) {
      // Also after a timeout: the broker may have run the command without our hearing back.
      if (stage === 'broker') this.d.dynsec?.cleanupLater(agentId);
      if (err instanceof TokenRefused) throw new HttpError(409, `token-${err.why}`, err.message);
      if (err instanceof DynsecError) {
        this.d.log.warn('enrollment failed at the broker; the token stays valid', {
          error: (err as Error).message,
        });
        throw new HttpError(
          503,
          'broker-unavailable',
          `the broker could not create the device's credentials (${(err as Error).message}); the code was not used, try again`,
        );
      }
      throw err;
    }
    this.d.log.info('device enrolled', { agent: agentId, enrollmentId: site.id, broker });
    return {
      agentId,
      mqtt: {
        url: this.d.agentMqttUrl(),
        username: agentId,
        password,
        clientId: agentId,
        ...(this.caPem ? { caPem: this.caPem } : {}),
      },
      rtcc: { alg: 'Ed25519', publicKey: this.d.rtcc.publicKeyB64u, keyId: this.d.rtcc.keyId },
      site: {
        name: site.site_name,
        address: site.address,
        lat: site.lat,
        lon: site.lon,
        policy: site.policy,
      },
    };
  }

  async revoke(agentId: string): Promise<RevokeResponse> {
    const now = this.d.clock.now();
    const revokedAt = await this.d.db.transaction(async (tx) => {
      const at = await markRevoked(tx, agentId, now);
      if (at === false) throw new HttpError(404, 'not-found', 'no such device');
      try {
        await this.d.dynsec?.removeDevice(agentId);
      } catch (err) {
        throw new HttpError(
          503,
          'broker-unavailable',
          `the broker could not delete the device's client (${(err as Error).message}); nothing was changed, try again`,
        );
      }
      return at;
    });
    const disconnected = this.d.embedded?.revoke(agentId) ?? 0;
    this.d.log.info('device revoked', { agent: agentId, disconnected, broker: this.broker });
    return { agentId, revokedAt, disconnected, broker: this.broker };
  }
}
