import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createP2pViews, OtelP2pMonitor, PACKAGE_NAME, type P2pMonitorConfig } from '../../src/index.js';

/** A pull reader for tests: `collect()` on demand, nothing exported. */
export class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

export interface Harness {
  monitor: OtelP2pMonitor;
  reader: TestReader;
  provider: MeterProvider;
  /** Our scope's metrics from one collection. */
  collect(): Promise<ResourceMetrics>;
}

/** A monitor exported through the fast path (MetricProducer on the reader). */
export function fastPath(config: P2pMonitorConfig = {}): Harness {
  const monitor = new OtelP2pMonitor(config);
  const reader = new TestReader({ metricProducers: [monitor.createMetricProducer()] });
  const provider = new MeterProvider({ readers: [reader], views: createP2pViews(monitor) });
  return harness(monitor, reader, provider);
}

/** A monitor exported through standard instruments on an application-owned MeterProvider. */
export function standardPath(config: P2pMonitorConfig = {}): Harness {
  const monitor = new OtelP2pMonitor(config);
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader], views: createP2pViews(monitor) });
  monitor.setMeterProvider(provider);
  return harness(monitor, reader, provider);
}

function harness(monitor: OtelP2pMonitor, reader: TestReader, provider: MeterProvider): Harness {
  return {
    monitor,
    reader,
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
      return resourceMetrics;
    },
  };
}

/** Points of our scope keyed by metric name, timestamps dropped, points sorted: comparable data. */
export function normalise(rm: ResourceMetrics): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const scope of rm.scopeMetrics) {
    if (scope.scope.name !== PACKAGE_NAME) continue;
    for (const m of scope.metrics) {
      if (m.dataPoints.length === 0) continue;
      const points = m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })).sort((a, b) => (JSON.stringify(a.attributes) < JSON.stringify(b.attributes) ? -1 : 1));
      out[m.descriptor.name] = {
        description: m.descriptor.description,
        unit: m.descriptor.unit,
        valueType: m.descriptor.valueType,
        dataPointType: m.dataPointType,
        temporality: m.aggregationTemporality,
        isMonotonic: 'isMonotonic' in m ? m.isMonotonic : undefined,
        points,
      };
    }
  }
  return out;
}

/** Series count per Prometheus-facing instrument name. */
export function seriesCounts(rm: ResourceMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const scope of rm.scopeMetrics) {
    if (scope.scope.name !== PACKAGE_NAME) continue;
    for (const m of scope.metrics) out[m.descriptor.name] = m.dataPoints.length;
  }
  return out;
}
