import { types } from 'node:util';

/**
 * Wraps methods of objects the application hands us, invisibly: the wrapper calls the original
 * with the same `this` and arguments, returns its value (the same object, a returned promise
 * included) and rethrows its error (the same object). Observation hooks run in try/catch: a
 * failing hook is reported, never thrown. One observer per method: a second wrap is a no-op.
 * Wrapping is per object (an own property shadowing the prototype), idempotent, and undone
 * exactly: the original property descriptor is put back, or the own property removed.
 */

/** Observes one call. `C` is whatever `start` captured (a timestamp, the peer id). */
export interface CallObserver<C = unknown> {
  /**
   * Before the call. May replace entries of `args`: the original is called with this same array
   * (how a handler registration passes our wrapper of the application's handler).
   */
  start(thisArg: unknown, args: unknown[]): C;
  /**
   * The call returned, or its promise fulfilled, with `result`. An observer with neither `end`
   * nor `fail` is told of the call only: a returned promise is then not observed at all.
   */
  end?(context: C, result: unknown, args: unknown[]): void;
  /** The call threw, or its promise rejected, with `error`. */
  fail?(context: C, error: unknown, args: unknown[]): void;
}

/** Where hook failures go: the instrumentation counts them and logs them to OTel's diag. */
export type HookErrorSink = (error: unknown) => void;

interface WrapRecord {
  readonly wrapper: unknown;
  /** Own descriptor before wrapping; undefined when the method came from the prototype chain. */
  readonly ownDescriptor: PropertyDescriptor | undefined;
}

const WRAPPED = new WeakMap<object, Map<PropertyKey, WrapRecord>>();

/**
 * A method name from the application's options, for a message: never throws (a Symbol in a
 * template literal does, and so does an object whose conversion to a string throws).
 */
export function describeKey(key: unknown): string {
  try {
    return typeof key === 'symbol' ? key.toString() : String(key);
  } catch {
    return `[unprintable ${typeof key}]`;
  }
}

export function isWrapped(target: object, name: PropertyKey): boolean {
  return WRAPPED.get(target)?.has(name) === true;
}

/**
 * Wraps `target[name]` if it is a function and not already wrapped by us. Returns false, and
 * changes nothing, when there is nothing it may wrap: a missing or non-function property, a getter
 * (never invoked), a frozen, sealed or non-extensible object, a non-configurable own property.
 * Never throws.
 */
export function wrapMethod<C>(target: object, name: PropertyKey, observer: CallObserver<C>, onHookError: HookErrorSink): boolean {
  return wrapMethodWith(target, name, (original) => observingWrapper(original, observer, onHookError), onHookError);
}

/** A method's original and the wrapper that stands in for it. */
export type MethodFunction = (this: unknown, ...args: unknown[]) => unknown;

/**
 * wrapMethod with a wrapper of the caller's making (a fast path for one call shape that falls back
 * to observingWrapper): `build` gets the original. The wrapper must keep wrapMethod's promise of
 * invisibility; the bookkeeping (shape, restore) is done here.
 */
export function wrapMethodWith(target: object, name: PropertyKey, build: (original: MethodFunction) => MethodFunction, onHookError: HookErrorSink): boolean {
  try {
    if (isWrapped(target, name)) return true;
    const ownDescriptor = Object.getOwnPropertyDescriptor(target, name);
    const descriptor = ownDescriptor ?? inheritedDescriptor(target, name);
    if (descriptor === undefined || !('value' in descriptor) || typeof descriptor.value !== 'function') return false;
    if (ownDescriptor === undefined ? !Object.isExtensible(target) : !ownDescriptor.configurable) return false;
    const original = descriptor.value as MethodFunction;
    const wrapper = build(original);
    // The wrapper inherits from the original: its own properties (a debounced method's cancel())
    // stay reachable, live, and `instanceof Function` holds.
    Object.setPrototypeOf(wrapper, original);
    copyFunctionShape(wrapper, original);
    Object.defineProperty(target, name, {
      value: wrapper,
      writable: ownDescriptor?.writable ?? true,
      enumerable: ownDescriptor?.enumerable ?? false,
      configurable: true,
    });
    let records = WRAPPED.get(target);
    if (records === undefined) WRAPPED.set(target, (records = new Map()));
    records.set(name, { wrapper, ownDescriptor });
    return true;
  } catch (e) {
    onHookError(e); // a Proxy trap that threw, an exotic object: leave it alone
    return false;
  }
}

/** Undoes wrapMethod; a no-op when `target[name]` is not ours (or was replaced by the app since). Never throws. */
export function unwrapMethod(target: object, name: PropertyKey): void {
  const records = WRAPPED.get(target);
  const record = records?.get(name);
  if (record === undefined) return;
  records!.delete(name);
  if (records!.size === 0) WRAPPED.delete(target);
  try {
    if (Object.getOwnPropertyDescriptor(target, name)?.value !== record.wrapper) return; // replaced since: leave it
    if (record.ownDescriptor === undefined) delete (target as Record<PropertyKey, unknown>)[name];
    else Object.defineProperty(target, name, record.ownDescriptor);
  } catch {
    // Frozen by the application since we wrapped: the wrapper stays, and keeps passing calls through.
  }
}

