import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes held while black-holed, per direction, delivered in order on restore (as TCP retransmission would). */
  held: { up: Buffer[]; down: Buffer[] };
}

/**
 * A TCP proxy between the server under test and a real service (PostgreSQL),
 * which can black-hole traffic (nothing passes, nothing is refused: packets
 * dropped on the wire) or reset every connection (a restart, a failover).
 * Only ever listens on and connects to 127.0.0.1.
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private holding = false;

  private constructor(
    private readonly server: Server,
    private readonly target: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((client) => proxy.accept(client));
    proxy = new FaultProxy(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on nothing gets through, in either direction, and new connections hang. */
  blackhole(): void {
    this.holding = true;
  }

  /** Traffic flows again; what was held is delivered, so connections that waited survive. */
  restore(): void {
    this.holding = false;
    for (const p of this.pairs) {
      if (!p.upstream) this.connectUpstream(p);
      else this.flush(p);
    }
  }

  /** Every open connection is reset at once. */
  reset(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.upstream?.resetAndDestroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined, held: { up: [], down: [] } };
    this.pairs.add(pair);
    client.on('data', (chunk) => {
      pair.held.up.push(chunk);
      this.flush(pair);
    });
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    if (!this.holding) this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = connect(this.target, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('data', (chunk) => {
      pair.held.down.push(chunk);
      this.flush(pair);
    });
    const drop = () => {
      this.pairs.delete(pair);
      upstream.destroy();
      pair.client.destroy();
    };
    upstream.on('error', drop);
    upstream.on('close', drop);
    upstream.on('connect', () => this.flush(pair));
  }

  private flush(p: Pair): void {
    if (this.holding || !p.upstream || p.upstream.connecting) return;
    for (const chunk of p.held.up.splice(0)) p.upstream.write(chunk);
    for (const chunk of p.held.down.splice(0)) p.client.write(chunk);
  }
}
