/**
 * The dynamic-security roles the bridge manages (mosquitto.org/documentation/dynamic-security).
 * Dynsec ACL topics are literal or wildcard filters with no %u/%c substitution in the
 * documented model, so every device gets its own role naming its own topics.
 *
 * Device role `camconnect-device-<id>`:
 *   publishClientSend    camconnect/v1/agents/<id>/{status,health,cameras,motion,replies}
 *   subscribeLiteral     camconnect/v1/agents/<id>/requests   (exactly this filter, no wildcard)
 *   publishClientReceive camconnect/v1/agents/<id>/requests   allow, priority 1
 *   publishClientReceive #                                    deny,  priority 0
 * (higher priority is checked first; the deny overrides the plugin's default "receive allowed").
 *
 * Bridge role `camconnect-bridge`, added to the bridge's own (dynsec admin) account at start:
 * send `requests` to any agent, subscribe to and receive the agent→bridge topics. Mosquitto
 * disconnects a client whose roles change so that new ACLs apply; the bridge grants the role
 * only when it is missing (the first start on a broker) and reconnects by itself.
 */
import { TOPIC_NAMES, TOPICS, subscriptionFilter, topicFor } from '../../protocol/topics.js';
import type { Logger } from '../../lib/log.js';
import type { DynsecClient } from './dynsec.js';

/** One ACL entry as dynsec's createRole/addRoleACL take it. */
export interface Acl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern';
  topic: string;
  allow: boolean;
  priority?: number;
}
export type Command = { command: string } & Record<string, unknown>;
export interface Answer {
  command: string;
  correlationData?: string;
  error?: string;
  data?: unknown;
}

export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic security ${command} failed: ${reason}`);
    this.name = 'DynsecError';
  }
}

export const BRIDGE_ROLE = 'camconnect-bridge';
export const deviceRole = (agentId: string) => `camconnect-device-${agentId}`;

const agentToBridge = () => TOPIC_NAMES.filter((n) => TOPICS[n].direction === 'agent→bridge');

export function deviceAcls(agentId: string): Acl[] {
  const requests = topicFor('requests', agentId);
  return [
    ...agentToBridge().map((n) => ({
      acltype: 'publishClientSend' as const,
      topic: topicFor(n, agentId),
      allow: true,
    })),
    { acltype: 'subscribeLiteral', topic: requests, allow: true },
    { acltype: 'publishClientReceive', topic: requests, allow: true, priority: 1 },
    { acltype: 'publishClientReceive', topic: '#', allow: false, priority: 0 },
  ];
}

export function bridgeAcls(): Acl[] {
  const out: Acl[] = [{ acltype: 'publishClientSend', topic: subscriptionFilter('requests'), allow: true }];
  for (const n of agentToBridge()) {
    out.push(
      { acltype: 'subscribePattern', topic: subscriptionFilter(n), allow: true },
      { acltype: 'publishClientReceive', topic: subscriptionFilter(n), allow: true },
    );
  }
  return out;
}

interface RoleData {
  role?: { acls?: { acltype: string; topic: string }[] };
}
interface ClientData {
  client?: { roles?: { rolename: string }[] };
}

/** Creates the bridge role (or adds the ACLs it lacks) and gives it to `username` if needed. */
export async function ensureBridgeRole(dynsec: DynsecClient, username: string, log: Logger): Promise<void> {
  const [role] = await dynsec.run([{ command: 'getRole', rolename: BRIDGE_ROLE }]);
  const have = new Set(
    ((role?.data as RoleData | undefined)?.role?.acls ?? []).map((a) => `${a.acltype} ${a.topic}`),
  );
  const missing = bridgeAcls().filter((a) => !have.has(`${a.acltype} ${a.topic}`));
  if (role?.error) {
    const [created] = await dynsec.run([
      { command: 'createRole', rolename: BRIDGE_ROLE, acls: bridgeAcls() },
    ]);
    if (created?.error) throw new DynsecError('createRole', created.error);
  } else if (missing.length > 0) {
    // Changing a role someone holds disconnects the holders: us, possibly.
    await dynsec.runMayDisconnect(
      missing.map((a) => ({ command: 'addRoleACL', rolename: BRIDGE_ROLE, ...a })),
    );
  }
  const [client] = await dynsec.run([{ command: 'getClient', username }]);
  if (client?.error)
    throw new DynsecError(
      'getClient',
      `${client.error} (the bridge's broker account must be a dynsec client)`,
    );
  const roles = (client?.data as ClientData | undefined)?.client?.roles ?? [];
  if (roles.some((r) => r.rolename === BRIDGE_ROLE)) return;
  log.info('granting the bridge account its broker role (Mosquitto reconnects it once)', {
    role: BRIDGE_ROLE,
  });
  await dynsec.runMayDisconnect([{ command: 'addClientRole', username, rolename: BRIDGE_ROLE }]);
  const [check] = await dynsec.run([{ command: 'getClient', username }]);
  const now = (check?.data as ClientData | undefined)?.client?.roles ?? [];
  if (!now.some((r) => r.rolename === BRIDGE_ROLE))
    throw new DynsecError('addClientRole', 'the role was not granted');
}
