import { types } from 'node:util';

/**
 * Wraps methods of objects the application hands us, invisibly: the wrapper calls the original
 * with the same `this` and arguments, returns its value (the same object), rethrows its error
 * (the same object), and for a returned promise returns a promise that settles with the same
 * value or reason. Observation hooks run in try/catch: a failing hook is reported, never thrown.
 * Wrapping is per object (an own property shadowing the prototype), idempotent, and undone
 * exactly: the original property descriptor is put back, or the own property removed.
 */

/** Observes one call. `C` is whatever `start` captured (a timestamp, the peer id). */
export interface CallObserver<C = unknown> {
  start(thisArg: unknown, args: unknown[]): C;
  /** The call returned, or its promise fulfilled, with `result`. */
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

export function isWrapped(target: object, name: PropertyKey): boolean {
  return WRAPPED.get(target)?.has(name) === true;
}

/**
 * Wraps `target[name]` if it is a function and not already wrapped by us. Returns false when there
 * is nothing to wrap (missing, not a function, or a non-writable, non-configurable property).
 */
export function wrapMethod<C>(target: object, name: PropertyKey, observer: CallObserver<C>, onHookError: HookErrorSink): boolean {
  if (isWrapped(target, name)) return true;
  const original = (target as Record<PropertyKey, unknown>)[name];
  if (typeof original !== 'function') return false;
  const ownDescriptor = Object.getOwnPropertyDescriptor(target, name);
  if (ownDescriptor !== undefined && !ownDescriptor.configurable && !ownDescriptor.writable) return false;
  const wrapper = makeWrapper(original as (...a: unknown[]) => unknown, observer, onHookError);
  copyFunctionShape(wrapper, original as (...a: unknown[]) => unknown);
  Object.defineProperty(target, name, {
    value: wrapper,
    writable: true,
    enumerable: ownDescriptor?.enumerable ?? false,
    configurable: true,
  });
  let records = WRAPPED.get(target);
  if (records === undefined) WRAPPED.set(target, (records = new Map()));
  records.set(name, { wrapper, ownDescriptor });
  return true;
}

/** Undoes wrapMethod; a no-op when `target[name]` is not ours (or was replaced by the app since). */
export function unwrapMethod(target: object, name: PropertyKey): void {
  const records = WRAPPED.get(target);
  const record = records?.get(name);
  if (record === undefined) return;
  records!.delete(name);
  if (records!.size === 0) WRAPPED.delete(target);
  if (Object.getOwnPropertyDescriptor(target, name)?.value !== record.wrapper) return; // replaced since: leave it
  if (record.ownDescriptor === undefined) delete (target as Record<PropertyKey, unknown>)[name];
  else Object.defineProperty(target, name, record.ownDescriptor);
}

function makeWrapper<C>(original: (...a: unknown[]) => unknown, observer: CallObserver<C>, onHookError: HookErrorSink) {
  return function p2pOtelWrapped(this: unknown, ...args: unknown[]): unknown {
    let context: C | undefined;
    let observing = true;
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
      if (observing && observer.fail !== undefined) safely(() => observer.fail!(context as C, error, args), onHookError);
      throw error;
    }
    if (!observing) return result;
    if (isPromise(result)) {
      // A new promise settling like the original: observing through the original's then() with a
      // rejection handler would mark it handled and hide an unhandled rejection from the app.
      return result.then(
        (value: unknown) => {
          if (observer.end !== undefined) safely(() => observer.end!(context as C, value, args), onHookError);
          return value;
        },
        (error: unknown) => {
          if (observer.fail !== undefined) safely(() => observer.fail!(context as C, error, args), onHookError);
          throw error;
        },
      );
    }
    if (observer.end !== undefined) safely(() => observer.end!(context as C, result, args), onHookError);
    return result;
  };
}

function safely(fn: () => void, onHookError: HookErrorSink): void {
  try {
    fn();
  } catch (e) {
    onHookError(e);
  }
}

/**
 * Native promises only: calling then() on any other thenable could start work the application
 * meant to start later (lazy query builders) or run a getter that throws. Other thenables are
 * observed as plain return values.
 */
const isPromise = (value: unknown): value is Promise<unknown> => types.isPromise(value);

/** The wrapper keeps the original's name and length, so introspection sees the same function. */
function copyFunctionShape(wrapper: (...a: unknown[]) => unknown, original: (...a: unknown[]) => unknown): void {
  for (const key of ['name', 'length'] as const) {
    try {
      Object.defineProperty(wrapper, key, { value: original[key], configurable: true });
    } catch {
      // Not worth failing a wrap over.
    }
  }
}
