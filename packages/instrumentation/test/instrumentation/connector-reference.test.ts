import CircuitBreaker from 'opossum';
import { createPool, type Pool } from 'generic-pool';
import type { ConnectorOptions } from '../../src/index.js';
import type { CircuitBreakerLike } from '../../src/instrumentation/circuit-breaker.js';
import { observePool, type PoolLike } from '../../src/instrumentation/connection-pool.js';
import { valueOf } from '../support/read.js';
import { FakeConnection, ReferenceConnector } from '../support/reference-connector.js';
import { instrumentation, sleep, tick } from './harness.js';

/**
 * The reference connector (real opossum breakers, real generic-pool pools) under the
 * instrumentation, with nothing mocked: the exact metric values each scenario must produce.
 */

const A = 'peer-aaaaaaaaaaaa';
const B = 'peer-bbbbbbbbbbbb';
const transition = (from: string, to: string, peer = A) => ({ from_state: from, to_state: to, peer_id: peer });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function setup(options: ConstructorParameters<typeof ReferenceConnector>[0] = {}) {
  const h = instrumentation();
  const connector = new ReferenceConnector(options);
  h.inst.instrumentConnector(connector);
  cleanup.push(() => connector.close());
  cleanup.push(() => h.inst.uninstrumentAll()); // first: closing the connector records nothing
  return { ...h, connector };
}

// Compile-time: opossum breakers and generic-pool pools satisfy the contracts as they are.
type Assignable<T, U extends T> = U;
export type OpossumIsABreaker = Assignable<CircuitBreakerLike, CircuitBreaker<[string], FakeConnection>>;
export type GenericPoolIsAPool = Assignable<PoolLike, Pool<FakeConnection>>;
export const referenceOptions: ConnectorOptions = {
  breakers: (c) => (c as ReferenceConnector).breakers,
  pool: (c) => (c as ReferenceConnector).pools,
};

describe('reference connector: dials and reuse', () => {
  it('dials once, then reuses the pooled connection; pool wait, size and idle count', async () => {
    const { connector, collect } = setup();
    const first = await connector.connectToPeer(A);
    let rm = await collect();
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('connecting', 'connected'))).toBe(1);
    expect(valueOf(rm, 'handshakeDuration', { peer_id: A })).toMatchObject({ count: 1 });
    expect(valueOf(rm, 'connectionsPooled')).toBe(1);
    expect(valueOf(rm, 'connectionsIdle')).toBe(0);
    expect(valueOf(rm, 'poolUtilization')).toBe(1);

    // Given back to its pool, not closed: still a connection, now idle.
    await connector.disconnectFromPeer(A);
    rm = await collect();
    expect(valueOf(rm, 'connectionsIdle')).toBe(1);
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(1);
    expect(valueOf(rm, 'connectionsActive', { state: 'disconnecting' })).toBe(0);

    expect(await connector.connectToPeer(A)).toBe(first);
    await connector.connectToPeer(B);
    rm = await collect();
    expect(valueOf(rm, 'connectionReuses', { peer_id: A })).toBe(1);
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(valueOf(rm, 'connectionAttempts', { peer_id: B, result: 'success' })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);
    // The acquire that creates a peer's pool runs before the pool is discovered: the reuse is timed.
    expect(valueOf(rm, 'poolWaitTime')).toMatchObject({ count: 1 });
    expect(valueOf(rm, 'connectionsPooled')).toBe(2);
    expect(valueOf(rm, 'connectionsIdle')).toBe(0);
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(2);
    expect(valueOf(rm, 'connectionsActive', { state: 'connecting' })).toBe(0);
  });

  it.each([
    ['refuse', 'failed', 'refused'],
    ['reset', 'failed', 'reset'],
    ['timeout', 'timeout', 'timeout'],
  ] as const)('a %s dial: attempt %s, error %s, breaker failure', async (mode, result, errorType) => {
    const { connector, collect } = setup({ breaker: { timeout: 30 } });
    connector.failures.set(A, mode);
    const error = await connector.connectToPeer(A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const rm = await collect();
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result })).toBe(1);
    expect(valueOf(rm, 'connectionErrors', { peer_id: A, error_type: errorType })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('connecting', 'failed'))).toBe(1);
    expect(valueOf(rm, 'circuitBreakerFailures', { peer_id: A })).toBe(1);
    expect(valueOf(rm, 'connectionsActive', { state: 'connecting' })).toBe(0);
  });
});

