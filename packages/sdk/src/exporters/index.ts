import type { IMetricReader, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResolvedConfig } from '../config/resolve.js';
import type { OwnMetrics } from './coalescing-scrapes.js';
import { createConsoleReader } from './console.js';
import { createOtlpReader } from './otlp.js';
import { startPrometheus, type PrometheusEndpoint } from './prometheus.js';

export interface Readers {
  readonly readers: IMetricReader[];
  readonly prometheus: PrometheusEndpoint | undefined;
}

/**
 * One reader per configured exporter. `producers()` is called once per push reader: each gets its
 * own producer (fast path), or none (standard-instrument path). The Prometheus reader gets none:
 * on the fast path `own()` gives the monitor's text writer, which the endpoint appends to what the
 * reader collects (see scrapeBody); on the standard path it gives undefined.
 */
export async function createReaders(config: ResolvedConfig, producers: () => MetricProducer[] | undefined, own: () => OwnMetrics | undefined): Promise<Readers> {
  // Prometheus first: binding the port is the step that can fail, and push readers do nothing
  // until a MeterProvider adopts them, so nothing needs undoing.
  const prometheus = config.prometheus === undefined ? undefined : await startPrometheus(config.prometheus, own());
  const readers: IMetricReader[] = prometheus === undefined ? [] : [prometheus.reader];
  if (config.otlp !== undefined && config.push !== undefined) readers.push(createOtlpReader(config.otlp, config.push, producers()));
  if (config.exporters.includes('console') && config.push !== undefined) readers.push(createConsoleReader(config.push, producers()));
  return { readers, prometheus };
}

export type { OwnMetrics, PrometheusEndpoint };
