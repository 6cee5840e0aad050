import type { CircuitBreakerState } from '../schema/label-values.js';
import type { InstrumentationContext, Instrumented } from './context.js';
import { toPeerKey } from './peer-key.js';

/**
 * A circuit breaker as far as we need one: an EventEmitter emitting `open`, `halfOpen`, `close`
 * and `failure` (opossum's events), optionally telling its current state through boolean
 * `opened` / `halfOpen` / `closed` getters (opossum's). Nothing else is read or called.
 */
export interface CircuitBreakerLike {
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  readonly opened?: boolean;
  readonly halfOpen?: boolean;
  readonly closed?: boolean;
}

/** Event → state recorded in p2p_circuit_breaker_state. */
const STATE_EVENTS: readonly (readonly [string, CircuitBreakerState])[] = [
  ['open', 'open'],
  ['halfOpen', 'half_open'],
  ['close', 'closed'],
];

export function isCircuitBreakerLike(value: unknown): value is CircuitBreakerLike {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Record<string, unknown>;
  return typeof b.on === 'function' && (typeof b.removeListener === 'function' || typeof b.off === 'function');
}

/** The state a breaker reports through opossum-style getters; undefined when it reports none. */
export function currentBreakerState(breaker: CircuitBreakerLike): CircuitBreakerState | undefined {
  if (breaker.opened === true) return 'open';
  if (breaker.halfOpen === true) return 'half_open';
  if (breaker.closed === true) return 'closed';
  return undefined;
}

const NOTHING: Instrumented = { restore() {} };

/** Breakers observed per instrumentation context: a second observation of one is a no-op. */
const OBSERVED = new WeakMap<InstrumentationContext, WeakSet<object>>();

/**
 * Records a breaker's state changes and failures under `peerId`, starting with the state it is in
 * now. The listeners only record: they never throw and never touch the breaker (opossum does not
 * look at its listeners, so its behaviour is unchanged). `restore()` removes exactly them.
 * Observing a breaker this context already observes returns a handle that does nothing.
 */
export function observeCircuitBreaker(peerId: unknown, breaker: CircuitBreakerLike, ctx: InstrumentationContext): Instrumented {
  let observed = OBSERVED.get(ctx);
  if (observed === undefined) OBSERVED.set(ctx, (observed = new WeakSet()));
  if (!isCircuitBreakerLike(breaker) || observed.has(breaker)) return NOTHING;
  const { monitor, onHookError } = ctx;
  let peer: string;
  try {
    peer = toPeerKey(peerId);
  } catch (e) {
    onHookError(e); // an id whose toString throws: nothing to label the breaker's records with
    return NOTHING;
  }
  let restored = false;
  // A listener the breaker refuses to remove (its off() throws) stays on it: inert once restored.
  const guard = (record: () => void) => (): void => {
    if (restored) return;
    try {
      record();
    } catch (e) {
      onHookError(e);
    }
  };
  const listeners: (readonly [string, () => void])[] = STATE_EVENTS.map(([event, state]) => [event, guard(() => monitor.recordCircuitBreakerState(peer, state))] as const);
  listeners.push(['failure', guard(() => monitor.recordCircuitBreakerFailure(peer))]);

  const added: (readonly [string, () => void])[] = [];
  for (const entry of listeners) {
    try {
      breaker.on(entry[0], entry[1]);
      added.push(entry);
    } catch (e) {
      onHookError(e);
    }
  }
  observed.add(breaker);
  guard(() => {
    const state = currentBreakerState(breaker);
    if (state !== undefined) monitor.recordCircuitBreakerState(peer, state);
  })();

  return {
    restore() {
      if (restored) return;
      restored = true;
      observed.delete(breaker);
      const remove = typeof breaker.removeListener === 'function' ? breaker.removeListener : breaker.off;
      for (const [event, listener] of added) {
        try {
          remove!.call(breaker, event, listener);
        } catch (e) {
          onHookError(e);
        }
      }
    },
  };
}