describe('reference connector: circuit breakers', () => {
  it('open → halfOpen → close, failures counted, fail-fast rejections refused', async () => {
    const { connector, collect } = setup({ breaker: { resetTimeout: 150 } });
    const state = (rm: Parameters<typeof valueOf>[0]) => Object.fromEntries(['closed', 'open', 'half_open'].map((s) => [s, valueOf(rm, 'circuitBreakerState', { peer_id: A, state: s })]));

    connector.failures.set(A, 'refuse');
    await expect(connector.connectToPeer(A)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    let rm = await collect();
    expect(state(rm)).toEqual({ closed: 0, open: 1, half_open: 0 }); // opossum: one failure of one fire opens
    expect(valueOf(rm, 'circuitBreakerFailures', { peer_id: A })).toBe(1);

    await expect(connector.connectToPeer(A)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    rm = await collect();
    expect(valueOf(rm, 'circuitBreakerFailures', { peer_id: A })).toBe(1); // a rejection is not a failure
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'failed' })).toBe(2);
    expect(valueOf(rm, 'connectionErrors', { peer_id: A, error_type: 'refused' })).toBe(2);

    await sleep(200);
    expect(state(await collect())).toEqual({ closed: 0, open: 0, half_open: 1 });

    connector.failures.delete(A);
    await connector.connectToPeer(A);
    rm = await collect();
    expect(state(rm)).toEqual({ closed: 1, open: 0, half_open: 0 });
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
  });

  it('records the state a breaker is in when it is discovered', async () => {
    const h = instrumentation();
    const connector = new ReferenceConnector();
    cleanup.push(() => connector.close());
    connector.failures.set(A, 'refuse');
    await connector.connectToPeer(A).catch(() => undefined); // opened before instrumentation
    h.inst.instrumentConnector(connector);
    cleanup.push(() => h.inst.uninstrumentAll());
    expect(await h.value('circuitBreakerState', { peer_id: A, state: 'open' })).toBe(1);
    expect(await h.value('circuitBreakerFailures', { peer_id: A })).toBeUndefined();
  });

  it('does not change how the breaker behaves', async () => {
    const run = async (instrumented: boolean) => {
      const connector = new ReferenceConnector({ breaker: { resetTimeout: 150, volumeThreshold: 2 } });
      cleanup.push(() => connector.close());
      if (instrumented) {
        const h = instrumentation();
        h.inst.instrumentConnector(connector);
        cleanup.push(() => h.inst.uninstrumentAll());
      }
      const outcomes: string[] = [];
      const attempt = async () =>
        outcomes.push(
          await connector.connectToPeer(A).then(
            () => 'ok',
            (e: { code?: string }) => e.code ?? 'error',
          ),
        );
      connector.failures.set(A, 'reset');
      for (let i = 0; i < 4; i++) await attempt();
      await sleep(200);
      connector.failures.delete(A);
      for (let i = 0; i < 2; i++) await attempt();
      const { fires, failures, rejects, successes } = connector.breakers.get(A)!.stats;
      return { outcomes, fires, failures, rejects, successes, closed: connector.breakers.get(A)!.closed };
    };
    const plain = await run(false);
    expect(await run(true)).toEqual(plain);
    expect(plain.outcomes).toEqual(['ECONNRESET', 'ECONNRESET', 'EOPENBREAKER', 'EOPENBREAKER', 'ok', 'ok']);
  });
});

describe('reference connector: pool evictions', () => {
  it('an idle eviction closes the connection: eviction idle, close transitions, duration', async () => {
    const { connector, collect } = setup({ pool: { evictionRunIntervalMillis: 10, idleTimeoutMillis: 15 } });
    const conn = await connector.connectToPeer(A);
    await connector.disconnectFromPeer(A);
    for (let i = 0; i < 50 && !conn.isClosed; i++) await sleep(10);
    expect(conn.closeReason).toBe('evicted');
    await tick();
    const rm = await collect();
    expect(valueOf(rm, 'poolEvictions', { reason: 'idle' })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('connected', 'disconnecting'))).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
    expect(valueOf(rm, 'connectionDuration', { peer_id: A })).toMatchObject({ count: 1 });
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(0);
    expect(valueOf(rm, 'connectionsPooled')).toBe(0);
  });

  it('destroy() is an error eviction; evictionReason names others (capacity)', async () => {
    const h = instrumentation();
    const connector = new ReferenceConnector();
    const forRoom = new WeakSet<object>();
    h.inst.instrumentConnector(connector, { evictionReason: (r) => (forRoom.has(r as object) ? 'capacity' : undefined) });
    cleanup.push(() => connector.close());
    cleanup.push(() => h.inst.uninstrumentAll());

    const broken = await connector.connectToPeer(A);
    await connector.pools.get(A)!.destroy(broken);
    const lru = await connector.connectToPeer(A);
    forRoom.add(lru);
    await connector.pools.get(A)!.destroy(lru);
    await tick();
    const rm = await h.collect();
    expect(valueOf(rm, 'poolEvictions', { reason: 'error' })).toBe(1);
    expect(valueOf(rm, 'poolEvictions', { reason: 'capacity' })).toBe(1);
    expect(valueOf(rm, 'poolEvictions', { reason: 'idle' })).toBeUndefined();
    expect(valueOf(rm, 'connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(2);
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'success' })).toBe(2);
  });

  it('pool callbacks that throw: the inferred reason is kept, the reuse dropped, internal_error counted', async () => {
    const h = instrumentation();
    const connector = new ReferenceConnector();
    const bug = () => {
      throw new Error('callback bug');
    };
    h.inst.instrumentConnector(connector, { evictionReason: bug, poolPeerId: bug });
    cleanup.push(() => connector.close());
    cleanup.push(() => h.inst.uninstrumentAll());
    const conn = await connector.connectToPeer(A);
    // The pool is discovered after its first acquire: it sees the resource again from the third on.
    for (let i = 0; i < 2; i++) {
      await connector.disconnectFromPeer(A);
      expect(await connector.connectToPeer(A)).toBe(conn);
    }
    await connector.pools.get(A)!.destroy(conn);
    const rm = await h.collect();
    expect(valueOf(rm, 'poolEvictions', { reason: 'error' })).toBe(1);
    expect(valueOf(rm, 'connectionReuses', { peer_id: A })).toBe(2); // counted by the connector instead
    expect(h.inst.rejectedRecords().internal_error).toBe(2);
  });
});

