import { types } from 'node:util';
import type { EvictionReason } from '../schema/label-values.js';
import { observeCircuitBreaker, type CircuitBreakerLike } from './circuit-breaker.js';
import { watchPool, type ObservedPool, type PoolLike } from './connection-pool.js';
import { ConnectionTracker, type CloseSubscriber } from './connector-connections.js';
import { breakerEntries, poolEntries, Subscriptions } from './connector-sources.js';
import type { InstrumentationContext, Instrumented } from './context.js';
import { classifyError } from './error-classification.js';
import { describeKey, isWrapped, unwrapMethod, wrapMethod, type CallObserver } from './method-wrapper.js';
import { toPeerKey } from './peer-key.js';

/**
 * The connector contract, modelled on the design's IrohPeerConnector. Nothing here is required
 * beyond the connect method; every other member is used when present. Method names can be mapped
 * with `ConnectorOptions.methods`.
 */
export interface PeerConnectorLike {
  /** Dials a peer (sync or async) and returns, or resolves to, the connection. */
  connectToPeer(peerId: any, ...rest: any[]): unknown;
  /** Closes (or, for a pooled connection, releases) the peer's connection. */
  disconnectFromPeer?(peerId: any, ...rest: any[]): unknown;
  /** Per-peer circuit breakers, found by default here (opossum's are EventEmitters). */
  breakers?: ReadonlyMap<unknown, CircuitBreakerLike>;
  /** The connection pool (a generic-pool Pool works as is), or per-peer pools. */
  pool?: PoolLike;
  pools?: ReadonlyMap<unknown, PoolLike>;
}

/** A connection as far as we look at it: all optional, see ConnectorOptions.onClose. */
export interface ConnectionLike {
  /** Iroh's Connection: resolves (or rejects) once the connection is closed. */
  closed?(): Promise<unknown>;
  once?(event: 'close', listener: () => void): unknown;
  removeListener?(event: 'close', listener: () => void): unknown;
}

export type BreakerSource = (connector: object) => Iterable<readonly [unknown, CircuitBreakerLike]> | ReadonlyMap<unknown, CircuitBreakerLike> | null | undefined;
export type PoolSource = (connector: object) => PoolLike | Iterable<PoolLike> | ReadonlyMap<unknown, PoolLike> | null | undefined;

export interface ConnectorOptions {
  /** Method names, when not connectToPeer / disconnectFromPeer. */
  methods?: { connect?: string; disconnect?: string };
  /** The peer id from a connect or disconnect call's arguments (default: the first argument). */
  peerId?: (args: readonly unknown[]) => unknown;
  /**
   * Calls `notify` once `connection` closes; may return a function that stops listening.
   * Default: `connection.closed()` when it returns a promise, else `connection.once('close')`,
   * else the connection ends with disconnectFromPeer(peerId).
   */
  onClose?: CloseSubscriber;
  /**
   * The connector's circuit breakers, as [peerId, breaker] pairs (a Map works), read after each
   * connect call and at each collection; `false` for none. Default: the connector's `breakers`
   * property when it is a Map (or an iterable of pairs, or a plain object keyed by peer id).
   */
  breakers?: false | BreakerSource;
  /**
   * The connector's pool, several pools, or a Map of per-peer pools; `false` for none. Default:
   * the `pool` property when it looks like a generic-pool Pool, else a `pools` Map of them.
   */
  pool?: false | PoolSource;
  /** The peer of a pooled resource, to count reuses the pool sees; see PoolObserverOptions.peerId. */
  poolPeerId?: (resource: unknown) => unknown;
  /** Why a pooled resource is destroyed, when the inferred reason is not the right one. */
  evictionReason?: (resource: unknown) => EvictionReason | undefined;
}

const firstArgument = (args: readonly unknown[]): unknown => args[0];

/** One connect call in flight. */
interface Call {
  readonly peer: string;
  readonly startedAt: number;
  /** `disconnected → connecting` was recorded (the call outlasted its turn of the event loop). */
  connecting: boolean;
}

