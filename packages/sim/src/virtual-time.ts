import { withGlobal, type Clock } from '@sinonjs/fake-timers';

/** The wall-clock time at which every simulation starts: 2025-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = Date.UTC(2025, 0, 1);

/**
 * Everything time-related that the simulated world and the instrumentation may touch. Microtasks
 * (promises, queueMicrotask, process.nextTick) stay real: they do not advance time.
 */
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance', 'hrtime'] as const;

let active: Clock | undefined;

/**
 * Runs `body` with virtual timers, `Date` and `performance` installed on the global object
 * (@sinonjs/fake-timers) and restores the real ones afterwards, also when `body` throws. Time
 * only moves when `body` advances it (`clock.tickAsync(ms)`), as fast as the CPU allows.
 * Simulations do not nest and do not run concurrently in one process.
 */
export async function withVirtualTime<T>(body: (clock: Clock) => Promise<T>, startMs = SIM_EPOCH_MS): Promise<T> {
  if (active !== undefined) throw new Error('@p2p-otel/sim: a simulation is already running in this process (virtual time is global)');
  const clock = withGlobal(globalThis).install({
    now: startMs,
    toFake: [...FAKED],
    loopLimit: 100_000_000,
    shouldClearNativeTimers: false,
  });
  active = clock;
  try {
    return await body(clock);
  } finally {
    active = undefined;
    clock.uninstall();
  }
}
