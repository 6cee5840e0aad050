import { diag } from '@opentelemetry/api';
import type { MessageStage } from '../aggregation/message-stage.js';
import type { P2pErrorType } from '../schema/label-values.js';
import type { InstrumentationContext, Instrumented } from './context.js';
import { describeKey, isWrapped, observingWrapper, unwrapMethod, wrapMethod, wrapMethodWith, type CallObserver, type MethodFunction } from './method-wrapper.js';
import { attachAcks, detachAcks, PendingAcks, type PendingSend } from './transport-acks.js';
import { classifyError } from './error-classification.js';
import { toPeerKey } from './peer-key.js';
import { defaultMessageId, defaultMessageType, defaultPeerId, defaultSize, messageOf } from './transport-extract.js';
import { defaultPairRecorder, fastSendWrapper, pairRecorder, readsMessageOnly, type MessageExtractor, type PairRecorder } from './transport-fast-path.js';
import { subscribeQueue, type SendQueueLike } from './transport-queue.js';
import { handlerSwapObserver, receiveState } from './transport-receive.js';

export type { SendQueueLike } from './transport-queue.js';
export { acknowledgeMessage, transportAckStats, type AckStats } from './transport-acks.js';

type Args = readonly unknown[];

/**
 * How one side (sent or received) reads a call's arguments. Each runs once per message. A
 * messageType or size extractor declared with one parameter, `(message) => ...`, is called with
 * the message alone: calls of the common shape `(peerId, message)` then build no arguments array.
 */
export interface MessageExtractors {
  /**
   * The peer id; default the first argument. Like the connector's, ids that are objects with their
   * own toString() (an Iroh PublicKey) and numbers become strings; anything else is counted by the
   * monitor as invalid_peer_id.
   */
  peerId?(args: Args): unknown;
  /** The message; default the second argument. */
  message?(args: Args): unknown;
  /** The message_type label; default `message.type` when a string, else `other`. */
  messageType?(message: unknown, args: Args): unknown;
  /**
   * Bytes; default the byteLength of a binary message (or of `message.payload` / `message.data`),
   * the UTF-8 length of a string. Anything else counts as 0 bytes, with one diag warning.
   */
  size?(message: unknown, args: Args): number;
}

export interface TransportOptions extends MessageExtractors {
  methods?: {
    /** The send method, `(peerId, message, ...)`, sync or async; default `sendToPeer`. */
    send?: string;
    /** Registers an incoming-message handler; default `onMessage`. */
    onMessage?: string;
    /** Removes a handler, if the transport has such a method; default `offMessage`. */
    offMessage?: string;
  };
  /**
   * For EventEmitter-style registration, `on(event, handler)`: only handlers registered for this
   * event are wrapped (set `methods.onMessage` to `on` or `addListener` with it).
   */
  event?: string | symbol;
  /** Extractors for the incoming handler's arguments; each defaults to the sent side's. */
  received?: MessageExtractors & {
    /** Message id that a received message acknowledges (with `latency: 'ack'`), else undefined. */
    ackOf?(message: unknown, args: Args): unknown;
  };
  /**
   * - `settle` (default): latency from the send call to its return or its promise settling;
   * - `ack`: from the send call to the peer's acknowledgement, reported by acknowledgeMessage()
   *   or recognised by `received.ackOf`; the message is recorded when acknowledged;
   * - `none`: no latency and no clock reads.
   */
  latency?: 'settle' | 'ack' | 'none';
  /**
   * With `latency: 'settle'`: which sends are timed. The others are recorded (messages, bytes,
   * sizes) without latency and without clock reads, which are about half of a wrapped send's cost.
   * - `'auto'` (default): every send while the transport sends at most `maxTimedSendsPerSecond`
   *   per second, measured over the last collection interval; above that rate a uniform 1-in-N
   *   sample, N chosen at each collection to bring the timed rate back under it (and raised within
   *   1,024 sends when a burst outruns it);
   * - a number N: one send in N, always (1: every send, whatever the rate).
   *
   * A sampled latency histogram keeps its quantiles and mean; its `_count` is then the number of
   * timed sends, not of messages (p2p_messages_sent_total counts those).
   */
  latencyEvery?: number | 'auto';
  /** With `latencyEvery: 'auto'`: sends per second timed at most (default 10,000). */
  maxTimedSendsPerSecond?: number;
  /** With `latency: 'ack'`: the id an acknowledgement names; default `message.id`. */
  messageId?(message: unknown, args: Args): unknown;
  /** Sends awaiting acknowledgement (default 10,000); beyond, the oldest is recorded without latency. */
  maxPendingAcks?: number;
  /** Unacknowledged sends older than this (default 30,000 ms) are recorded without latency. */
  ackTimeoutMs?: number;
  /** Error type of a failed send (default: classifyError, shared with the connector); undefined: not recorded. */
  errorType?(error: unknown, args: Args): P2pErrorType | undefined;
  /** The transport's send queue; default `transport.queue` when it is an emitter. */
  queue?(transport: object): SendQueueLike | undefined;
}

