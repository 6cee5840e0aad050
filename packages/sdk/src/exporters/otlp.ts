import { AggregationTemporalityPreference, OTLPMetricExporter as OtlpJsonMetricExporter, type OTLPMetricExporterOptions } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResolvedOtlp, ResolvedPush } from '../config/resolve.js';
import type { TemporalityPreference } from '../options.js';

const TEMPORALITY: Record<TemporalityPreference, AggregationTemporalityPreference> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};

/**
 * Everything is passed explicitly: the exporters would read URL, headers, timeout and temporality
 * from the environment themselves, but skip invalid values with a warning, and they do not read
 * the protocol or the interval at all. Compression and TLS files are still theirs to read.
 */
export function createOtlpReader(otlp: ResolvedOtlp, push: ResolvedPush, metricProducers?: MetricProducer[]): PeriodicExportingMetricReader {
  const options: OTLPMetricExporterOptions = {
    url: otlp.url,
    headers: otlp.headers,
    temporalityPreference: TEMPORALITY[otlp.temporality],
    ...(otlp.timeoutMillis === undefined ? {} : { timeoutMillis: otlp.timeoutMillis }),
  };
  const exporter = otlp.protocol === 'http/json' ? new OtlpJsonMetricExporter(options) : new OtlpProtoMetricExporter(options);
  return new PeriodicExportingMetricReader({ exporter, ...push, metricProducers });
}
