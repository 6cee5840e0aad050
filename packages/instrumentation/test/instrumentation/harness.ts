import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createP2pViews, P2pInstrumentation, type MetricId, type P2pInstrumentationConfig } from '../../src/index.js';
import { TestReader } from '../support/collect.js';
import { valueOf } from '../support/read.js';

/** A P2pInstrumentation read through the fast path, with full peer ids and, optionally, a virtual clock. */
export function instrumentation(config: P2pInstrumentationConfig = {}) {
  const inst = new P2pInstrumentation({ peerId: { mode: 'full' }, ...config });
  const reader = new TestReader({ metricProducers: [inst.createMetricProducer()] });
  const provider = new MeterProvider({ readers: [reader], views: createP2pViews(inst) });
  const collect = async (): Promise<ResourceMetrics> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
    return resourceMetrics;
  };
  /** One value after a fresh collection. */
  const value = async (id: MetricId, match: Record<string, string> = {}): Promise<unknown> => valueOf(await collect(), id, match);
  return { inst, provider, collect, value };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending microtask and one turn of the event loop run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
