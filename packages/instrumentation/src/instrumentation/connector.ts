import type { InstrumentationContext, Instrumented } from './context.js';

/** Options for wrapping a connector (to be completed). */
export interface ConnectorOptions {}

/** Wraps a connector's methods and subscriptions; see P2pInstrumentation.instrumentConnector. */
export function instrumentConnector(_target: object, _options: ConnectorOptions, _ctx: InstrumentationContext): Instrumented {
  return { restore() {} };
}