/**
 * Instruments a connector: each connect call becomes an attempt (success, failed or timeout), the
 * transitions disconnected → connecting → connected | failed, a handshake duration and, on
 * failure, a classified error; a connection returned again while still open is a reuse instead.
 * Closing connections are followed by ConnectionTracker; breakers and pools are found in the
 * connector and observed while they are there.
 */
export function instrumentConnector(target: object, options: ConnectorOptions, ctx: InstrumentationContext): Instrumented {
  const { monitor, onHookError } = ctx;
  const peerIdOf = options.peerId ?? firstArgument;
  const tracker = new ConnectionTracker(ctx, options.onClose);
  const marker = new ConnectingMarker(ctx);
  /** Resources whose reuse a pool already counted (with poolPeerId): not counted twice. */
  const reuseCountedByPool = new WeakSet<object>();
  const breakers = new Subscriptions<CircuitBreakerLike>((breaker, peer) => observeCircuitBreaker(peer, breaker, ctx));
  const pools = new Subscriptions<PoolLike, ObservedPool>((pool) =>
    watchPool(pool, { peerId: options.poolPeerId, evictionReason: options.evictionReason }, ctx, {
      acquired: (resource, counted) => {
        if (counted) reuseCountedByPool.add(resource);
      },
      destroying: (resource) => tracker.destroying(resource),
      destroyed: (resource) => tracker.destroyed(resource),
    }),
  );
  let live = true;
  let hasPools = false;

  /** Reads the connector's breakers and pools again: new ones are observed, gone ones let go. */
  const discover = (): void => {
    if (!live) return;
    try {
      const found = breakerEntries(target, options.breakers);
      if (found !== undefined) breakers.sync(found);
    } catch (e) {
      onHookError(e);
    }
    try {
      const found = poolEntries(target, options.pool);
      hasPools = found !== undefined;
      if (found !== undefined) pools.sync(found);
    } catch (e) {
      onHookError(e);
    }
  };
  const isPooled = (connection: unknown): boolean => {
    if (typeof connection !== 'object' || connection === null) return false;
    for (const pool of pools.handles()) if (pool.owns(connection)) return true;
    return false;
  };

  const connected = (call: Call, result: unknown): void => {
    // A thenable other than a native promise is not observed (see method-wrapper): its outcome
    // is unknown, so nothing is recorded rather than a success that may not be one.
    if (isForeignThenable(result)) return;
    if (tracker.openEntry(result) !== undefined) {
      // A cache or pool hit: no dial. If the call was already shown as dialling, end that.
      if (call.connecting) monitor.recordConnectionStateChange(call.peer, 'connecting', 'disconnected');
      if (!reuseCountedByPool.delete(result as object)) monitor.recordConnectionReuse(call.peer);
      return;
    }
    if (typeof result === 'object' && result !== null) reuseCountedByPool.delete(result);
    if (!call.connecting) monitor.recordConnectionStateChange(call.peer, 'disconnected', 'connecting');
    monitor.recordConnectionStateChange(call.peer, 'connecting', 'connected');
    monitor.recordConnectionAttempt(call.peer, 'success');
    monitor.recordHandshake(call.peer, ctx.now() - call.startedAt);
    tracker.opened(call.peer, result, isPooled(result));
  };
  const failed = (call: Call, error: unknown): void => {
    const type = classifyError(error);
    if (!call.connecting) monitor.recordConnectionStateChange(call.peer, 'disconnected', 'connecting');
    monitor.recordConnectionStateChange(call.peer, 'connecting', 'failed');
    monitor.recordConnectionAttempt(call.peer, type === 'timeout' ? 'timeout' : 'failed');
    monitor.recordError(call.peer, type);
  };

  const connectObserver: CallObserver<Call> = {
    start: (_connector, args) => {
      const call: Call = { peer: toPeerKey(peerIdOf(args)), startedAt: ctx.now(), connecting: false };
      // Breakers and pools this call creates synchronously exist once it has returned: observe
      // them before their first events (a failure is emitted a few microtasks later).
      queueMicrotask(discover);
      marker.add(call);
      return call;
    },
    end: (call, result) => {
      marker.delete(call);
      if (!live) return;
      discover(); // first, so that a pool created during the call can claim its connection
      connected(call, result);
    },
    fail: (call, error) => {
      marker.delete(call);
      if (!live) return;
      discover();
      failed(call, error);
    },
  };
  const disconnectObserver: CallObserver<ReturnType<ConnectionTracker['disconnectStarted']>> = {
    start: (_connector, args) => tracker.disconnectStarted(toPeerKey(peerIdOf(args))),
    end: (entry) => {
      if (entry !== undefined) tracker.disconnectSettled(entry, false);
    },
    fail: (entry) => {
      if (entry !== undefined) tracker.disconnectSettled(entry, true);
    },
  };

  const wrapped: string[] = [];
  const wrap = <C>(name: string, observer: CallObserver<C>): void => {
    // Wrapped already (by another P2pInstrumentation): that one observes it and will unwrap it.
    if (isWrapped(target, name)) return;
    if (wrapMethod(target, name, observer, onHookError)) wrapped.push(name);
  };
  const connectName = options.methods?.connect ?? 'connectToPeer';
  if (typeof (target as Record<string, unknown>)[connectName] === 'function') wrap(connectName, connectObserver);
  else onHookError(new TypeError(`p2p-otel: instrumentConnector: the connector has no ${describeKey(connectName)}() method (see ConnectorOptions.methods)`));
  wrap(options.methods?.disconnect ?? 'disconnectFromPeer', disconnectObserver);

  discover();
  const removeCollectionHook = ctx.addCollectionHook(() => {
    discover();
    if (!hasPools) return;
    let size = 0;
    let available = 0;
    for (const pool of pools.handles()) {
      const state = pool.state();
      if (state === undefined) continue;
      // One pool reporting nonsense (NaN, negative) must not blank the sum of the others: it is
      // counted as rejected and left out.
      const bad = badCount(state.size) ?? badCount(state.available);
      if (bad !== undefined) {
        ctx.reject(bad);
        continue;
      }
      size += state.size;
      available += state.available;
    }
    monitor.recordPoolState(size, available);
  });

  return {
    restore() {
      if (!live) return;
      live = false;
      for (const name of wrapped.splice(0)) unwrapMethod(target, name);
      removeCollectionHook();
      marker.clear();
      breakers.restore();
      pools.restore();
      tracker.restore();
    },
  };
}

