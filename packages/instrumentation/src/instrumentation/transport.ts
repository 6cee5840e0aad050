import type { InstrumentationContext, Instrumented } from './context.js';

/** Options for wrapping a transport (to be completed). */
export interface TransportOptions {}

/** Wraps a transport's methods and subscriptions; see P2pInstrumentation.instrumentTransport. */
export function instrumentTransport(_target: object, _options: TransportOptions, _ctx: InstrumentationContext): Instrumented {
  return { restore() {} };
}
