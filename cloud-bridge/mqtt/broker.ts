/**
 * The embedded broker (aedes) for a single-box install: the bridge and the agents talk to it as
 * to any MQTT broker. It speaks MQTT 3.1.1 only (aedes does not implement MQTT 5), which is
 * enough for one bridge instance; scaling out means a real broker and shared subscriptions.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import type { Health, Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import type { EmbeddedBrokerAuth } from '../enrollment/aedes-auth.js';

export class EmbeddedBroker implements Service {
  readonly name = 'mqtt-broker';
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private state: Health['state'] = 'stopped';
  private boundPort = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    /** Registry-backed authentication and topic authorization (cloud-bridge/enrollment). */
    private readonly auth?: EmbeddedBrokerAuth,
  ) {}

  /** mqtt://host:port once started. */
  get url(): string {
    return `mqtt://${this.host}:${this.boundPort}`;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.state = 'starting';
    const broker = await Aedes.createBroker({ ...this.auth?.hooks() });
    this.auth?.attach(broker);
    this.broker = broker;
    broker.on('clientError', (client, err) =>
      this.log.debug('mqtt client error', { client: client.id, error: err.message }),
    );
    const server = createServer((socket) => broker.handle(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        signal.removeEventListener('abort', onAbort);
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.state = 'ok';
    this.log.info('embedded MQTT broker listening', { url: this.url });
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.state = 'stopped';
  }

  health(): Health {
    return {
      state: this.state,
      url: this.server ? this.url : undefined,
      clients: this.broker?.connectedClients ?? 0,
    };
  }
}
