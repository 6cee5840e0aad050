import type { MessageStage } from '../aggregation/message-stage.js';
import type { P2pMonitor } from '../monitor/types.js';
import type { HookErrorSink, MethodFunction } from './method-wrapper.js';
import { isPromise, promiseThen, reactionPool } from './method-wrapper.js';
import { toPeerKey } from './peer-key.js';
import { defaultSize, sizeBeyondBytes } from './transport-extract.js';
import { OTHER } from '../schema/label-values.js';
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
    stageOrRecord(monitor, stage, peer, type, size, latencyMs, direction);
  };
}

/** One message to the stage, or to recordMessage when the stage cannot take it; NaN latency: untimed. */
function stageOrRecord(monitor: P2pMonitor, stage: MessageStage | undefined, peer: string, type: unknown, size: number, latencyMs: number, direction: 'inbound' | undefined): void {
  const latency = latencyMs > 0 ? latencyMs : latencyMs === latencyMs ? 0 : Number.NaN;
  if (stage === undefined || !stage.add(peer, type, size, latency)) {
    monitor.recordMessage(peer, type as string, size, latency === latency ? latency : undefined, direction);
  }
}

/**
 * pairRecorder with the default extractors (defaultMessageType, defaultSize) written out in it:
 * the common messages (binary, or `{ type, payload }` with a binary payload) are read with no
 * further call. `onNoSize` is told of a message of unknown size, counted as 0 bytes.
 */
export function defaultPairRecorder(monitor: P2pMonitor, stage: MessageStage | undefined, direction: 'inbound' | undefined, onNoSize: () => void): PairRecorder {
  return (peerId, message, latencyMs) => {
    const peer = typeof peerId === 'string' ? peerId : toPeerKey(peerId);
    let type: unknown = OTHER;
    let size: number;
    if (typeof message === 'object' && message !== null) {
      const t = (message as { type?: unknown }).type;
      if (typeof t === 'string') type = t;
      if (ArrayBuffer.isView(message)) size = message.byteLength;
      else {
        const payload = (message as { payload?: unknown }).payload;
        size = ArrayBuffer.isView(payload) ? payload.byteLength : sizeBeyondBytes(message, payload);
      }
    } else size = defaultSize(message);
    if (size < 0) {
      onNoSize();
      size = 0;
    }
    stageOrRecord(monitor, stage, peer, type, size, latencyMs, direction);
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

/** What a send in flight on a promise needs when it settles. */
interface SendCall {
  t0: number;
  peerId: unknown;
  message: unknown;
}

/**
 * The send wrapper: two-argument calls are handled here, a returned promise observed through a
 * pooled reaction pair as the general wrapper does (so the steady state allocates nothing, sync or
 * async); any other call shape goes to `general`, the observing wrapper.
 */
export function fastSendWrapper(original: MethodFunction, general: MethodFunction, record: PairRecorder, hooks: FastSendHooks): MethodFunction {
  const { sampler, now, fail, onHookError } = hooks;
  const ended = (t0: number, peerId: unknown, message: unknown): void => {
    try {
      record(peerId, message, t0 === t0 ? now() - t0 : Number.NaN);
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
  const reactions = reactionPool<SendCall>(
    () => ({ t0: Number.NaN, peerId: undefined, message: undefined }),
    (call) => {
      call.peerId = undefined;
      call.message = undefined;
    },
    (call) => ended(call.t0, call.peerId, call.message),
    (call, error) => failed(error, call.peerId, call.message),
  );
  return function p2pOtelWrapped(this: unknown, peerId: unknown, message: unknown): unknown {
    // Any other call shape is forwarded unchanged.
    if (arguments.length !== 2) return general.apply(this, arguments as unknown as unknown[]);
    let t0 = Number.NaN;
    if (sampler !== undefined) {
      try {
        if (sampler.take()) t0 = now();
      } catch (e) {
        onHookError(e);
      }
    }
    let result: unknown;
    try {
      result = original.call(this, peerId, message);
    } catch (error) {
      failed(error, peerId, message);
      throw error;
    }
    if (typeof result === 'object' && result !== null && isPromise(result)) {
      const reaction = reactions.acquire();
      reaction.call.t0 = t0;
      reaction.call.peerId = peerId;
      reaction.call.message = message;
      try {
        promiseThen.call(result, reaction.settled, reaction.rejected);
        return result;
      } catch {
        reactions.release(reaction); // a Promise subclass whose species constructor threw: observed as a plain value
      }
    }
    ended(t0, peerId, message);
    return result;
  };
}