describe('reference connector: restore', () => {
  it('restores every method exactly and removes every breaker listener', async () => {
    const { inst, connector } = setup({ pool: { evictionRunIntervalMillis: 1_000 } });
    const fresh = new CircuitBreaker(async () => 1);
    const events = ['open', 'halfOpen', 'close', 'failure'];
    const baseline = events.map((e) => fresh.listenerCount(e));
    fresh.shutdown();

    await connector.connectToPeer(A);
    await connector.connectToPeer(B).catch(() => undefined);
    await tick();
    const breaker = connector.breakers.get(A)!;
    const pool = connector.pools.get(A)!;
    expect(events.map((e) => breaker.listenerCount(e))).toEqual(baseline.map((n) => n + 1));
    expect(pool.acquire).not.toBe(Object.getPrototypeOf(pool).acquire);

    inst.uninstrument(connector);
    expect(events.map((e) => breaker.listenerCount(e))).toEqual(baseline);
    expect(Object.getOwnPropertyNames(connector)).toEqual(['options', 'breakers', 'pools', 'failures', 'leased']);
    expect(connector.connectToPeer).toBe(ReferenceConnector.prototype.connectToPeer);
    for (const p of connector.pools.values()) {
      for (const name of ['acquire', 'destroy', '_destroy', '_evict', 'release']) {
        expect(Object.getOwnPropertyDescriptor(p, name)).toBeUndefined();
        expect((p as unknown as Record<string, unknown>)[name]).toBe(Object.getPrototypeOf(p)[name]);
      }
    }
  });
});

describe('pools outside a reference connector', () => {
  const factory = () => ({
    create: async () => new FakeConnection(A),
    destroy: async (c: FakeConnection) => c.close('destroyed'),
  });

  it('a single `pool` property: size and idle count, reuse counted once with poolPeerId', async () => {
    const h = instrumentation();
    const pool: Pool<FakeConnection> = createPool(factory(), { max: 3 });
    const connector = {
      pool,
      connectToPeer: (_peer: string) => pool.acquire(),
      disconnectFromPeer: async (_peer: string, conn: FakeConnection) => pool.release(conn),
    };
    h.inst.instrumentConnector(connector, { poolPeerId: (c) => (c as FakeConnection).peerId });
    cleanup.push(async () => {
      h.inst.uninstrumentAll();
      await pool.drain();
      await pool.clear();
    });
    const [c1, c2] = await Promise.all([connector.connectToPeer(A), connector.connectToPeer(A)]);
    await connector.disconnectFromPeer(A, c1);
    expect(await connector.connectToPeer(A)).toBe(c1);
    const rm = await h.collect();
    expect(valueOf(rm, 'connectionReuses', { peer_id: A })).toBe(1); // by the pool, not again by the connector
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result: 'success' })).toBe(2);
    expect(valueOf(rm, 'poolWaitTime')).toMatchObject({ count: 3 });
    expect(valueOf(rm, 'connectionsPooled')).toBe(2);
    expect(valueOf(rm, 'connectionsIdle')).toBe(0);
    await Promise.all([pool.release(c1), pool.release(c2)]);
  });

  it('observePool: a pool the application uses directly', async () => {
    const h = instrumentation();
    const pool = createPool(factory(), { max: 2 });
    const handle = observePool(
      pool,
      { peerId: (c) => (c as FakeConnection).peerId },
      {
        monitor: h.inst,
        now: () => performance.now(),
        onHookError: () => undefined,
        reject: () => undefined,
        addCollectionHook: (hook) => h.inst.addCollectionHook(hook),
      },
    );
    cleanup.push(async () => {
      handle.restore();
      await pool.drain();
      await pool.clear();
    });
    const c = await pool.acquire();
    await pool.release(c);
    expect(await pool.acquire()).toBe(c);
    await pool.destroy(c);
    const rm = await h.collect();
    expect(valueOf(rm, 'connectionReuses', { peer_id: A })).toBe(1);
    expect(valueOf(rm, 'poolWaitTime')).toMatchObject({ count: 2 });
    expect(valueOf(rm, 'poolEvictions', { reason: 'error' })).toBe(1);
    expect(valueOf(rm, 'connectionsPooled')).toBe(0);
    handle.restore();
    expect(Object.getOwnPropertyDescriptor(pool, 'acquire')).toBeUndefined();
  });
});
