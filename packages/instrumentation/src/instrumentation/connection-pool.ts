import type { EvictionReason } from '../schema/label-values.js';
import type { InstrumentationContext, Instrumented } from './context.js';
import { isWrapped, unwrapMethod, wrapMethod, type CallObserver } from './method-wrapper.js';
import { toPeerKey } from './peer-key.js';

/**
 * The pool adapter contract. A generic-pool 3 `Pool` satisfies it as is; any other pool does
 * when it has these members with these meanings:
 * - `acquire(...)`: resolves to a resource (a promise, or the resource itself). Its duration is
 *   p2p_connection_pool_wait_time_milliseconds, whether it succeeds or fails (an acquire timeout
 *   is a wait too). A resource resolved again after being seen here is a reuse.
 * - `release(resource)`: gives a resource back (not observed; it only marks the pool as one).
 * - `size`: resources held, in use or idle (p2p_connections_pooled); `available`: idle ones
 *   (p2p_connections_idle). Both read at collection only.
 * - `destroy(resource)` (optional): the application discards a broken resource: eviction `error`.
 * - `isBorrowedResource(resource)` (optional): tells pooled connections from dialled ones.
 *
 * Idle evictions happen inside a pool, out of sight of its public methods. For generic-pool 3
 * they are observed through two private methods, `_evict()` (the evictor's run) and
 * `_destroy(pooledResource)` (every destruction): these are not public API and may change in a
 * later major version; without them only `destroy()` is seen. Evictions no method shows (a pool
 * that drops its least recently used connection to make room: `capacity`) are reported by the
 * application with `monitor.recordPoolEviction('capacity')`, or named by `evictionReason`.
 */
export interface PoolLike {
  acquire(...args: any[]): unknown;
  release(resource: any): unknown;
  destroy?(resource: any): unknown;
  isBorrowedResource?(resource: any): boolean;
  readonly size: number;
  readonly available: number;
}

export interface PoolObserverOptions {
  /**
   * The peer a pooled resource is connected to, for p2p_connection_reuses_total. Without it,
   * reuses seen by the pool are not counted (there is no peer to count them under). Leave it out
   * when connectToPeer returns the pooled resource itself: the connector counts that reuse.
   */
  peerId?: (resource: unknown) => unknown;
  /**
   * Why a resource is being destroyed; return undefined to keep the inferred reason: `idle` during
   * the evictor's run, `error` for destroy() and failed validation, `other` otherwise (clear()).
   */
  evictionReason?: (resource: unknown) => EvictionReason | undefined;
}

/** What a connector learns from its pools about the connections it hands out. */
export interface PoolEvents {
  /** A resource was acquired; `reuseCounted` when the pool recorded it as a reuse. */
  acquired?(resource: object, reuseCounted: boolean): void;
  /** The pool started destroying `resource`, then finished (successfully or not). */
  destroying?(resource: unknown): void;
  destroyed?(resource: unknown): void;
}

export interface ObservedPool extends Instrumented {
  readonly pool: PoolLike;
  /** True when `resource` came from this pool. */
  owns(resource: unknown): boolean;
  /** Size and idle count now; undefined when the pool reports no usable numbers. */
  state(): { size: number; available: number } | undefined;
}

export function isPoolLike(value: unknown): value is PoolLike {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p.acquire === 'function' && typeof p.release === 'function' && 'size' in p && 'available' in p;
}

/**
 * Observes a pool that is not reached through a connector: wait time, reuses (with
 * `options.peerId`), evictions, and size and idle count at each collection.
 */
export function observePool(pool: PoolLike, options: PoolObserverOptions, ctx: InstrumentationContext): Instrumented {
  const watched = watchPool(pool, options, ctx, {});
  const removeHook = ctx.addCollectionHook(() => {
    const state = watched.state();
    if (state !== undefined) ctx.monitor.recordPoolState(state.size, state.available);
  });
  return {
    restore() {
      removeHook();
      watched.restore();
    },
  };
}

