/**
 * Brokers for the link's integration tests: an embedded aedes (MQTT 3.1.1) on
 * an ephemeral loopback port that a test can stop, restart and cut, and the
 * real Mosquitto named by MQTT_URL (CI: mqtt://127.0.0.1:1883), which a test
 * must never restart: it is shared with every other test run on the machine.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';

export interface TestBroker {
  readonly kind: 'aedes' | 'mqtt-url';
  readonly url: string;
  /** Drops every client's TCP connection without a DISCONNECT (a cut link). */
  cut?(): void;
  /** Stops accepting and drops everyone; restart() brings it back on the same port. */
  down?(): Promise<void>;
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export class AedesBroker implements TestBroker {
  readonly kind = 'aedes';
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  private port = 0;
  /** Kept across restarts, as a broker's on-disk persistence would be. */
  private persistence: unknown;
  /** Every client publish in the order the broker received it, across restarts. */
  readonly ingress: { clientId: string; topic: string; payload: Buffer }[] = [];

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.broker = await Aedes.createBroker(this.persistence ? { persistence: this.persistence } : {});
    this.persistence = (this.broker as unknown as { persistence: unknown }).persistence;
    const broker = this.broker;
    broker.on('publish', (packet, client) => {
      if (client)
        this.ingress.push({ clientId: client.id, topic: packet.topic, payload: Buffer.from(packet.payload) });
    });
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  /** The broker's own view, e.g. to publish as the bridge. */
  get aedes(): Aedes {
    if (!this.broker) throw new Error('broker is down');
    return this.broker;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async down(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    this.cut();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
  }

  async restart(): Promise<void> {
    await this.down();
    await this.start();
  }

  async close(): Promise<void> {
    await this.down();
  }
}

export async function startAedes(): Promise<AedesBroker> {
  return new AedesBroker().start();
}

/** The brokers every link integration test runs against. */
export function brokerTargets(): { name: string; start: () => Promise<TestBroker> }[] {
  const targets: { name: string; start: () => Promise<TestBroker> }[] = [
    { name: 'aedes (embedded)', start: startAedes },
  ];
  const url = process.env['MQTT_URL'];
  if (url) targets.push({ name: `MQTT_URL (${url})`, start: () => Promise.resolve(externalBroker(url)) });
  return targets;
}

function externalBroker(url: string): TestBroker {
  return { kind: 'mqtt-url', url, close: () => Promise.resolve() };
}

/** Agent ids unique to this run, so parallel runs on one shared broker never collide. */
export function uniqueAgentId(label: string): string {
  return `t-${label}-${process.pid}-${randomBytes(4).toString('hex')}`.slice(0, 64);
}