const LATENCY_MODES = ['settle', 'ack', 'none'] as const;

/**
 * Wraps a transport (modelled on IrohTransportV2): its send method for sent messages, bytes,
 * sizes, latency and send errors; its handler registration for received messages; its send queue
 * for buffer metrics. See docs/instrumentation/transport.md.
 */
export function instrumentTransport(target: object, options: TransportOptions, ctx: InstrumentationContext): Instrumented {
  const latency = options.latency ?? 'settle';
  if (!LATENCY_MODES.includes(latency)) throw new TypeError(`p2p-otel: transport latency must be one of ${LATENCY_MODES.join(', ')} (got ${String(latency)})`);
  const maxPending = options.maxPendingAcks ?? 10_000;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) throw new TypeError(`p2p-otel: transport maxPendingAcks must be a positive integer (got ${String(maxPending)})`);
  const latencyEvery = options.latencyEvery ?? 'auto';
  if (latencyEvery !== 'auto' && (!Number.isSafeInteger(latencyEvery) || latencyEvery < 1)) {
    throw new TypeError(`p2p-otel: transport latencyEvery must be 'auto' or a positive integer (got ${String(latencyEvery)})`);
  }
  const maxTimed = options.maxTimedSendsPerSecond ?? DEFAULT_MAX_TIMED_SENDS_PER_SECOND;
  if (!(typeof maxTimed === 'number' && maxTimed > 0)) throw new TypeError(`p2p-otel: transport maxTimedSendsPerSecond must be a positive number (got ${String(maxTimed)})`);
  const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  if (!(typeof ackTimeoutMs === 'number' && ackTimeoutMs > 0)) throw new TypeError(`p2p-otel: transport ackTimeoutMs must be a positive number (got ${String(ackTimeoutMs)})`);
  const send = options.methods?.send ?? 'sendToPeer';
  const onMessage = options.methods?.onMessage ?? 'onMessage';
  const offMessage = options.methods?.offMessage ?? 'offMessage';
  if (isWrapped(target, send) || isWrapped(target, onMessage)) {
    diag.warn('p2p-otel: this transport is already instrumented (by another P2pInstrumentation?); left as it is');
    return { restore() {} };
  }

  const acks = latency === 'ack' ? new PendingAcks(ctx, maxPending, ackTimeoutMs) : undefined;
  // Only a deregistration method that is nothing else may be left wrapped after restore.
  const lingerable = offMessage !== send && offMessage !== onMessage;
  const wrapped: string[] = [];
  const wrap = (name: string, observer: CallObserver<never>): boolean => {
    const ok = wrapMethod(target, name, observer, ctx.onHookError);
    if (ok) wrapped.push(name);
    return ok;
  };

  const sampler = latency === 'settle' ? new LatencySampler(latencyEvery, maxTimed, ctx.now) : undefined;
  const sentNoSize = noSizeWarningOnce('sent');
  const receivedNoSize = noSizeWarningOnce('received');
  const sentSize = options.size ?? defaultSizeOr0(sentNoSize);
  const received = options.received ?? {};
  const receivedSize = received.size ?? options.size ?? defaultSizeOr0(receivedNoSize);
  const observer = acks !== undefined ? ackSendObserver(options, ctx, acks) : sendObserver(options, sentSize, sampler, ctx);
  const state = receiveState(target);
  const observe = receiveObserver(options, receivedSize, ctx, acks);
  const sent = fastSend(options, acks, sentSize, sentNoSize, ctx);
  const observePair = fastReceive(options, acks, receivedSize, receivedNoSize, ctx);
  try {
    const build = (original: MethodFunction): MethodFunction => {
      const general = observingWrapper(original, observer as CallObserver<unknown>, ctx.onHookError);
      if (sent === undefined) return general;
      // Only sendObserver (not ack mode) comes with a fast path; its fail ignores the context.
      const fail = (error: unknown, args: unknown[]): void => (observer as CallObserver<number>).fail?.(Number.NaN, error, args);
      return fastSendWrapper(original, general, sent.record, { sampler, now: ctx.now, fail, onHookError: ctx.onHookError });
    };
    if (wrapMethodWith(target, send, build, ctx.onHookError)) wrapped.push(send);
    else {
      diag.warn(`p2p-otel: the transport has no ${describeKey(send)}() method we can wrap; sent messages are not recorded`);
    }
    state.observe = observe;
    state.observePair = observePair?.record;
    state.onHookError = ctx.onHookError;
    state.active = true;
    state.release = undefined; // a deregistration method left wrapped by an earlier restore() is ours again
    if (!wrap(onMessage, handlerSwapObserver(state, options.event, true) as CallObserver<never>)) {
      diag.warn(`p2p-otel: the transport has no ${describeKey(onMessage)}() method we can wrap; received messages are not recorded`);
    }
    wrap(offMessage, handlerSwapObserver(state, options.event, false) as CallObserver<never>); // optional
  } catch (e) {
    // Whatever threw (a diag logger of the application's, say): undo what was wrapped, or the
    // caller, left without a handle, could never restore it.
    for (const name of wrapped.splice(0)) unwrapMethod(target, name);
    if (state.observe === observe) state.active = false;
    throw e;
  }

  // After the wraps, nothing may throw out of here: the caller would get no handle to restore them.
  let unsubscribeQueue: (() => void) | undefined;
  try {
    const queue = options.queue !== undefined ? options.queue(target) : (target as { queue?: unknown }).queue;
    unsubscribeQueue = subscribeQueue(queue, ctx);
    if (options.queue !== undefined && unsubscribeQueue === undefined) diag.warn('p2p-otel: options.queue() returned no emitter; buffer metrics are not recorded');
  } catch (e) {
    ctx.onHookError(e);
  }

  let removeSweep: (() => void) | undefined;
  const removeRetune = sampler?.adaptive === true ? ctx.addCollectionHook(() => sampler.retune()) : undefined;
  const stages = [sent?.stage, observePair?.stage].filter((st) => st !== undefined);
  const removeFlush = stages.length > 0 ? ctx.addCollectionHook(() => stages.forEach((st) => st.flush())) : undefined;
  if (acks !== undefined) {
    attachAcks(target, acks);
    removeSweep = ctx.addCollectionHook(() => acks.expireOldest(ctx.now()));
  }

  return {
    restore() {
      if (state.observe === observe) state.active = false; // handlers we wrapped now pass through
      for (const name of wrapped.splice(0)) {
        // While the transport holds wrappers of ours, the app's offMessage(handler) finds them only
        // through our swap: that method stays wrapped (translating, recording nothing) until the
        // last one is deregistered, and is restored exactly then.
        if (name === offMessage && lingerable && state.outstandingTotal > 0 && state.observe === observe) state.release = () => unwrapMethod(target, name);
        else unwrapMethod(target, name);
      }
      unsubscribeQueue?.();
      removeRetune?.();
      removeFlush?.();
      for (const st of stages) st.close(); // what is staged is recorded now, not lost with the handle
      if (acks !== undefined) {
        removeSweep?.();
        detachAcks(target, acks);
        acks.flush();
      }
    },
  };
}

