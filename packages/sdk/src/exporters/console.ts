import { ConsoleMetricExporter, PeriodicExportingMetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResolvedPush } from '../config/resolve.js';

/** For diagnostics: prints every export with console.dir (cumulative). */
export function createConsoleReader(push: ResolvedPush, metricProducers?: MetricProducer[]): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), ...push, metricProducers });
}
