import type { MessageStage } from '../aggregation/message-stage.js';
import type { RejectReason } from '../schema/label-values.js';
import type { P2pMonitor } from '../monitor/types.js';
import type { HookErrorSink } from './method-wrapper.js';

/** What a wrapper module gets from P2pInstrumentation. */
export interface InstrumentationContext {
  /** Where every observation goes. */
  readonly monitor: P2pMonitor;
  /** Milliseconds, fractional, monotonic enough for durations (the monitor's clock). */
  readonly now: () => number;
  /** A failure inside our observation code: counted as internal_error and logged to diag. */
  readonly onHookError: HookErrorSink;
  /** Counts input no record method can carry (an event that is not an object) as rejected. */
  readonly reject: (reason: RejectReason) => void;
  /** Runs `hook` at each collection (read pool sizes, queue depths there). Returns its remover. */
  addCollectionHook(hook: () => void): () => void;
  /**
   * A stage aggregating one transport side's messages until the next collection, for a monitor
   * that has them (OtelP2pMonitor); the caller flushes it from a collection hook and closes it.
   */
  createMessageStage?(direction: 'inbound' | 'outbound'): MessageStage;
}

/** An object we instrumented; `restore()` undoes every wrap and listener, exactly. */
export interface Instrumented {
  restore(): void;
}
