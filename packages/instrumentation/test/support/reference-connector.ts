import CircuitBreaker from 'opossum';
import { createPool, type Options as PoolOptions, type Pool } from 'generic-pool';

/**
 * A peer connector written the way an application would write one, with no knowledge of the
 * instrumentation: a per-peer opossum circuit breaker around each dial, and a per-peer
 * generic-pool pool of connections (undici's Agent keeps one pool per origin the same way).
 * Connections are fakes shaped like Iroh's: `closed()` resolves with the close reason.
 *
 * Failures are injected per peer: `refuse` (ECONNREFUSED), `reset` (ECONNRESET) or `timeout`
 * (the dial never settles; opossum's `timeout` ends it with its ETIMEDOUT error).
 */

export type FailureMode = 'refuse' | 'timeout' | 'reset';

export class FakeConnection {
  private static created = 0;
  readonly id = ++FakeConnection.created;
  isClosed = false;
  closeReason: string | undefined;
  private readonly whenClosed: Promise<string>;
  private resolveClosed!: (reason: string) => void;

  constructor(readonly peerId: string) {
    this.whenClosed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** Like Iroh's Connection.closed(): resolves with the reason once the connection is closed. */
  closed(): Promise<string> {
    return this.whenClosed;
  }

  close(reason = 'closed locally'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    this.resolveClosed(reason);
  }
}

export interface ReferenceConnectorOptions {
  /** opossum options for every peer's breaker, over these defaults: timeout 50 ms, reset 100 ms. */
  breaker?: CircuitBreaker.Options;
  /** generic-pool options for every peer's pool, over max 4. */
  pool?: PoolOptions;
  /** Time a successful dial takes, in milliseconds (default 2). */
  dialMs?: number;
}

/** The error a dial fails with in each failure mode (timeout has none: opossum makes it). */
export function dialError(mode: Exclude<FailureMode, 'timeout'>, peerId: string): Error {
  return mode === 'refuse' ? Object.assign(new Error(`connect ECONNREFUSED (peer ${peerId})`), { code: 'ECONNREFUSED' }) : Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ReferenceConnector {
  readonly breakers = new Map<string, CircuitBreaker<[string], FakeConnection>>();
  readonly pools = new Map<string, Pool<FakeConnection>>();
  /** Failure injected for a peer's dials; delete the entry to let them succeed again. */
  readonly failures = new Map<string, FailureMode>();
  /** Connections handed out and not given back, per peer. */
  readonly leased = new Map<string, FakeConnection[]>();

  constructor(private readonly options: ReferenceConnectorOptions = {}) {}

  /** Resolves to a pooled connection to the peer: an idle one when there is one, else a new one. */
  async connectToPeer(peerId: string): Promise<FakeConnection> {
    return this.breakerFor(peerId).fire(peerId);
  }

  /** Gives the peer's most recent connection back to its pool (it stays open until evicted). */
  async disconnectFromPeer(peerId: string): Promise<void> {
    const connection = this.leased.get(peerId)?.pop();
    if (connection !== undefined) await this.poolFor(peerId).release(connection);
  }

  /** Stops everything: breakers shut down, connections given back, pools drained and cleared. */
  async close(): Promise<void> {
    for (const breaker of this.breakers.values()) breaker.shutdown();
    for (const [peerId, pool] of this.pools) {
      // A connection the test destroyed through the pool is no longer its to take back.
      for (const connection of this.leased.get(peerId) ?? []) await pool.release(connection).catch(() => undefined);
      await pool.drain();
      await pool.clear();
    }
    this.leased.clear();
  }

  private breakerFor(peerId: string): CircuitBreaker<[string], FakeConnection> {
    let breaker = this.breakers.get(peerId);
    if (breaker === undefined) {
      breaker = new CircuitBreaker((peer: string) => this.dial(peer), {
        timeout: 50,
        resetTimeout: 100,
        ...this.options.breaker,
        name: peerId,
      });
      this.breakers.set(peerId, breaker);
    }
    return breaker;
  }

  private async dial(peerId: string): Promise<FakeConnection> {
    const failure = this.failures.get(peerId);
    if (failure === 'timeout') return new Promise<never>(() => undefined);
    if (failure !== undefined) {
      await delay(1);
      throw dialError(failure, peerId);
    }
    const connection = await this.poolFor(peerId).acquire();
    const leased = this.leased.get(peerId);
    if (leased === undefined) this.leased.set(peerId, [connection]);
    else leased.push(connection);
    return connection;
  }

  private poolFor(peerId: string): Pool<FakeConnection> {
    let pool = this.pools.get(peerId);
    if (pool === undefined) {
      const dialMs = this.options.dialMs ?? 2;
      pool = createPool(
        {
          create: async () => {
            await delay(dialMs);
            return new FakeConnection(peerId);
          },
          destroy: async (connection) => connection.close('evicted'),
        },
        { max: 4, ...this.options.pool },
      );
      this.pools.set(peerId, pool);
    }
    return pool;
  }
}
