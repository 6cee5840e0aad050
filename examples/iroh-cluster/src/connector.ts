/**
 * IrohPeerConnector: outbound connections to peers, the shape of the design's IrohPeerConnector.
 *
 * - one generic-pool pool of Iroh connections per peer (`pools`), handed out per request and given
 *   back afterwards, evicted after some idle time;
 * - one opossum circuit breaker per peer (`breakers`) around getting a connection, so a peer that
 *   refuses or does not answer is left alone for `resetTimeout` before a trial call (half-open);
 * - a connect timeout on every dial (Iroh's own is 30 s).
 *
 * `connectToPeer`, `disconnectFromPeer`, `breakers` and `pools` are the names p2p-otel's connector
 * instrumentation looks for: attempts, handshakes, states, errors, breaker states, pool sizes,
 * waits, reuses and evictions are then recorded without a line of metrics code here.
 */
import type { Connection, Endpoint, EndpointAddr } from '@number0/iroh';
import CircuitBreaker from 'opossum';
import { createPool, type Pool } from 'generic-pool';
import { errorWithCode } from './protocol.js';

export interface IrohPeerConnectorOptions {
  endpoint: Endpoint;
  alpn: number[];
  /** A dial that has not completed by then fails with ETIMEDOUT (default 1500 ms). */
  connectTimeoutMs?: number;
  /** Connections per peer at most (default 2). */
  maxConnectionsPerPeer?: number;
  /** An idle pooled connection is closed after this long (default 5000 ms). */
  idleTimeoutMs?: number;
  /** opossum options over these defaults: 50 % errors over at least 3 calls in 5 s open it; 2 s to half-open. */
  breaker?: CircuitBreaker.Options;
  /** Breaker state changes are logged here (the metrics come from the instrumentation). */
  log?: (line: string) => void;
}

interface PeerEntry {
  addr: EndpointAddr;
  pool: Pool<Connection>;
  /** Connections dialled by lease(), waiting to be adopted by the pool's factory. */
  dialled: Connection[];
}

const isOpen = (connection: Connection): boolean => connection.closeReason() === null;

export class IrohPeerConnector {
  readonly breakers = new Map<string, CircuitBreaker<[string], Connection>>();
  readonly pools = new Map<string, Pool<Connection>>();
  private readonly peers = new Map<string, PeerEntry>();
  private readonly addresses = new Map<string, EndpointAddr>();
  /** Every open outbound connection, pooled or not. */
  private readonly live = new Set<Connection>();
  /** The pool each lent connection goes back to (a peer's pool may be replaced meanwhile). */
  private readonly lentBy = new WeakMap<Connection, Pool<Connection>>();
  private closed = false;
  /** Cut off from the network (the demo's `isolate` fault): every dial fails with ENETUNREACH. */
  offline = false;

  constructor(private readonly options: IrohPeerConnectorOptions) {}

  /** Where to reach a peer (from discovery). Replacing an address drops the pooled connections. */
  setPeerAddress(peerId: string, addr: EndpointAddr): void {
    const known = this.addresses.get(peerId);
    this.addresses.set(peerId, addr);
    if (known !== undefined && !known.equal(addr)) this.disconnectFromPeer(peerId).catch(() => undefined);
  }

  /** A pooled connection to the peer: an idle one if there is one, else a new one. */
  connectToPeer(peerId: string): Promise<Connection> {
    return this.breakerFor(peerId).fire(peerId);
  }

  /** Gives a connection back to its pool after a request. */
  release(connection: Connection): void {
    const pool = this.lentBy.get(connection);
    this.lentBy.delete(connection);
    if (pool?.isBorrowedResource(connection)) pool.release(connection).catch(() => undefined);
  }

  /** A request failed on this connection: close it and take it out of its pool. */
  discard(connection: Connection): void {
    const pool = this.lentBy.get(connection);
    this.lentBy.delete(connection);
    if (pool?.isBorrowedResource(connection)) pool.destroy(connection).catch(() => undefined);
    else if (isOpen(connection)) connection.close(0n, Array.from(Buffer.from('discarded')));
  }

  /** Closes every connection to the peer (its breaker stays, with its state). */
  async disconnectFromPeer(peerId: string): Promise<void> {
    const entry = this.peers.get(peerId);
    if (entry === undefined) return;
    this.peers.delete(peerId);
    this.pools.delete(peerId);
    for (const connection of entry.dialled.splice(0)) connection.close(0n, Array.from(Buffer.from('disconnect')));
    await entry.pool.drain(); // waits for connections still lent out
    await entry.pool.clear();
  }

  /** Closes every open outbound connection, pooled or lent out (the demo's `isolate` fault). */
  dropConnections(reason: string): void {
    for (const connection of this.live) connection.close(0n, Array.from(Buffer.from(reason)));
  }

