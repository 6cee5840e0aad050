import { schedule, type HealthCheckTimers } from './timers.js';

/**
 * The application's ping: resolves with the RTT in milliseconds, or with nothing to let the
 * checker time the call itself. Should stop work when `signal` aborts (timeout or stop()); one
 * that ignores the signal is abandoned, its late result discarded.
 */
export type PingFunction = (peerId: string, signal: AbortSignal) => Promise<number | void> | number | void;

export type PingOutcome =
  /** `rttMs` is the ping's own number (possibly invalid: the monitor validates it) or the measured time. */
  | { readonly kind: 'success'; readonly rttMs: number }
  | { readonly kind: 'failure'; readonly errorType: 'timeout' | 'other'; readonly error?: unknown }
  /** The checker was stopped: nothing is to be recorded. */
  | { readonly kind: 'stopped' };

export interface TimedPingOptions {
  readonly timeoutMs: number;
  readonly timers: HealthCheckTimers;
  readonly now: () => number;
  /** Aborted by stop(): ends the ping at once, whatever the application's ping does. */
  readonly stopSignal: AbortSignal;
}

/**
 * Runs one ping under a timeout. Never rejects: a throw, a rejection, a timeout or a stop all
 * become an outcome. The first of them wins; whatever the ping does later is ignored.
 */
export function timedPing(ping: PingFunction, peerId: string, o: TimedPingOptions): Promise<PingOutcome> {
  return new Promise((resolve) => {
    if (o.stopSignal.aborted) {
      resolve({ kind: 'stopped' });
      return;
    }
    const controller = new AbortController();
    let settled = false;
    let timer: unknown;
    const finish = (outcome: PingOutcome): void => {
      if (settled) return;
      settled = true;
      try {
        o.timers.clearTimeout(timer);
      } catch {
        // An injected timer implementation failing must not leave the ping unsettled.
      }
      // The stop signal lives as long as the checker runs: a listener left per ping would leak.
      o.stopSignal.removeEventListener('abort', onStop);
      resolve(outcome);
    };
    const onStop = (): void => {
      finish({ kind: 'stopped' });
      controller.abort(o.stopSignal.reason);
    };
    o.stopSignal.addEventListener('abort', onStop);
    timer = schedule(
      o.timers,
      () => {
        // Settle before aborting: a ping rejecting on abort must not turn the timeout into 'other'.
        finish({ kind: 'failure', errorType: 'timeout' });
        controller.abort(timeoutError(o.timeoutMs));
      },
      o.timeoutMs,
    );
    const started = o.now();
    let result: Promise<number | void>;
    try {
      result = Promise.resolve(ping(peerId, controller.signal));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (value) => finish({ kind: 'success', rttMs: typeof value === 'number' ? value : o.now() - started }),
      (error: unknown) => finish({ kind: 'failure', errorType: isTimeout(error) ? 'timeout' : 'other', error }),
    );
  });
}

function timeoutError(ms: number): Error {
  const e = new Error(`p2p-otel: health ping timed out after ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

/** The application's own timeouts count as timeouts too (DOMException TimeoutError, ETIMEDOUT). */
function isTimeout(error: unknown): boolean {
  try {
    if (typeof error !== 'object' || error === null) return false;
    const { name, code } = error as { name?: unknown; code?: unknown };
    return name === 'TimeoutError' || code === 'ETIMEDOUT';
  } catch {
    return false; // a throwing getter must not leave the ping unsettled
  }
}
