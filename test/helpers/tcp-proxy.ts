/**
 * A loopback TCP proxy that tests put in front of a broker or the bridge's HTTP side: it can cut
 * every connection at once (a cable pulled mid-publish or mid-upload), refuse new ones until
 * unblocked, and counts the bytes clients send (to show confirmed bytes are not sent twice).
 */
import net from 'node:net';

export class CutProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private blocked = false;
  port = 0;
  /** Bytes received from clients (agent → bridge). */
  bytesUp = 0;
  /** Connections refused while blocked: proof that the client tried again. */
  refused = 0;
  connections = 0;

  constructor(
    private readonly target: { host: string; port: number },
    /** URL scheme of what is proxied, for `url`. */
    private readonly scheme = 'http',
  ) {}

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
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

/** A started proxy in front of an http:// or mqtt:// URL; its `url` has the same scheme. */
export function proxyToUrl(url: string): Promise<CutProxy> {
  const u = new URL(url);
  const scheme = u.protocol.replace(/:$/, '');
  const port = Number(u.port || (scheme === 'mqtt' ? 1883 : 80));
  return new CutProxy({ host: u.hostname, port }, scheme).start();
}