/** Default of `maxTimedSendsPerSecond`: timing costs at most about 1 ms of CPU per second. */
export const DEFAULT_MAX_TIMED_SENDS_PER_SECOND = 10_000;

/** Sends between two looks at the send rate within a collection interval (a power of two). */
export const RATE_WINDOW = 1024;

/**
 * Which sends are timed: one in `every`. Adaptive, it re-chooses `every` at each collection from
 * the send rate since the previous one, so the clock reads (about 50 ns each on a VM) stay bounded
 * at any rate while ordinary rates are timed exactly. A burst raises `every` within RATE_WINDOW
 * sends, without waiting for the collection: the interval's average rate would time a burst after
 * an idle stretch almost fully, when its CPU matters most. Counting sends is its per-send cost,
 * plus one clock read per RATE_WINDOW sends.
 */
export class LatencySampler {
  readonly adaptive: boolean;
  private every: number;
  private countdown: number;
  private sends = 0;
  private since: number;
  private windowStart: number;

  constructor(
    every: number | 'auto',
    private readonly maxPerSecond: number,
    private readonly now: () => number,
  ) {
    this.adaptive = every === 'auto';
    this.every = every === 'auto' ? 1 : every;
    this.countdown = this.every;
    this.since = this.adaptive ? now() : 0;
    this.windowStart = this.since;
  }

