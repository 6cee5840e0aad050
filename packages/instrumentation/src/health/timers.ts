/**
 * The time source and timers the health checker runs on. Injectable so that a simulation or a test
 * can drive the checker with a virtual clock; the default is the process's real timers.
 */
export interface HealthCheckTimers {
  /** Milliseconds, fractional; only differences are used. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: HealthCheckTimers = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/**
 * Health checks are background work: they must never be the reason a process stays alive, so
 * every timer is unref'd where the handle supports it (Node timers do; browsers return numbers).
 */
export function schedule(timers: HealthCheckTimers, callback: () => void, ms: number): unknown {
  const handle = timers.setTimeout(callback, ms);
  const unref = (handle as { unref?: unknown } | null)?.unref;
  if (typeof unref === 'function') unref.call(handle);
  return handle;
}
