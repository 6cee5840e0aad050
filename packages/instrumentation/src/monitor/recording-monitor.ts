import { REJECT_REASONS } from '../schema/label-values.js';
import { InputNormalizer, type LabelOptions } from './normalizer.js';
import { RECORD_METHODS, type P2pMonitor, type RecordMethod } from './types.js';

export interface RecordedCall<M extends RecordMethod = RecordMethod> {
  readonly method: M;
  readonly args: Parameters<P2pMonitor[M]>;
  /** False when the monitor would have dropped the record as invalid. */
  readonly accepted: boolean;
}

/**
 * The design's mock monitor, for your own unit tests: records every call in memory and validates
 * it exactly as OtelP2pMonitor does (same drops, folds and rejection counts).
 *
 * @example
 *   const monitor = new RecordingP2pMonitor();
 *   await transport.sendToPeer('peer-a', msg);
 *   expect(monitor.callsTo('recordMessage')).toHaveLength(1);
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below declares the record methods installed on the prototype
export class RecordingP2pMonitor {
  readonly calls: RecordedCall[] = [];
  private readonly n: InputNormalizer;

  constructor(options: LabelOptions = {}) {
    this.n = new InputNormalizer(options, () => undefined);
  }

  callsTo<M extends RecordMethod>(method: M): RecordedCall<M>[] {
    return this.calls.filter((c): c is RecordedCall<M> => c.method === method);
  }

  /** Arguments of the accepted calls to `method`. */
  accepted<M extends RecordMethod>(method: M): Parameters<P2pMonitor[M]>[] {
    return this.callsTo(method)
      .filter((c) => c.accepted)
      .map((c) => c.args);
  }

  rejectedRecords(): Record<string, number> {
    return Object.fromEntries(REJECT_REASONS.map((r, i) => [r, this.n.rejected[i] as number]));
  }

  clear(): void {
    this.calls.length = 0;
    this.n.rejected.fill(0);
  }

  /** Shared body of every P2pMonitor method (installed on the prototype below). */
  protected record(method: RecordMethod, args: unknown[]): void {
    try {
      const accepted = this.n.validate(RECORD_METHODS[method], args);
      this.calls.push({ method, args: args as never, accepted });
    } catch {
      // Like every monitor: never throw into the caller.
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RecordingP2pMonitor extends P2pMonitor {}

for (const method of Object.keys(RECORD_METHODS) as RecordMethod[]) {
  Object.defineProperty(RecordingP2pMonitor.prototype, method, {
    value(this: RecordingP2pMonitor, ...args: unknown[]): void {
      this.record(method, args);
    },
    writable: true,
    configurable: true,
  });
}
