/**
 * Enrollment as the bridge composes it: one object that the composition root (bridge.ts) asks
 * for the embedded broker's hooks, the bridge link's broker URL, the HTTP routes and the
 * services to start.
 *
 *   embedded broker  -> EmbeddedBrokerAuth (registry-backed aedes hooks), brokerAuth registry|none
 *   --mqtt-url + dynsec -> DynsecClient (device clients and roles in Mosquitto)
 *   --mqtt-url alone -> enrollment answers 503: the bridge cannot make broker credentials
 */
import type { Clock } from '../../lib/clock.js';
import type { Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import type { Db } from '../db/db.js';
import type { Route } from '../http/router.js';
import type { RtccKey } from '../keys.js';
import { EmbeddedBrokerAuth } from './aedes-auth.js';
import type { EnrollmentConfig } from './config.js';
import { DynsecClient } from './dynsec.js';
import { enrollmentRoutes } from './routes.js';
import { EnrollmentService } from './service.js';

export { EnrollmentConfig, type EnrollmentConfigInput } from './config.js';
export { enrollmentOpenApiPaths, enrollmentOpenApiSchemas } from './routes.js';
export { BRIDGE_USERNAME, EmbeddedBrokerAuth } from './aedes-auth.js';

export interface BridgeEnrollmentOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  config: EnrollmentConfig;
  rtcc: RtccKey;
  rtccKeyId: string;
  /** The external broker (with the bridge's account), or undefined for the embedded one. */
  externalMqttUrl: string | undefined;
  /** The embedded broker's URL, once it listens. */
  embeddedUrl: () => string;
}

function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

export class BridgeEnrollment {
  readonly auth: EmbeddedBrokerAuth | undefined;
  readonly dynsec: DynsecClient | undefined;
  readonly service: EnrollmentService;

  constructor(o: BridgeEnrollmentOptions) {
    const log = o.log.child({ part: 'enrollment' });
    this.auth = o.externalMqttUrl ? undefined : new EmbeddedBrokerAuth(o.db, o.config.brokerAuth, log);
    this.dynsec = o.externalMqttUrl && o.config.dynsec ? new DynsecClient(o.externalMqttUrl, log) : undefined;
    const external = o.externalMqttUrl;
    const agentMqttUrl = () =>
      o.config.agentMqttUrl ?? (external ? withoutCredentials(external) : o.embeddedUrl());
    this.service = new EnrollmentService({
      db: o.db,
      clock: o.clock,
      config: o.config,
      rtcc: { privateKey: o.rtcc.privateKey, publicKeyB64u: o.rtcc.publicKeyB64u, keyId: o.rtccKeyId },
      agentMqttUrl,
      ...(this.auth ? { embedded: this.auth } : {}),
      ...(this.dynsec ? { dynsec: this.dynsec } : {}),
      log,
    });
  }

  /** The URL the bridge's own link connects with: the embedded broker's plus the bridge's login. */
  linkUrl(brokerUrl: string): string {
    return this.auth && brokerUrl ? this.auth.linkUrl(brokerUrl) : brokerUrl;
  }

  routes(): Route[] {
    return enrollmentRoutes(this.service);
  }

  /** Services to start before the bridge's MQTT link (dynsec grants the bridge its role first). */
  services(): Service[] {
    return this.dynsec ? [this.dynsec] : [];
  }
}
