import { diag } from '@opentelemetry/api';
import { types } from 'node:util';
import { describeKey, type HookErrorSink } from './method-wrapper.js';
import { emitterMethods } from './transport-queue.js';

/** Where raw stream items go; never throws (the caller guards it). */
export type Sink = (raw: unknown) => void;

/**
 * Adds one listener per event name to an EventEmitter-like object. Listeners are appended with
 * on()/addListener(), so the app's own listeners keep their order and every one still sees every
 * event (emitters broadcast: listening consumes nothing). Ours never throw into the app's emit().
 * Returns the remover, or undefined when `emitter` is not an emitter.
 */
export function attachEmitter(emitter: unknown, sinks: ReadonlyMap<string | symbol, Sink>, onHookError: HookErrorSink): (() => void) | undefined {
  const methods = emitterMethods(emitter);
  if (methods === undefined) return undefined;
  const listeners: [string | symbol, (raw: unknown) => void][] = [];
  // Listeners the emitter refuses to remove (its off() throws) stay on it: inert once removed.
  let live = true;
  const remove = (): void => {
    live = false;
    for (const [name, listener] of listeners.splice(0)) {
      try {
        methods.remove.call(emitter, name, listener);
      } catch (e) {
        onHookError(e);
      }
    }
  };
  try {
    for (const [name, sink] of sinks) {
      const listener = (raw: unknown): void => {
        if (!live) return;
        try {
          sink(raw);
        } catch (e) {
          onHookError(e);
        }
      };
      methods.add.call(emitter, name, listener);
      listeners.push([name, listener]);
    }
  } catch (e) {
    remove(); // an on() that threw part-way: take back the listeners it accepted before
    throw e;
  }
  return remove;
}

type AnyIterator = { next(): unknown; return?(): unknown };

function iteratorOf(value: unknown): AnyIterator | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const factory = (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator];
  if (typeof factory === 'function') {
    const it = factory.call(value) as AnyIterator;
    return typeof it?.next === 'function' ? it : undefined;
  }
  return typeof (value as AnyIterator).next === 'function' ? (value as AnyIterator) : undefined;
}

/** Ends an iterator of ours, swallowing whatever its return() throws or rejects with. */
function close(it: AnyIterator): void {
  try {
    const done = it.return?.();
    if (types.isPromise(done)) done.catch(() => undefined);
  } catch {
    // Nothing to do: we are leaving it either way.
  }
}

/**
 * Consumes our own iterator from `manager[method]()`. The method must hand every caller an
 * iterator of its own over all events (a broadcast subscription): reading a stream the app reads
 * too would steal its events. We call the method twice and refuse, with a warning, when both
 * calls return the same object or the same iterator (the shared-stream cases we can see); the
 * second, independent one is closed at once. Returns the function that stops our iterator.
 */
export function attachIterable(manager: object, method: string, sink: Sink, onHookError: HookErrorSink): (() => void) | undefined {
  const fn = (manager as Record<string, unknown>)[method];
  if (typeof fn !== 'function') {
    diag.warn(`p2p-otel: the manager has no ${describeKey(method)}() method and is not an EventEmitter; its events are not recorded`);
    return undefined;
  }
  let stopped = false;
  let ours: AnyIterator | undefined;
  const start = (first: unknown, second: unknown): void => {
    // The same object twice is shared: we do not even ask it for an iterator.
    const shared = first === second && typeof first === 'object' && first !== null;
    const it = shared ? undefined : iteratorOf(first);
    const probe = it === undefined ? undefined : iteratorOf(second);
    if (shared || (it !== undefined && it === probe)) {
      diag.warn(
        `p2p-otel: manager.${describeKey(method)}() returns one shared stream, not an iterator per caller; reading it would take events from the application, so manager events are not recorded`,
      );
      return;
    }
    if (it === undefined) {
      diag.warn(`p2p-otel: manager.${describeKey(method)}() returned no async iterable; its events are not recorded`);
      return;
    }
    if (probe !== undefined) close(probe);
    if (stopped) {
      close(it);
      return;
    }
    ours = it;
    void pump(it);
  };
  const pump = async (it: AnyIterator): Promise<void> => {
    try {
      for (;;) {
        const r = (await it.next()) as IteratorResult<unknown>;
        if (stopped || r.done === true) return;
        try {
          sink(r.value);
        } catch (e) {
          onHookError(e);
        }
      }
    } catch (e) {
      if (!stopped) diag.warn('p2p-otel: the manager event stream failed; its events are no longer recorded', e);
    }
  };
  let first: unknown;
  let second: unknown;
  try {
    first = fn.call(manager);
    second = fn.call(manager);
  } catch (e) {
    // A method that throws on a second call most likely allows one subscriber: the first call
    // took that slot, and holding it would make the application's own subscribe() fail. Release it.
    if (first !== undefined && !types.isPromise(first)) {
      const it = iteratorOf(first);
      if (it !== undefined) close(it);
    }
    diag.warn(`p2p-otel: manager.${describeKey(method)}() threw; its events are not recorded`, e);
    return undefined;
  }
  if (types.isPromise(first) || types.isPromise(second)) {
    Promise.all([first, second]).then(
      ([a, b]) => start(a, b),
      (e: unknown) => diag.warn(`p2p-otel: manager.${describeKey(method)}() failed; its events are not recorded`, e),
    );
  } else {
    start(first, second);
  }
  return () => {
    stopped = true;
    if (ours !== undefined) close(ours);
    ours = undefined;
  };
}
