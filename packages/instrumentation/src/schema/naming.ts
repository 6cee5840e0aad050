import type { MetricDefinition } from './types.js';

/**
 * The OpenTelemetry instrument name of a schema entry: its Prometheus name, less the `_total`
 * that every export path appends to a monotonic counter. Names keep underscores and the unit word
 * because the JS Prometheus exporter adds no unit suffix: a dotted name without the unit would
 * reach Prometheus under another name than through OTLP (see docs/metrics.md, "Naming").
 */
export function instrumentName(def: MetricDefinition): string {
  return def.instrument === 'counter' ? def.name.replace(/_total$/, '') : def.name;
}