/**
 * Shows a dial as `connecting` once it outlasts the current turn of the event loop. A cache or
 * pool hit settles within microtasks, before setImmediate runs, and is then counted as a reuse
 * without having been shown as dialling; a real dial shows as connecting from about its start.
 * One immediate serves every call started in the same turn.
 */
class ConnectingMarker {
  private readonly pending = new Set<Call>();
  private handle: NodeJS.Immediate | undefined;

  constructor(private readonly ctx: InstrumentationContext) {}

  add(call: Call): void {
    this.pending.add(call);
    if (this.handle !== undefined) return;
    this.handle = setImmediate(this.flush);
    this.handle.unref(); // a pending dial keeps the process alive by itself, or not at all
  }

  delete(call: Call): void {
    this.pending.delete(call);
  }

  clear(): void {
    if (this.handle !== undefined) clearImmediate(this.handle);
    this.handle = undefined;
    this.pending.clear();
  }

  private readonly flush = (): void => {
    this.handle = undefined;
    for (const call of this.pending) {
      call.connecting = true;
      try {
        this.ctx.monitor.recordConnectionStateChange(call.peer, 'disconnected', 'connecting');
      } catch (e) {
        this.ctx.onHookError(e);
      }
    }
    this.pending.clear();
  };
}

/** Why a pool's size or idle count is unusable, or undefined when it is a finite number >= 0. */
function badCount(n: number): 'negative' | 'invalid_number' | undefined {
  if (n >= 0 && n < Infinity) return undefined;
  return n < 0 && n > -Infinity ? 'negative' : 'invalid_number';
}

function isForeignThenable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || types.isPromise(value)) return false;
  return typeof (value as { then?: unknown }).then === 'function';
}
