/**
 * Authentication and topic authorization for the embedded aedes broker, from the registry.
 *
 * - The bridge's own MQTT client logs in as BRIDGE_USERNAME with a secret made at start-up and
 *   kept in memory (it never leaves the process); it may publish and subscribe anywhere.
 * - A device logs in with the credentials enrollment gave it; its client id must equal its
 *   username (no session take-over). It may publish only its own agent→bridge topics
 *   (status, health, cameras, motion, replies under camconnect/v1/agents/<its id>/) and
 *   subscribe only to its own `requests`; deliveries are filtered the same way
 *   (authorizeForward) as a second line of defence.
 * - Anonymous clients: refused with brokerAuth `registry`; allowed everything with `none`.
 *
 * A refused publish closes the connection: MQTT 3.1.1 §3.3.5 (MQTT-3.3.5-2) lets a server
 * either acknowledge and drop or disconnect, and aedes disconnects. A refused subscription gets
 * SUBACK return code 0x80 (§3.9.3).
 *
 * Revocation closes the device's live connections. A login whose registry lookup was already
 * under way when the revocation committed is caught by the in-memory `revoked` set checked after
 * the lookup; either the login sees the set, or its client is registered before revoke() runs
 * and is closed by it (both happen on the one JavaScript thread).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Aedes, AedesOptions, AuthenticateError, Client } from 'aedes';
import { parseTopic, TOPICS, topicFor } from '../../protocol/topics.js';
import type { Logger } from '../../lib/log.js';
import type { Queryable } from '../db/db.js';
import { checkCredential } from './credentials.js';

/** Cannot collide with an agent id ([A-Za-z0-9_-]): it contains a dot (and is URL-safe as is). */
export const BRIDGE_USERNAME = 'camconnect.bridge';

type Identity = { kind: 'bridge' } | { kind: 'anonymous' } | { kind: 'device'; agentId: string };
export type BrokerHooks = Required<
  Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>
>;

function refusal(message: string, returnCode: 4 | 5): AuthenticateError {
  // MQTT 3.1.1 §3.2.2.3: 4 = bad user name or password, 5 = not authorized.
  return Object.assign(new Error(message), { returnCode });
}

/** May `agentId` publish to `topic`? Only its own agent→bridge topics. */
export function devicePublishAllowed(agentId: string, topic: string): boolean {
  const t = parseTopic(topic);
  return t !== null && t.agentId === agentId && TOPICS[t.name].direction === 'agent→bridge';
}

/** May `agentId` subscribe with `filter`? Exactly its own requests topic, no wildcards. */
export function deviceSubscribeAllowed(agentId: string, filter: string): boolean {
  return filter === topicFor('requests', agentId);
}

export class EmbeddedBrokerAuth {
  private readonly secret = randomBytes(32).toString('base64url');
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly live = new Map<string, Set<Client>>();
  private readonly revoked = new Set<string>();

  constructor(
    private readonly db: Queryable,
    private readonly mode: 'registry' | 'none',
    private readonly log: Logger,
  ) {}

  /** The bridge's own login: goes into the link's URL, never into a log (redactUrl hides it). */
  get bridgeCredentials(): { username: string; password: string } {
    return { username: BRIDGE_USERNAME, password: this.secret };
  }

  /** `mqtt://host:port` with the bridge's login, for the bridge's own link only. */
  linkUrl(brokerUrl: string): string {
    const u = new URL(brokerUrl);
    u.username = BRIDGE_USERNAME;
    u.password = this.secret;
    return u.toString();
  }

  hooks(): BrokerHooks {
    return {
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (identity) => {
            this.identities.set(client, identity);
            if (identity.kind === 'device') this.track(identity.agentId, client);
            done(null, true);
          },
          (err: AuthenticateError) => done(err, false),
        );
      },
      authorizePublish: (client, packet, done) => {
        const id = client ? this.identities.get(client) : undefined;
        // client null: a message the broker itself publishes.
        if (!client || !id || id.kind !== 'device' || devicePublishAllowed(id.agentId, packet.topic))
          return done(null);
        this.log.warn('refused a device publish outside its prefix', {
          agent: id.agentId,
          topic: packet.topic,
        });
        done(new Error('not authorized'));
      },
      authorizeSubscribe: (client, sub, done) => {
        const id = this.identities.get(client);
        if (!id || id.kind !== 'device' || deviceSubscribeAllowed(id.agentId, sub.topic))
          return done(null, sub);
        this.log.warn('refused a device subscription', { agent: id.agentId, filter: sub.topic });
        done(null, null);
      },
      authorizeForward: (client, packet) => {
        const id = this.identities.get(client);
        if (!id || id.kind !== 'device' || packet.topic === topicFor('requests', id.agentId)) return packet;
        return null;
      },
    };
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity> {
    if (username === undefined) {
      if (this.mode === 'none') return { kind: 'anonymous' };
      throw refusal('a user name and password are required', 5);
    }
    const given = password ?? Buffer.alloc(0);
    if (username === BRIDGE_USERNAME) {
      const want = Buffer.from(this.secret);
      if (given.length === want.length && timingSafeEqual(given, want)) return { kind: 'bridge' };
      throw refusal('bad user name or password', 4);
    }
    if (client.id !== username) throw refusal('the client id must be the device id', 5);
    if (!(await checkCredential(this.db, username, given)) || this.revoked.has(username)) {
      throw refusal('bad user name or password', 4);
    }
    return { kind: 'device', agentId: username };
  }

  private track(agentId: string, client: Client): void {
    const set = this.live.get(agentId) ?? new Set<Client>();
    for (const c of set) if (c.closed) set.delete(c);
    set.add(client);
    this.live.set(agentId, set);
  }

  /** Call after the revocation committed: refuses further logins and closes open connections. */
  revoke(agentId: string): number {
    this.revoked.add(agentId);
    const set = this.live.get(agentId);
    this.live.delete(agentId);
    let closed = 0;
    for (const c of set ?? []) {
      if (c.closed) continue;
      c.close();
      closed++;
    }
    return closed;
  }

  /** Lets the broker tell us when a device's connection ends (keeps `live` small). */
  attach(broker: Aedes): void {
    broker.on('clientDisconnect', (client) => {
      const id = this.identities.get(client);
      if (id?.kind === 'device') this.live.get(id.agentId)?.delete(client);
    });
  }
}