  /** Called once per send: whether to time it. */
  take(): boolean {
    if ((++this.sends & (RATE_WINDOW - 1)) === 0 && this.adaptive) this.endWindow();
    if (--this.countdown > 0) return false;
    this.countdown = this.every;
    return true;
  }

  /** At collection: the smallest N that keeps the last interval's timed rate under the cap. */
  retune(): void {
    const t = this.now();
    this.every = this.everyFor(this.sends, t - this.since);
    if (this.countdown > this.every) this.countdown = this.every;
    this.sends = 0;
    this.since = t;
    this.windowStart = t;
  }

  /**
   * Every RATE_WINDOW sends: raises N when these sends came faster than the cap allows. Never lowers
   * it (a window may span an idle stretch); the next collection does, from the interval's rate.
   */
  private endWindow(): void {
    const t = this.now();
    const every = this.everyFor(RATE_WINDOW, t - this.windowStart);
    this.windowStart = t;
    if (every <= this.every) return;
    this.every = every;
    if (this.countdown > every) this.countdown = every;
  }

  private everyFor(sends: number, ms: number): number {
    const allowed = ms > 0 ? (ms / 1000) * this.maxPerSecond : this.maxPerSecond;
    return sends > allowed ? Math.ceil(sends / allowed) : 1;
  }
}

/**
 * Send observer: `start` only reads the clock (a number, no allocation; NaN for an untimed send);
 * extractors run once, when the send settles, from the same arguments. A failed send is not a
 * message sent: it counts as a connection error of its classified type instead.
 */
function sendObserver(o: TransportOptions, sizeOf: SizeExtractor, sampler: LatencySampler | undefined, ctx: InstrumentationContext): CallObserver<number> {
  const monitor = ctx.monitor; // its methods are looked up per call: disable() shadows them
  const now = ctx.now;
  const peerOf = o.peerId ?? defaultPeerId;
  const messageFrom = o.message ?? messageOf;
  const typeOf = o.messageType ?? defaultMessageType;
  const errorType = o.errorType ?? classifyError;
  const fail = (_context: unknown, error: unknown, args: unknown[]): void => {
    const type = errorType(error, args);
    if (type !== undefined) monitor.recordError(toPeerKey(peerOf(args)), type);
  };
  if (sampler === undefined) {
    return {
      start: () => 0,
      end(_t0, _result, args) {
        const message = messageFrom(args);
        monitor.recordMessage(toPeerKey(peerOf(args)), typeOf(message, args) as string, sizeOf(message, args));
      },
      fail,
    };
  }
  // NaN marks an untimed send (any number, negative included, may be a virtual clock's).
  return {
    start: () => (sampler.take() ? now() : NaN),
    end(t0, _result, args) {
      const message = messageFrom(args);
      const elapsed = t0 === t0 ? now() - t0 : NaN;
      monitor.recordMessage(toPeerKey(peerOf(args)), typeOf(message, args) as string, sizeOf(message, args), elapsed === elapsed ? (elapsed > 0 ? elapsed : 0) : undefined);
    },
    fail,
  };
}

/**
 * Ack mode: extraction happens at the call, so the pending send exists before any acknowledgement
 * can arrive (one object per send: ack mode trades the allocation for correctness). A failed send
 * leaves the pending set unrecorded and counts as an error.
 */
function ackSendObserver(o: TransportOptions, ctx: InstrumentationContext, acks: PendingAcks): CallObserver<PendingSend> {
  const now = ctx.now;
  const peerOf = o.peerId ?? defaultPeerId;
  const messageFrom = o.message ?? messageOf;
  const typeOf = o.messageType ?? defaultMessageType;
  const sizeOf = o.size ?? defaultSizeOr0(noSizeWarningOnce('sent'));
  const idOf = o.messageId ?? defaultMessageId;
  const errorType = o.errorType ?? classifyError;
  return {
    start(_this, args) {
      const message = messageFrom(args);
      const entry: PendingSend = { id: idOf(message, args), peer: toPeerKey(peerOf(args)), type: typeOf(message, args), size: sizeOf(message, args), t0: now(), tracked: false };
      acks.add(entry);
      return entry;
    },
    end(entry) {
      if (!entry.tracked) ctx.monitor.recordMessage(entry.peer as string, entry.type as string, entry.size);
    },
    fail(entry, error, args) {
      if (entry.tracked) acks.cancel(entry);
      const type = errorType(error, args);
      if (type !== undefined) ctx.monitor.recordError(entry.peer as string, type);
    },
  };
}

