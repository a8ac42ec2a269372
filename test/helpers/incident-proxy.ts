/**
 * A loopback TCP proxy in front of the bridge's HTTP side, for the upload tests: it counts the
 * bytes the agent sends (to show that confirmed bytes are not sent twice) and can cut every
 * connection at once (a cable pulled mid-upload) and refuse new ones until unblocked.
 */
import net from 'node:net';

export class CountingProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private blocked = false;
  port = 0;
  /** Bytes received from clients (agent → bridge). */
  bytesUp = 0;
  /** Connections refused while blocked: proof that the client tried again. */
  refused = 0;
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = net.createServer((client) => {
      if (this.blocked) {
        this.refused++;
        client.destroy();
        return;
      }
      this.connections++;
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => (s === client ? upstream : client).destroy());
      }
      client.on('data', (c: Buffer) => (this.bytesUp += c.length));
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops every connection at once, with no FIN from the far end: a cut cable. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  block(): void {
    this.blocked = true;
    this.cut();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

export function proxyToUrl(url: string): Promise<CountingProxy> {
  const u = new URL(url);
  return new CountingProxy({ host: u.hostname, port: Number(u.port || 80) }).start();
}
