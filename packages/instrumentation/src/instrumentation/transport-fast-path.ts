import type { MessageStage } from '../aggregation/message-stage.js';
import type { P2pMonitor } from '../monitor/types.js';
import type { HookErrorSink, MethodFunction } from './method-wrapper.js';
import { isPromise, promiseThen } from './method-wrapper.js';
import { toPeerKey } from './peer-key.js';
import type { LatencySampler } from './transport.js';

/**
 * The common shape of a transport call, `(peerId, message)` with the default peer and message
 * extraction, recorded without an arguments array, without an observer context, and staged (see
 * MessageStage) when the monitor has stages. At a fast transport's message rate the general
 * wrapper's per-call array, observer calls and the monitor's scattered arrays were most of the
 * instrumentation's cost (docs/performance.md). Every other shape takes the general path.
 */

/** A message-type or size extractor the fast path may call with the message alone. */
export type MessageExtractor<R> = (message: unknown) => R;

/** Records `(peerId, message)`; `latencyMs` is NaN for an untimed message. */
export type PairRecorder = (peerId: unknown, message: unknown, latencyMs: number) => void;

/** Whether an extractor reads only its first parameter (the message): then it gets nothing else. */
export function readsMessageOnly(extractor: ((...a: never[]) => unknown) | undefined): boolean {
  return extractor === undefined || extractor.length <= 1;
}

export function pairRecorder(
  monitor: P2pMonitor,
  stage: MessageStage | undefined,
  typeOf: MessageExtractor<unknown>,
  sizeOf: MessageExtractor<number>,
  direction: 'inbound' | undefined,
): PairRecorder {
  return (peerId, message, latencyMs) => {
    const peer = typeof peerId === 'string' ? peerId : toPeerKey(peerId);
    const type = typeOf(message);
    const size = sizeOf(message);
    const latency = latencyMs > 0 ? latencyMs : latencyMs === latencyMs ? 0 : Number.NaN; // NaN: untimed
    if (stage === undefined || !stage.add(peer, type, size, latency)) {
      monitor.recordMessage(peer, type as string, size, latency === latency ? latency : undefined, direction);
    }
  };
}

/** What the fast send wrapper needs besides the recorder. */
export interface FastSendHooks {
  readonly sampler: LatencySampler | undefined;
  readonly now: () => number;
  /** A failed send: `args` is the call's arguments. */
  readonly fail: (error: unknown, args: unknown[]) => void;
  readonly onHookError: HookErrorSink;
}

/**
 * The send wrapper: two-argument calls of a method that has returned no promise yet are handled
 * here; anything else goes to `general`, the observing wrapper, which pools its promise
 * observation (so a method seen returning a promise goes there from then on).
 */
export function fastSendWrapper(original: MethodFunction, general: MethodFunction, record: PairRecorder, hooks: FastSendHooks): MethodFunction {
  const { sampler, now, fail, onHookError } = hooks;
  let async = false;
  const ended = (t0: number, peerId: unknown, message: unknown): void => {
    try {
      record(peerId, message, t0 === t0 ? now() - t0 : NaN);
    } catch (e) {
      onHookError(e);
    }
  };
  const failed = (error: unknown, peerId: unknown, message: unknown): void => {
    try {
      fail(error, [peerId, message]);
    } catch (e) {
      onHookError(e);
    }
  };
  return function p2pOtelWrapped(this: unknown, peerId: unknown, message: unknown): unknown {
    // Any other call shape is forwarded unchanged.
    if (async || arguments.length !== 2) return general.apply(this, arguments as unknown as unknown[]);
    let t0 = NaN;
    try {
      if (sampler?.take() === true) t0 = now();
    } catch (e) {
      onHookError(e);
    }
    let result: unknown;
    try {
      result = original.call(this, peerId, message);
    } catch (error) {
      failed(error, peerId, message);
      throw error;
    }
    if (typeof result === 'object' && result !== null && isPromise(result)) {
      async = true;
      try {
        promiseThen.call(
          result,
          () => ended(t0, peerId, message),
          (error: unknown) => failed(error, peerId, message),
        );
        return result;
      } catch {
        // A Promise subclass whose species constructor threw: observed as a plain value.
      }
    }
    ended(t0, peerId, message);
    return result;
  };
}