function inheritedDescriptor(target: object, name: PropertyKey): PropertyDescriptor | undefined {
  for (let proto = Object.getPrototypeOf(target); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** One call in flight on a promise: what its owner noted of the call, and its two settle handlers. */
export interface PooledReaction<S> {
  readonly call: S;
  readonly settled: (value: unknown) => void;
  readonly rejected: (error: unknown) => void;
}

/** Reactions kept for reuse per pool (one per wrapped method); beyond it they are left to the GC. */
const MAX_FREE_REACTIONS = 256;
const NO_ARGS: unknown[] = [];

/**
 * Observing a promise needs a handler pair that knows the call. Allocating two closures per call
 * was a third of a wrapped async send's cost; pooled pairs make the steady state allocation-free.
 * A settled reaction runs its handler (which must not throw), then `clear`s its call and goes back
 * to the pool.
 */
export function reactionPool<S>(
  newCall: () => S,
  clear: (call: S) => void,
  onSettled: (call: S, value: unknown) => void,
  onRejected: (call: S, error: unknown) => void,
): { acquire(): PooledReaction<S>; release(reaction: PooledReaction<S>): void } {
  const free: PooledReaction<S>[] = [];
  const release = (r: PooledReaction<S>): void => {
    clear(r.call);
    if (free.length < MAX_FREE_REACTIONS) free.push(r);
  };
  const acquire = (): PooledReaction<S> => {
    const reused = free.pop();
    if (reused !== undefined) return reused;
    const r: PooledReaction<S> = {
      call: newCall(),
      settled: (value) => {
        onSettled(r.call, value);
        release(r);
      },
      rejected: (error) => {
        onRejected(r.call, error);
        release(r);
      },
    };
    return r;
  };
  return { acquire, release };
}

/** The wrapper wrapMethod installs: calls the original as it was called, observed by `observer`. */
export function observingWrapper<C>(original: MethodFunction, observer: CallObserver<C>, onHookError: HookErrorSink): MethodFunction {
  const end = (context: C, result: unknown, args: unknown[]): void => {
    if (observer.end === undefined) return;
    try {
      observer.end(context, result, args);
    } catch (e) {
      onHookError(e);
    }
  };
  const fail = (context: C, error: unknown, args: unknown[]): void => {
    if (observer.fail === undefined) return;
    try {
      observer.fail(context, error, args);
    } catch (e) {
      onHookError(e);
    }
  };
  const reactions = reactionPool<{ context: C | undefined; args: unknown[] }>(
    () => ({ context: undefined, args: NO_ARGS }),
    (call) => {
      call.context = undefined;
      call.args = NO_ARGS;
    },
    (call, value) => end(call.context as C, value, call.args),
    (call, error) => fail(call.context as C, error, call.args),
  );

  // An observer with neither end nor fail only needs the call: its result (a promise) is not observed.
  const settles = observer.end !== undefined || observer.fail !== undefined;
  return function p2pOtelWrapped(this: unknown, ...args: unknown[]): unknown {
    let context: C | undefined;
    let observing = settles;
    try {
      context = observer.start(this, args);
    } catch (e) {
      observing = false;
      onHookError(e);
    }
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      if (observing) fail(context as C, error, args);
      throw error;
    }
    if (!observing) return result;
    if (isPromise(result)) {
      // The application gets its own promise back: same object, same properties, same timing. We
      // observe it through a reaction of our own, which Node counts as handling it: a rejection the
      // application never handles is then not reported as unhandledRejection. Returning a new
      // promise instead would raise unhandled rejections the application never had (a send whose
      // promise it catches internally and the caller fires and forgets), crashing Node >= 15.
      const reaction = reactions.acquire();
      reaction.call.context = context;
      reaction.call.args = args;
      try {
        // Promise.prototype.then itself, not result.then: an application's own then() is not run.
        promiseThen.call(result, reaction.settled, reaction.rejected);
        return result;
      } catch {
        reactions.release(reaction); // a Promise subclass whose species constructor threw: observed as a plain value
      }
    }
    end(context as C, result, args);
    return result;
  };
}

/**
 * Native promises only: calling then() on any other thenable could start work the application
 * meant to start later (lazy query builders) or run a getter that throws. Other thenables are
 * observed as plain return values.
 */
export function isPromise(value: unknown): value is Promise<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  try {
    // instanceof first: util.types.isPromise is a native call, measured at 30-50 ns of a wrapped
    // async send. On a Proxy it runs the getPrototypeOf trap; one that throws is not ours to observe.
    if (value instanceof Promise) return true;
  } catch {
    return false;
  }
  return types.isPromise(value); // a promise of another realm (vm context)
}
export const promiseThen = Promise.prototype.then;

/** The wrapper keeps the original's name and length, so introspection sees the same function. */
function copyFunctionShape(wrapper: MethodFunction, original: MethodFunction): void {
  for (const key of ['name', 'length'] as const) {
    try {
      Object.defineProperty(wrapper, key, { value: original[key], configurable: true });
    } catch {
      // Not worth failing a wrap over.
    }
  }
}
