import type { InstrumentationContext, Instrumented } from './context.js';

/** Options for wrapping a manager (to be completed). */
export interface ManagerOptions {}

/** Wraps a manager's methods and subscriptions; see P2pInstrumentation.instrumentManager. */
export function instrumentManager(_target: object, _options: ManagerOptions, _ctx: InstrumentationContext): Instrumented {
  return { restore() {} };
}
