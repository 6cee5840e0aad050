import { getEventListeners } from 'node:events';
import { schedule, type HealthCheckTimers } from './timers.js';

/**
 * The application's ping: resolves with the RTT in milliseconds, or with nothing to let the
 * checker time the call itself. Should stop work when `signal` aborts (timeout or stop()); one
 * that ignores the signal is abandoned, its late result discarded. Consecutive pings may share a
 * signal (see SignalLease) when the earlier one left no abort listener on it.
 */
export type PingFunction = (peerId: string, signal: AbortSignal) => Promise<number | void> | number | void;

export type PingOutcome =
  /** `rttMs` is the ping's own number (possibly invalid: the monitor validates it) or the measured time. */
  | { readonly kind: 'success'; readonly rttMs: number }
  | { readonly kind: 'failure'; readonly errorType: 'timeout' | 'other'; readonly error?: unknown }
  /** The checker was stopped: nothing is to be recorded. */
  | { readonly kind: 'stopped' };

/**
 * What stop() ends: every ping started under it. Pings register here rather than as listeners of
 * an AbortSignal: adding and removing an EventTarget listener per ping costs more than a Set.
 */
export class StopScope {
  aborted = false;
  /** What the pings' signals are aborted with, as an aborted AbortSignal's default reason. */
  reason: unknown = undefined;
  private readonly pings = new Set<() => void>();

  /** Calls `onStop` at abort(), unless removed before. */
  add(onStop: () => void): void {
    this.pings.add(onStop);
  }

  remove(onStop: () => void): void {
    this.pings.delete(onStop);
  }

  /** Ends every ping registered, in the order they started. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new DOMException('This operation was aborted', 'AbortError');
    for (const onStop of this.pings) onStop();
    this.pings.clear();
  }
}

export interface TimedPingOptions {
  readonly timeoutMs: number;
  readonly timers: HealthCheckTimers;
  readonly now: () => number;
  /** Aborted by stop(): ends the ping at once, whatever the application's ping does. */
  readonly stop: StopScope;
}

/**
 * The abort controller a sequence of pings shares (a worker slot pings one peer after the other,
 * round after round): the next ping gets the same signal until one is aborted, or until a ping
 * settles leaving an abort listener on it (which would otherwise pile up), then a new one.
 * On Node 20 an AbortSignal costs microseconds to create and outlives a young-generation
 * collection; one per ping was a large share of the checker's cost and long-lived garbage.
 */
export interface SignalLease {
  controller: AbortController | undefined;
}

/**
 * Runs one ping under a timeout. Never rejects: a throw, a rejection, a timeout or a stop all
 * become an outcome. The first of them wins; whatever the ping does later is ignored.
 */
export function timedPing(ping: PingFunction, peerId: string, o: TimedPingOptions, lease: SignalLease): Promise<PingOutcome> {
  return new Promise((resolve) => {
    if (o.stop.aborted) {
      resolve({ kind: 'stopped' });
      return;
    }
    const controller = (lease.controller ??= new AbortController());
    const abort = (reason: unknown): void => {
      if (lease.controller === controller) lease.controller = undefined; // an aborted signal is never handed out again
      controller.abort(reason);
    };
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
      // The stop scope lives as long as the checker runs: an entry left per ping would leak.
      o.stop.remove(onStop);
      // A ping that left an abort listener on its signal would pile them up on a shared one.
      if (lease.controller === controller && hasAbortListeners(controller.signal)) lease.controller = undefined;
      resolve(outcome);
    };
    const onStop = (): void => {
      finish({ kind: 'stopped' });
      abort(o.stop.reason);
    };
    o.stop.add(onStop);
    timer = schedule(
      o.timers,
      () => {
        // Settle before aborting: a ping rejecting on abort must not turn the timeout into 'other'.
        finish({ kind: 'failure', errorType: 'timeout' });
        abort(timeoutError(o.timeoutMs));
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

/** Whether anything still listens for the signal's abort (onabort included); true when that cannot be told. */
function hasAbortListeners(signal: AbortSignal): boolean {
  try {
    return getEventListeners(signal, 'abort').length > 0;
  } catch {
    return true;
  }
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
