import { withGlobal } from '@sinonjs/fake-timers';
import { syncBuiltinESMExports } from 'node:module';
import * as timersNamespace from 'node:timers';
import * as timersPromisesNamespace from 'node:timers/promises';
import { promisify } from 'node:util';
import { Scheduler, type VirtualClock, type VirtualTimer } from './scheduler.js';

export { Scheduler, VirtualTimer, type VirtualClock } from './scheduler.js';

/** The wall-clock time at which every simulation starts: 2025-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = Date.UTC(2025, 0, 1);

// ---- installation ---------------------------------------------------------------------------------

const TIMER_FUNCTIONS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] as const;
type TimerFunction = (typeof TIMER_FUNCTIONS)[number];
type Callback = (...args: unknown[]) => unknown;

interface AbortOptions {
  signal?: AbortSignal;
}

/** The virtual versions of the global timer functions and of node:timers/promises. */
function virtualFunctions(s: Scheduler) {
  // Extra arguments through `arguments`: a rest parameter would allocate an array on every call.
  function setTimeoutV(fn: Callback, delay?: unknown): VirtualTimer {
    // eslint-disable-next-line prefer-rest-params
    if (arguments.length === 3) return s.setTimeout1(fn, delay, arguments[2]);
    // eslint-disable-next-line prefer-rest-params
    return s.setTimeout(fn, delay, arguments.length > 2 ? Array.prototype.slice.call(arguments, 2) : undefined);
  }
  function setIntervalV(fn: Callback, delay?: unknown): VirtualTimer {
    // eslint-disable-next-line prefer-rest-params
    return s.setInterval(fn, delay, arguments.length > 2 ? Array.prototype.slice.call(arguments, 2) : undefined);
  }
  function setImmediateV(fn: Callback): VirtualTimer {
    // eslint-disable-next-line prefer-rest-params
    return s.setImmediate(fn, arguments.length > 1 ? Array.prototype.slice.call(arguments, 1) : undefined);
  }
  const clear = (handle: unknown): void => void s.clear(handle);
  /** A promise settled by a virtual timer, or rejected when `signal` aborts. */
  const whenTimer = <T>(start: (done: () => void) => VirtualTimer, value: T, options: AbortOptions = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) return reject(signal.reason);
      const abort = (): void => {
        s.clear(timer);
        reject(signal?.reason);
      };
      const timer = start(() => {
        signal?.removeEventListener('abort', abort);
        resolve(value);
      });
      signal?.addEventListener('abort', abort, { once: true });
    });
  const promises = {
    setTimeout: <T>(delay?: number, value?: T, options?: AbortOptions) => whenTimer((done) => s.setTimeout(done, delay, undefined), value, options),
    setImmediate: <T>(value?: T, options?: AbortOptions) => whenTimer((done) => s.setImmediate(done, undefined), value, options),
    setInterval: <T>(delay?: number, value?: T, options: AbortOptions = {}): AsyncIterable<T | undefined> => ({
      [Symbol.asyncIterator]: () => {
        let ready = 0;
        let ended = false;
        const waiting: ((r: IteratorResult<T | undefined>) => void)[] = [];
        const timer = s.setInterval(
          () => {
            const next = waiting.shift();
            if (next !== undefined) next({ value, done: false });
            else ready++;
          },
          delay,
          undefined,
        );
        const end = (): void => {
          ended = true;
          s.clear(timer);
          for (const w of waiting.splice(0)) w({ value: undefined, done: true });
        };
        options.signal?.addEventListener('abort', end, { once: true });
        return {
          next: (): Promise<IteratorResult<T | undefined>> => {
            if (options.signal?.aborted) return Promise.reject(options.signal.reason);
            if (ended) return Promise.resolve({ value: undefined, done: true });
            if (ready > 0) {
              ready--;
              return Promise.resolve({ value, done: false });
            }
            return new Promise((resolve) => waiting.push(resolve));
          },
          return: (): Promise<IteratorResult<T | undefined>> => {
            end();
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    }),
  };
  Object.defineProperty(setTimeoutV, promisify.custom, { value: promises.setTimeout });
  Object.defineProperty(setImmediateV, promisify.custom, { value: promises.setImmediate });
  const globals: Record<TimerFunction, unknown> = {
    setTimeout: setTimeoutV,
    clearTimeout: clear,
    setInterval: setIntervalV,
    clearInterval: clear,
    setImmediate: setImmediateV,
    clearImmediate: clear,
  };
  return { globals, promises };
}

/**
 * A builtin module's exports object (what `require()` returns), which can be patched: the default
 * export of its namespace, under CommonJS interop as in native ESM.
 */
function exportsOf(namespace: object): Record<string, unknown> {
  return ((namespace as { default?: unknown }).default ?? namespace) as Record<string, unknown>;
}

/** Replaces `keys` of `target` with those of `values`; returns the undo (a no-op if `target` cannot be patched). */
function patch(target: Record<string, unknown>, values: Record<string, unknown>, keys: readonly string[]): () => void {
  const saved = keys.map((k) => [k, Object.getOwnPropertyDescriptor(target, k)] as const);
  try {
    for (const k of keys) Object.defineProperty(target, k, { value: values[k], writable: true, configurable: true, enumerable: true });
  } catch {
    return () => undefined; // a frozen namespace: the global functions are virtual all the same
  }
  return () => {
    for (const [k, d] of saved) {
      if (d === undefined) delete target[k];
      else Object.defineProperty(target, k, d);
    }
  };
}

let active = false;
/** The scheduler of the running simulation. */
let current: Scheduler | undefined;

/**
 * `setTimeout(fn, ms, arg)` when the caller never needs the timer (it cannot be cleared): in virtual
 * time, the scheduler reuses the timer object once it fired. The simulator's per-message timers.
 */
export function post<T>(fn: (arg: T) => void, ms: number, arg: T): void {
  if (current === undefined) setTimeout(fn, ms, arg);
  else current.post(fn, ms, arg);
}

/**
 * Declares, from inside a timer callback, that this firing queued no promise job and no `nextTick`
 * and will queue none (a periodic check that found nothing to do): in virtual time the next timer
 * then fires without waiting for an event-loop turn. A no-op outside virtual time.
 */
export function firingIsQuiet(): void {
  current?.markQuiet();
}

/**
 * `setInterval` for a callback that settles no promise, queues no `nextTick` and does not throw
 * (bookkeeping such as rotating a statistics window): in virtual time it fires in its place in the
 * order like any interval, but without a real event-loop turn of its own; outside, it is
 * `setInterval`. Clear it with `clearInterval`.
 */
export function setQuietInterval(fn: () => void, ms: number): ReturnType<typeof setInterval> {
  if (current === undefined) return setInterval(fn, ms);
  return current.setInterval(fn, ms, undefined, true) as unknown as ReturnType<typeof setInterval>;
}

/**
 * Runs `body` in virtual time and restores real time afterwards, also when `body` throws.
 * While it runs, `setTimeout`, `setInterval`, `setImmediate` and their `clear…` (on the global
 * object, `node:timers` and `node:timers/promises`) schedule on the virtual clock (`Scheduler`),
 * and `Date`, `performance` and `process.hrtime` read it (those three are @sinonjs/fake-timers',
 * driven by the scheduler). Promise jobs and `process.nextTick` stay real: they take no time.
 * Time moves only when `body` advances it (`clock.tickAsync(ms)`), as fast as the CPU allows.
 * Simulations do not nest and do not run concurrently in one process.
 */
export async function withVirtualTime<T>(body: (clock: VirtualClock) => Promise<T>, startMs = SIM_EPOCH_MS): Promise<T> {
  if (active) throw new Error('@p2p-otel/sim: a simulation is already running in this process (virtual time is global)');
  active = true;
  const realSetImmediate = globalThis.setImmediate;
  const fake = withGlobal(globalThis).install({ now: startMs, toFake: ['Date', 'performance', 'hrtime'] });
  const scheduler = new Scheduler(
    startMs,
    (now) => {
      fake.now = now;
    },
    (fn) => realSetImmediate(fn),
  );
  current = scheduler;
  const { globals, promises } = virtualFunctions(scheduler);
  const undo = [
    patch(globalThis as unknown as Record<string, unknown>, globals, TIMER_FUNCTIONS),
    patch(exportsOf(timersNamespace), globals, TIMER_FUNCTIONS),
    patch(exportsOf(timersPromisesNamespace), promises, ['setTimeout', 'setImmediate', 'setInterval']),
  ];
  syncBuiltinESMExports(); // `import { setTimeout } from 'node:timers'` in ES modules too
  try {
    return await body(scheduler);
  } finally {
    scheduler.dispose();
    for (const u of undo.reverse()) u();
    syncBuiltinESMExports();
    fake.uninstall();
    current = undefined;
    active = false;
  }
}
