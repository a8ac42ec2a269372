/**
 * A client for Mosquitto's dynamic security plugin (mosquitto.org/documentation/dynamic-security):
 * JSON commands published to `$CONTROL/dynamic-security/v1`, answers on `.../v1/response`, each
 * command matched to its answer by `correlationData`. Commands in one message run in order.
 *
 * Besides mqtt/link.ts this is the only MQTT.js client in the bridge; it talks only to the
 * $CONTROL topic, with the dynsec admin account of the broker URL.
 *
 * Per device (agent id X): a role `camconnect-device-X` allowing publishClientSend on X's five
 * agent→bridge topics, subscribeLiteral and publishClientReceive on X's `requests` (receive of
 * anything else denied at lower priority), and a client with username = client id = X holding
 * that role. Role and client are created in one message; deleteClient disconnects a connected
 * client (Mosquitto 2.0: "administrative action", MQTT 5 reason 0x98) and it cannot log in again.
 *
 * Commands are sent only while connected, at QoS 0 and never queued: MQTT.js would otherwise
 * keep them (QoS 1 in its outgoing store, QoS 0 in its offline queue) and send a createClient
 * after reconnecting, when the enrollment that asked for it had long rolled back. A command
 * that got no answer may still have run: the caller schedules cleanupLater() for it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { redactUrl } from '../../lib/redact.js';
import {
  deviceAcls,
  deviceRole,
  DynsecError,
  ensureBridgeRole,
  type Answer,
  type Command,
} from './dynsec-roles.js';

export { DynsecError };

const CONTROL = '$CONTROL/dynamic-security/v1';
const RESPONSE = `${CONTROL}/response`;

const notFound = (e: string | undefined) => e !== undefined && /not found/i.test(e);

export class DynsecClient implements Service {
  readonly name = 'mqtt-dynsec';
  private client: MqttClient | undefined;
  private readonly waiting = new Map<string, (a: Answer) => void>();
  private readonly pendingCleanup = new Set<string>();

  constructor(
    /** The broker URL with the dynsec admin account (also the bridge's own account). */
    private readonly url: string,
    private readonly log: Logger,
    private readonly timeoutMs = 15_000,
  ) {}

  async start(signal: AbortSignal): Promise<void> {
    const client = await mqtt.connectAsync(this.url, {
      clientId: `camconnect-bridge-dynsec-${randomBytes(6).toString('hex')}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 1000,
      queueQoSZero: false,
      connectTimeout: 10_000,
    });
    this.client = client;
    if (signal.aborted) {
      await client.endAsync(true);
      signal.throwIfAborted();
    }
    client.on('error', (err) => this.log.warn('dynsec connection error', { error: err.message }));
    client.on('message', (_topic, payload) => this.onAnswer(payload));
    client.on('connect', () => void this.retryCleanup());
    try {
      await client.subscribeAsync(RESPONSE, { qos: 1 });
    } catch (err) {
      await client.endAsync(true);
      throw new DynsecError(
        'subscribe',
        `the account in --mqtt-url may not use dynamic security (${(err as Error).message}); give it the dynsec admin role`,
      );
    }
    const username = new URL(this.url).username;
    if (username) await ensureBridgeRole(this, decodeURIComponent(username), this.log);
    this.log.info('dynamic security connected', { url: redactUrl(this.url) });
  }

  private onAnswer(payload: Buffer): void {
    let answers: Answer[];
    try {
      answers = (JSON.parse(payload.toString('utf8')) as { responses?: Answer[] }).responses ?? [];
    } catch (err) {
      this.log.warn('unreadable dynsec answer', { error: (err as Error).message });
      return;
    }
    for (const a of answers) {
      const resolve = a.correlationData ? this.waiting.get(a.correlationData) : undefined;
      if (resolve) resolve(a);
    }
  }

  /** Sends commands in one message; resolves with their answers in order. */
  async run(commands: Command[]): Promise<Answer[]> {
    const client = this.client;
    if (!client?.connected)
      throw new DynsecError(commands[0]?.command ?? 'command', 'the broker is not connected');
    const ids = commands.map(() => randomUUID());
    const answers = ids.map(
      (id) =>
        new Promise<Answer>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.waiting.delete(id);
            reject(
              new DynsecError(
                commands[0]?.command ?? 'command',
                'no answer from the broker (is the dynamic security plugin loaded?)',
              ),
            );
          }, this.timeoutMs);
          this.waiting.set(id, (a) => {
            clearTimeout(timer);
            this.waiting.delete(id);
            resolve(a);
          });
        }),
    );
    const sent = client.publishAsync(
      CONTROL,
      JSON.stringify({ commands: commands.map((c, i) => ({ ...c, correlationData: ids[i] })) }),
      { qos: 0 },
    );
    const all = Promise.all(answers);
    await Promise.all([sent, all]);
    return all;
  }

  /**
   * Runs commands that may make Mosquitto disconnect this very client (changing its own roles):
   * resolves on the answer, or once reconnected after such a disconnect. The caller checks the
   * result with a read command.
   */
  async runMayDisconnect(commands: Command[]): Promise<void> {
    const client = this.client;
    if (!client) throw new DynsecError(commands[0]?.command ?? 'command', 'not started');
    const kicked = new Promise<'kicked'>((resolve) => client.once('close', () => resolve('kicked')));
    const answered = this.run(commands).then(
      (answers) => answers,
      (err: Error) => err,
    );
    if ((await Promise.race([answered, kicked])) !== 'kicked') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DynsecError('reconnect', 'the broker did not take the bridge back')),
        this.timeoutMs,
      );
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Creates the device's role and client. On failure nothing of it is left behind. */
  async createDevice(agentId: string, password: string): Promise<void> {
    const rolename = deviceRole(agentId);
    const answers = await this.run([
      { command: 'createRole', rolename, acls: deviceAcls(agentId) },
      { command: 'createClient', username: agentId, password, clientid: agentId, roles: [{ rolename }] },
    ]);
    const bad = answers.find((a) => a.error);
    if (bad) {
      await this.removeDevice(agentId);
      throw new DynsecError(bad.command, bad.error ?? 'error');
    }
  }

  /** Deletes the client (disconnecting it) and its role; "not found" counts as done. */
  async removeDevice(agentId: string): Promise<void> {
    const answers = await this.run([
      { command: 'deleteClient', username: agentId },
      { command: 'deleteRole', rolename: deviceRole(agentId) },
    ]);
    const bad = answers.find((a) => a.error && !notFound(a.error));
    if (bad) throw new DynsecError(bad.command, bad.error ?? 'error');
  }

  /**
   * Best-effort undo of a createDevice whose enrollment then failed (e.g. the database commit):
   * tried now, and again on every reconnect until it succeeds.
   */
  cleanupLater(agentId: string): void {
    this.pendingCleanup.add(agentId);
    void this.retryCleanup();
  }

  private async retryCleanup(): Promise<void> {
    for (const agentId of [...this.pendingCleanup]) {
      try {
        await this.removeDevice(agentId);
        this.pendingCleanup.delete(agentId);
      } catch (err) {
        this.log.warn('could not remove an orphaned dynsec client yet', {
          agent: agentId,
          error: (err as Error).message,
        });
      }
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync();
  }

  health(): Health {
    return {
      state: this.client?.connected ? 'ok' : this.client ? 'degraded' : 'stopped',
      orphans: this.pendingCleanup.size,
    };
  }
}
