import { diag } from '@opentelemetry/api';
import type { InstrumentationContext, Instrumented } from './context.js';
import { EventRecorder } from './manager-dispatch.js';
import { linkSetOf } from './manager-links.js';
import { attachEmitter, attachIterable, type Sink } from './manager-source.js';
import { P2P_EVENT_TYPES, type P2pEvent, type P2pEventType } from './p2p-events.js';
import { emitterMethods } from './transport-queue.js';

export type { P2pEvent, P2pEventType } from './p2p-events.js';

export interface ManagerOptions {
  /** EventEmitter mode: the event that carries P2pEvent objects; default `event`. */
  eventName?: string | symbol;
  /**
   * EventEmitter mode, one event per type (`emit('peer_discovered', { peerId, method })`, payload
   * without `type`): `true` for events named after the types, or a map type → event name for the
   * types to listen to. Replaces `eventName`.
   */
  eventNames?: true | Partial<Record<P2pEventType, string | symbol>>;
  /** The EventEmitter, when it is not the manager itself (for example `m => m.events`). */
  emitter?(manager: object): unknown;
  /**
   * Async-iterable mode: a method returning a new async iterable (or iterator) of events per call.
   * Default, for a manager that is not an EventEmitter: `subscribe`, else `events`.
   */
  subscribe?: string;
  /**
   * For events of other shapes: returns the P2pEvent, or undefined to ignore the event. In
   * per-type mode it also gets the event name.
   */
  mapEvent?(raw: unknown, eventName?: string | symbol): P2pEvent | undefined;
}

/**
 * Subscribes to a P2P manager's event stream (the design's "Subscribe to P2pEvent stream") for
 * discovery, topology and resource synchronisation metrics; see docs/instrumentation/manager.md.
 * Nothing of the manager is wrapped: we only listen, so restore() removes our listeners or stops
 * our iterator, and ends the transfers we counted as active.
 */
export function instrumentManager(target: object, options: ManagerOptions, ctx: InstrumentationContext): Instrumented {
  const recorder = new EventRecorder(ctx, linkSetOf(target));
  const map = options.mapEvent;
  const one: Sink = map === undefined ? (raw) => recorder.record(raw) : (raw) => mapped(recorder, map(raw, undefined));
  const stop = attach(target, options, recorder, one, ctx);
  return {
    restore() {
      stop?.();
      recorder.finishAll();
    },
  };
}

function mapped(recorder: EventRecorder, event: P2pEvent | undefined): void {
  if (event !== undefined) recorder.record(event); // undefined: the app said "not a P2P event"
}

function attach(target: object, options: ManagerOptions, recorder: EventRecorder, one: Sink, ctx: InstrumentationContext): (() => void) | undefined {
  if (options.subscribe !== undefined) return attachIterable(target, options.subscribe, one, ctx.onHookError);
  const emitter = options.emitter !== undefined ? options.emitter(target) : target;
  if (options.emitter !== undefined || emitterMethods(target) !== undefined) {
    const stop = attachEmitter(emitter, sinks(options, recorder, one), ctx.onHookError);
    if (stop === undefined) diag.warn('p2p-otel: options.emitter() returned no EventEmitter; manager events are not recorded');
    return stop;
  }
  if (options.eventName !== undefined || options.eventNames !== undefined) {
    diag.warn('p2p-otel: the manager is not an EventEmitter (pass options.emitter); manager events are not recorded');
    return undefined;
  }
  const method = ['subscribe', 'events'].find((m) => typeof (target as Record<string, unknown>)[m] === 'function') ?? 'subscribe';
  return attachIterable(target, method, one, ctx.onHookError);
}

/** Event name → what handles its payload. */
function sinks(options: ManagerOptions, recorder: EventRecorder, one: Sink): Map<string | symbol, Sink> {
  const names = options.eventNames;
  if (names === undefined) return new Map([[options.eventName ?? 'event', one]]);
  const map = options.mapEvent;
  const byType: [P2pEventType, string | symbol | undefined][] = names === true ? P2P_EVENT_TYPES.map((t) => [t, t]) : P2P_EVENT_TYPES.map((t) => [t, names[t]]);
  const out = new Map<string | symbol, Sink>();
  for (const [type, name] of byType) {
    if (name === undefined) continue;
    out.set(name, map === undefined ? (raw) => recorder.recordAs(type, raw) : (raw) => mapped(recorder, map(raw, name)));
  }
  return out;
}
