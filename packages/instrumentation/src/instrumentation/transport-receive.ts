import type { CallObserver, HookErrorSink } from './method-wrapper.js';
import type { PairRecorder } from './transport-fast-path.js';

type Handler = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Incoming-message handlers are observed by substituting a wrapper for the handler the app
 * registers. The state below lives as long as the transport (not one instrumentation session):
 * a wrapper registered while instrumented stays registered after restore(), so it checks
 * `active` and passes through when it is false, and observes again when the transport is
 * instrumented again (disable() then enable()).
 */
export interface ReceiveState {
  active: boolean;
  observe: (args: unknown[]) => void;
  /** Two-argument calls, `(peerId, message)`, when the default extraction applies (transport-fast-path.ts). */
  observePair: PairRecorder | undefined;
  onHookError: HookErrorSink;
  /** App handler → its wrapper: the same handler registered twice gets the same wrapper. */
  readonly wrappers: WeakMap<Handler, Handler>;
  /**
   * App handler → registrations of its wrapper not yet deregistered. Deregistration swaps in the
   * wrapper only while one is outstanding: a handler registered again as itself (while disabled)
   * is then removed as itself.
   */
  readonly outstanding: WeakMap<Handler, number>;
  /** Sum of `outstanding`: while above 0, deregistration must keep translating. */
  outstandingTotal: number;
  /**
   * Set by restore() when it had to leave the deregistration method wrapped (the transport still
   * holds wrappers the app knows only as its own handlers): unwraps it once the last one is gone.
   */
  release: (() => void) | undefined;
}

const STATES = new WeakMap<object, ReceiveState>();
const OUR_WRAPPERS = new WeakSet<Handler>();

export function receiveState(transport: object): ReceiveState {
  let state = STATES.get(transport);
  if (state === undefined) {
    state = {
      active: false,
      observe: () => undefined,
      observePair: undefined,
      onHookError: () => undefined,
      wrappers: new WeakMap(),
      outstanding: new WeakMap(),
      outstandingTotal: 0,
      release: undefined,
    };
    STATES.set(transport, state);
  }
  return state;
}

/**
 * The wrapper records the message, then calls the handler with the same `this` and arguments and
 * returns what it returns (throws what it throws): recording first, so a message counts as
 * received even when the app's handler fails on it. `listener` names the app's handler, the
 * convention by which Node's EventEmitter finds it in removeListener() and lists it in listeners().
 */
function wrapperFor(state: ReceiveState, handler: Handler): Handler {
  if (OUR_WRAPPERS.has(handler)) return handler;
  const known = state.wrappers.get(handler);
  if (known !== undefined) return known;
  // Named parameters, not a rest array: the common two-argument call allocates nothing.
  const wrapper = function p2pOtelReceive(this: unknown, peerId: unknown, message: unknown): unknown {
    const pair = arguments.length === 2;
    if (state.active) {
      try {
        if (pair && state.observePair !== undefined) state.observePair(peerId, message, NaN);
        else state.observe(Array.prototype.slice.call(arguments));
      } catch (e) {
        state.onHookError(e);
      }
    }
    return pair ? handler.call(this, peerId, message) : handler.apply(this, arguments as unknown as unknown[]);
  };
  for (const key of ['name', 'length'] as const) {
    try {
      Object.defineProperty(wrapper, key, { value: handler[key], configurable: true });
    } catch {
      // Cosmetic only.
    }
  }
  Object.defineProperty(wrapper, 'listener', { value: handler, configurable: true, writable: true });
  OUR_WRAPPERS.add(wrapper);
  state.wrappers.set(handler, wrapper);
  return wrapper;
}

/** Where the handler sits in a registration call: after `event` for (event, handler) methods. */
function handlerIndex(args: unknown[], event: string | symbol | undefined): number {
  if (event !== undefined) return args[0] === event && typeof args[1] === 'function' ? 1 : -1;
  return args.findIndex((a) => typeof a === 'function');
}

/**
 * Observer for the registration (and deregistration) method. It relies on wrapMethod handing
 * `start` the very array it then applies the original to: replacing the handler there is how the
 * transport ends up holding our wrapper. Deregistration swaps in the wrapper registered for that
 * handler while one is outstanding, so `offMessage(handler)` still finds it, also after restore()
 * (which leaves the deregistration method wrapped until then; see transport.ts).
 */
export function handlerSwapObserver(state: ReceiveState, event: string | symbol | undefined, create: boolean): CallObserver<void> {
  return {
    start(_this, args) {
      const i = handlerIndex(args, event);
      if (i < 0) return;
      const handler = args[i] as Handler;
      if (OUR_WRAPPERS.has(handler)) return;
      const held = state.outstanding.get(handler) ?? 0;
      if (create) {
        args[i] = wrapperFor(state, handler);
        state.outstanding.set(handler, held + 1);
        state.outstandingTotal++;
        return;
      }
      if (held === 0) return; // registered as itself: removed as itself
      args[i] = state.wrappers.get(handler);
      if (held === 1) state.outstanding.delete(handler);
      else state.outstanding.set(handler, held - 1);
      state.outstandingTotal--;
      if (state.outstandingTotal === 0 && !state.active && state.release !== undefined) {
        const release = state.release;
        state.release = undefined;
        release(); // this call goes on with the original it already holds
      }
    },
  };
}