/** Records one received message per handler call; extractors default to the sent side's. */
function receiveObserver(o: TransportOptions, sizeOf: SizeExtractor, ctx: InstrumentationContext, acks: PendingAcks | undefined): (args: unknown[]) => void {
  const r = o.received ?? {};
  const monitor = ctx.monitor;
  const peerOf = r.peerId ?? o.peerId ?? defaultPeerId;
  const messageFrom = r.message ?? o.message ?? messageOf;
  const typeOf = r.messageType ?? o.messageType ?? defaultMessageType;
  const ackOf = acks !== undefined ? r.ackOf : undefined;
  if (r.ackOf !== undefined && acks === undefined) diag.warn("p2p-otel: transport received.ackOf is ignored without latency: 'ack'");
  return (args) => {
    const message = messageFrom(args);
    monitor.recordMessage(toPeerKey(peerOf(args)), typeOf(message, args) as string, sizeOf(message, args), undefined, 'inbound');
    if (ackOf !== undefined) {
      const id = ackOf(message, args);
      if (id !== undefined) acks!.acknowledge(id);
    }
  };
}

/** Checked by readsMessageOnly before the fast path calls it with the message alone. */
type SizeExtractor = (message: unknown, args: Args) => number;

/** A side's fast path: its recorder and, when the monitor has stages, the stage it fills. */
interface FastSide {
  readonly record: ReturnType<typeof pairRecorder>;
  readonly stage: MessageStage | undefined;
}

/** The sent side's fast path, when its extraction is the default one for `(peerId, message)` calls. */
function fastSend(o: TransportOptions, acks: PendingAcks | undefined, sizeOf: SizeExtractor, onNoSize: () => void, ctx: InstrumentationContext): FastSide | undefined {
  if (acks !== undefined || o.peerId !== undefined || o.message !== undefined || !readsMessageOnly(o.messageType) || !readsMessageOnly(o.size)) return undefined;
  const stage = ctx.createMessageStage?.('outbound');
  return { stage, record: sideRecorder(ctx, stage, o.messageType, o.size, sizeOf, onNoSize, undefined) };
}

/** The received side's fast path, on the same condition (and no acknowledgements to recognise). */
function fastReceive(o: TransportOptions, acks: PendingAcks | undefined, sizeOf: SizeExtractor, onNoSize: () => void, ctx: InstrumentationContext): FastSide | undefined {
  const r = o.received ?? {};
  const typeOf = r.messageType ?? o.messageType;
  if (
    (acks !== undefined && r.ackOf !== undefined) ||
    (r.peerId ?? o.peerId) !== undefined ||
    (r.message ?? o.message) !== undefined ||
    !readsMessageOnly(typeOf) ||
    !readsMessageOnly(r.size ?? o.size)
  ) {
    return undefined;
  }
  const stage = ctx.createMessageStage?.('inbound');
  return { stage, record: sideRecorder(ctx, stage, typeOf, r.size ?? o.size, sizeOf, onNoSize, 'inbound') };
}

/** The default extraction written out (defaultPairRecorder), or the given extractors called with the message. */
function sideRecorder(
  ctx: InstrumentationContext,
  stage: MessageStage | undefined,
  typeOption: MessageExtractors['messageType'],
  sizeOption: MessageExtractors['size'],
  sizeOf: SizeExtractor,
  onNoSize: () => void,
  direction: 'inbound' | undefined,
): PairRecorder {
  if (typeOption === undefined && sizeOption === undefined) return defaultPairRecorder(ctx.monitor, stage, direction, onNoSize);
  return pairRecorder(ctx.monitor, stage, (typeOption as MessageExtractor<unknown> | undefined) ?? defaultMessageType, sizeOf as MessageExtractor<number>, direction);
}

/**
 * A message of unknown size (a plain object, a number) counts as 0 bytes rather than being
 * dropped: the message itself is real. One warning per transport and side says to pass `size`.
 */
function noSizeWarningOnce(side: 'sent' | 'received'): () => void {
  let warned = false;
  return () => {
    if (warned) return;
    warned = true;
    diag.warn(`p2p-otel: a ${side} message has no byte size the transport instrumentation can read (not binary, not a string, no binary payload/data); counted as 0 bytes: pass options.size`);
  };
}

/** defaultSize, with 0 (and `onNoSize`) for a message of unknown size. */
function defaultSizeOr0(onNoSize: () => void): (message: unknown) => number {
  return (message) => {
    const size = defaultSize(message);
    if (size >= 0) return size;
    onNoSize();
    return 0;
  };
}
