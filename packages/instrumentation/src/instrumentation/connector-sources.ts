import { isCircuitBreakerLike, type CircuitBreakerLike } from './circuit-breaker.js';
import { isPoolLike, type PoolLike } from './connection-pool.js';
import type { BreakerSource, PeerConnectorLike, PoolSource } from './connector.js';
import type { Instrumented } from './context.js';

// Where a connector keeps its breakers and pools: read again after connect calls and at collection.

/**
 * Items of a source read again and again (a connector's breakers or pools): each is observed once,
 * and let go (restored) when a later read no longer finds it, so what is held stays bounded by
 * what the connector holds now.
 */
export class Subscriptions<T extends object, H extends Instrumented = Instrumented> {
  private readonly current = new Map<T, H>();

  constructor(private readonly observe: (item: T, key: unknown) => H) {}

  sync(entries: Iterable<readonly [unknown, T]>): void {
    const found = new Set<T>();
    for (const [key, item] of entries) {
      found.add(item);
      if (!this.current.has(item)) this.current.set(item, this.observe(item, key));
    }
    for (const [item, handle] of this.current) {
      if (found.has(item)) continue;
      this.current.delete(item);
      handle.restore();
    }
  }

  handles(): IterableIterator<H> {
    return this.current.values();
  }

  restore(): void {
    for (const handle of this.current.values()) handle.restore();
    this.current.clear();
  }
}

export function breakerEntries(target: object, source: false | BreakerSource | undefined): (readonly [unknown, CircuitBreakerLike])[] | undefined {
  if (source === false) return undefined;
  const found = source !== undefined ? source(target) : (target as PeerConnectorLike).breakers;
  const pairs = asPairs(found);
  return pairs?.filter((pair): pair is readonly [unknown, CircuitBreakerLike] => isCircuitBreakerLike(pair[1]));
}

export function poolEntries(target: object, source: false | PoolSource | undefined): (readonly [unknown, PoolLike])[] | undefined {
  if (source === false) return undefined;
  let found: unknown;
  if (source !== undefined) found = source(target);
  else found = isPoolLike((target as PeerConnectorLike).pool) ? (target as PeerConnectorLike).pool : (target as PeerConnectorLike).pools;
  if (found === undefined || found === null) return undefined;
  if (isPoolLike(found)) return [[undefined, found]];
  const pairs = isIterable(found) && !isMapLike(found) ? [...found].map((item) => (isPoolLike(item) ? ([undefined, item] as const) : item)) : asPairs(found);
  return pairs?.filter((pair): pair is readonly [unknown, PoolLike] => Array.isArray(pair) && isPoolLike(pair[1]));
}

/** [key, value] pairs of a Map, an iterable of pairs, or a plain object's own entries. */
function asPairs(found: unknown): (readonly [unknown, unknown])[] | undefined {
  if (found === undefined || found === null || typeof found !== 'object') return undefined;
  if (isMapLike(found)) return [...found.entries()];
  if (isIterable(found)) return [...found].filter((pair): pair is readonly [unknown, unknown] => Array.isArray(pair) && pair.length >= 2);
  return Object.entries(found);
}

function isMapLike(value: object): value is ReadonlyMap<unknown, unknown> {
  return typeof (value as Map<unknown, unknown>).entries === 'function' && typeof (value as Map<unknown, unknown>).get === 'function';
}

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}
