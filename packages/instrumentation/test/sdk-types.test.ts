import type { MetricProducer, ViewOptions } from '@opentelemetry/sdk-metrics';
import { OtelP2pMonitor, createP2pViews } from '../src/index.js';

// Compile-time contract (`pnpm test` type-checks first): what we hand to sdk-metrics needs no cast.
describe('sdk-metrics types', () => {
  it('accept the producer as a MetricProducer and the views as ViewOptions, without casts', async () => {
    const monitor = new OtelP2pMonitor();
    const producer: MetricProducer = monitor.createMetricProducer();
    const views: ViewOptions[] = createP2pViews(monitor);
    expect(views.length).toBeGreaterThan(0);
    expect((await producer.collect()).errors).toEqual([]);
  });
});
