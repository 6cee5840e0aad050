import type { IMetricReader, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResolvedConfig } from '../config/resolve.js';
import { createConsoleReader } from './console.js';
import { createOtlpReader } from './otlp.js';
import { startPrometheus, type PrometheusEndpoint } from './prometheus.js';

export interface Readers {
  readonly readers: IMetricReader[];
  readonly prometheus: PrometheusEndpoint | undefined;
}

/**
 * One reader per configured exporter. `producers()` is called once per reader: each reader gets
 * its own producer (fast path), or none (standard-instrument path).
 */
export async function createReaders(config: ResolvedConfig, producers: () => MetricProducer[] | undefined): Promise<Readers> {
  // Prometheus first: binding the port is the step that can fail, and push readers do nothing
  // until a MeterProvider adopts them, so nothing needs undoing.
  const prometheus = config.prometheus === undefined ? undefined : await startPrometheus(config.prometheus, producers());
  const readers: IMetricReader[] = prometheus === undefined ? [] : [prometheus.reader];
  if (config.otlp !== undefined && config.push !== undefined) readers.push(createOtlpReader(config.otlp, config.push, producers()));
  if (config.exporters.includes('console') && config.push !== undefined) readers.push(createConsoleReader(config.push, producers()));
  return { readers, prometheus };
}

export type { PrometheusEndpoint };