  /** Every open outbound connection (for diagnostics: Iroh's per-connection QUIC stats). */
  openConnections(): Connection[] {
    return [...this.live];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const breaker of this.breakers.values()) breaker.shutdown();
    await Promise.all([...this.peers.keys()].map((peer) => this.disconnectFromPeer(peer)));
  }

  private breakerFor(peerId: string): CircuitBreaker<[string], Connection> {
    let breaker = this.breakers.get(peerId);
    if (breaker === undefined) {
      breaker = new CircuitBreaker((peer: string) => this.lease(peer), {
        timeout: false, // the dial has its own timeout, which also closes a connection that completes late
        errorThresholdPercentage: 50,
        volumeThreshold: 3,
        rollingCountTimeout: 5_000,
        resetTimeout: 2_000,
        ...this.options.breaker,
        name: peerId,
      });
      const { log } = this.options;
      if (log !== undefined) {
        const peer = peerId.slice(0, 10);
        breaker.on('open', () => log(`breaker for ${peer} open`));
        breaker.on('halfOpen', () => log(`breaker for ${peer} half-open`));
        breaker.on('close', () => log(`breaker for ${peer} closed`));
      }
      this.breakers.set(peerId, breaker);
    }
    return breaker;
  }

  /**
   * Takes a connection from the peer's pool. When the pool has none idle and room for one more, the
   * dial happens here, before `acquire()`: generic-pool retries a failing factory `create()` for as
   * long as a caller waits, so a refused dial inside the factory would loop instead of failing this
   * call (and the breaker would never see it). The factory only adopts the connection dialled here.
   */
  private async lease(peerId: string): Promise<Connection> {
    if (this.closed) throw errorWithCode('connector closed', 'ECONNABORTED');
    for (let attempt = 0; ; attempt++) {
      const entry = this.entryFor(peerId);
      if (entry.pool.available === 0 && entry.pool.spareResourceCapacity > 0) {
        entry.dialled.push(await this.dial(peerId, entry.addr));
      }
      const connection = await entry.pool.acquire();
      if (isOpen(connection)) {
        this.lentBy.set(connection, entry.pool);
        return connection;
      }
      // Closed while idle (the peer went away or restarted): evict it and get another one.
      await entry.pool.destroy(connection).catch(() => undefined);
      if (attempt >= 2) throw errorWithCode(`connection to ${peerId.slice(0, 10)} closed: ${connection.closeReason() ?? ''}`, 'ECONNRESET');
    }
  }

  private async dial(peerId: string, addr: EndpointAddr): Promise<Connection> {
    if (this.offline) throw errorWithCode(`network unreachable: cannot dial ${peerId.slice(0, 10)}`, 'ENETUNREACH');
    const timeoutMs = this.options.connectTimeoutMs ?? 1_500;
    const pending = this.options.endpoint.connect(addr, this.options.alpn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A dial that completes after its deadline is nobody's: close it.
        pending.then(
          (late) => late.close(0n, Array.from(Buffer.from('connect timed out'))),
          () => undefined,
        );
        reject(errorWithCode(`connect to ${peerId.slice(0, 10)} timed out after ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
    });
    try {
      const connection = await Promise.race([pending, timeout]);
      this.live.add(connection);
      const forget = (): void => void this.live.delete(connection);
      connection.closed().then(forget, forget);
      return connection;
    } finally {
      clearTimeout(timer);
    }
  }

  private entryFor(peerId: string): PeerEntry {
    let entry = this.peers.get(peerId);
    if (entry !== undefined) return entry;
    const addr = this.addresses.get(peerId);
    if (addr === undefined) throw errorWithCode(`no address for peer ${peerId.slice(0, 10)}`, 'EADDRNOTAVAIL');
    const dialled: Connection[] = [];
    const pool = createPool<Connection>(
      {
        // Adopts the connection lease() dialled (see there). Dials itself only in a corner case (a
        // pool at its maximum with callers waiting loses a connection), within the acquire timeout.
        create: () => {
          for (let c = dialled.shift(); c !== undefined; c = dialled.shift()) if (isOpen(c)) return Promise.resolve(c);
          return this.dial(peerId, addr);
        },
        destroy: async (connection) => {
          if (isOpen(connection)) connection.close(0n, Array.from(Buffer.from('evicted')));
        },
      },
      {
        max: this.options.maxConnectionsPerPeer ?? 2,
        min: 0,
        idleTimeoutMillis: this.options.idleTimeoutMs ?? 5_000,
        evictionRunIntervalMillis: 1_000,
        acquireTimeoutMillis: 3_000,
      },
    );
    entry = { addr, pool, dialled };
    this.peers.set(peerId, entry);
    this.pools.set(peerId, pool);
    return entry;
  }
}