/** Wraps a pool's methods; the caller reports its state (a connector sums several pools). */
export function watchPool(pool: PoolLike, options: PoolObserverOptions, ctx: InstrumentationContext, events: PoolEvents): ObservedPool {
  const { monitor, now, onHookError } = ctx;
  const seen = new WeakSet<object>();
  /** Reasons decided by a public method for the private `_destroy` it calls synchronously. */
  const pendingReason = new WeakMap<object, EvictionReason>();
  let evicting = 0;
  const wrapped: string[] = [];
  const wrap = <C>(name: string, observer: CallObserver<C>): boolean => {
    // Already wrapped by another instrumentation: leave it to that one rather than unwrap it later.
    if (isWrapped(pool, name) || !wrapMethod(pool, name, observer, onHookError)) return false;
    wrapped.push(name);
    return true;
  };
  const reasonFor = (resource: unknown, inferred: EvictionReason): EvictionReason => {
    if (options.evictionReason === undefined) return inferred;
    try {
      return options.evictionReason(resource) ?? inferred;
    } catch (e) {
      onHookError(e);
      return inferred;
    }
  };
  const acquired = (resource: unknown): void => {
    if (!isObject(resource)) return; // only objects can be recognised again
    const reused = seen.has(resource);
    seen.add(resource);
    let counted = false;
    if (reused && options.peerId !== undefined) {
      try {
        monitor.recordConnectionReuse(toPeerKey(options.peerId(resource)));
        counted = true;
      } catch (e) {
        onHookError(e);
      }
    }
    events.acquired?.(resource, counted);
  };

  wrap<number>('acquire', {
    start: () => now(),
    end: (startedAt, resource) => {
      monitor.recordPoolWait(now() - startedAt);
      acquired(resource);
    },
    fail: (startedAt) => monitor.recordPoolWait(now() - startedAt),
  });

  // generic-pool 3 internals (see PoolLike): every destruction goes through _destroy, the
  // evictor's through _evict, which runs synchronously and calls _destroy synchronously.
  const internal = pool as unknown as { _destroy?: unknown; _evict?: unknown };
  const seesEveryDestroy =
    typeof internal._destroy === 'function' &&
    wrap<unknown>('_destroy', {
      start: (_pool, [pooled]) => {
        const resource = resourceOf(pooled);
        const pending = isObject(resource) ? pendingReason.get(resource) : undefined;
        if (pending !== undefined) pendingReason.delete(resource as object);
        // Failed validation (testOnBorrow) marks the resource INVALID before destroying it.
        const inferred = pending ?? (evicting > 0 ? 'idle' : stateOf(pooled) === 'INVALID' ? 'error' : 'other');
        monitor.recordPoolEviction(reasonFor(resource, inferred));
        events.destroying?.(resource);
        return resource;
      },
      end: (resource) => events.destroyed?.(resource),
      fail: (resource) => events.destroyed?.(resource),
    });
  if (seesEveryDestroy && typeof internal._evict === 'function') {
    wrap<void>('_evict', {
      start: () => {
        evicting++;
      },
      end: () => {
        evicting--;
      },
      fail: () => {
        evicting--;
      },
    });
  }

  wrap<unknown>('destroy', {
    start: (_pool, [resource]) => {
      // _destroy, called synchronously by destroy(), records it; this tells it why.
      if (seesEveryDestroy && isObject(resource)) pendingReason.set(resource, 'error');
      return resource;
    },
    end: (resource) => {
      if (seesEveryDestroy) return;
      monitor.recordPoolEviction(reasonFor(resource, 'error'));
      events.destroying?.(resource);
      events.destroyed?.(resource);
    },
    fail: (resource) => {
      if (isObject(resource)) pendingReason.delete(resource); // not part of the pool: nothing destroyed
    },
  });

  return {
    pool,
    owns(resource) {
      if (isObject(resource) && seen.has(resource)) return true;
      try {
        return typeof pool.isBorrowedResource === 'function' && pool.isBorrowedResource(resource) === true;
      } catch (e) {
        onHookError(e);
        return false;
      }
    },
    state() {
      try {
        const size = pool.size;
        const available = pool.available;
        return typeof size === 'number' && typeof available === 'number' ? { size, available } : undefined;
      } catch (e) {
        onHookError(e);
        return undefined;
      }
    },
    restore() {
      for (const name of wrapped.splice(0)) unwrapMethod(pool, name);
    },
  };
}

const isObject = (value: unknown): value is object => (typeof value === 'object' && value !== null) || typeof value === 'function';

/** generic-pool's PooledResource keeps the application's resource as `obj`. */
function resourceOf(pooled: unknown): unknown {
  return isObject(pooled) && 'obj' in pooled ? (pooled as { obj: unknown }).obj : pooled;
}

function stateOf(pooled: unknown): unknown {
  return isObject(pooled) ? (pooled as { state?: unknown }).state : undefined;
}
