/**
 * A TCP proxy on loopback that can be cut: how a real-time simulation partitions a cell. The
 * cell's processes reach NATS, etcd and Redis only through their cell's proxies; `cut()` resets
 * every connection through it and resets new ones at once (the peer sees ECONNRESET, as across
 * a failed link with a firewall answering), until `heal()`. Clients reconnect on their own.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class CuttableProxy {
  private readonly pairs = new Set<Socket>();
  private cutNow = false;
  private server: Server | undefined;
  /** Connections accepted (forwarded) and reset while cut. */
  readonly stats = { accepted: 0, refused: 0 };

  private constructor(
    readonly name: string,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free loopback port; connections go to `target`. */
  static async start(name: string, target: { host: string; port: number }): Promise<CuttableProxy> {
    const p = new CuttableProxy(name, target);
    const server = createServer({ noDelay: true }, (client) => p.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    p.server = server;
    return p;
  }

  get port(): number {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error(`proxy ${this.name} is not listening`);
    return a.port;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** `url` with its host:port replaced by this proxy's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  }

  private accept(client: Socket): void {
    if (this.cutNow) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.stats.accepted++;
    const upstream = createConnection({ ...this.target, noDelay: true });
    const pair = [client, upstream];
    for (const s of pair) {
      this.pairs.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.pairs.delete(s);
        for (const other of pair) if (other !== s) other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Resets every connection through the proxy and every new one until `heal()`. */
  cut(): void {
    this.cutNow = true;
    for (const s of [...this.pairs]) s.resetAndDestroy();
    this.pairs.clear();
  }

  heal(): void {
    this.cutNow = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** host and port of a URL (nats://, http://, redis://), with the scheme's default port. */
export function hostPort(url: string): { host: string; port: number } {
  if (url.includes(','))
    throw new Error(
      `the real-time simulator cuts a cell's connections through one proxy per server: give it one URL per service, not a cluster (${url})`,
    );
  const u = new URL(url);
  const defaults: Record<string, number> = { 'nats:': 4222, 'http:': 80, 'redis:': 6379 };
  const port = u.port ? Number(u.port) : defaults[u.protocol];
  if (!port) throw new Error(`no port in ${url}`);
  return { host: u.hostname, port };
}
