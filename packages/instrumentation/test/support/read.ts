import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { METRICS, PACKAGE_NAME, instrumentName, type MetricId } from '../../src/index.js';

type Point = { attributes: Record<string, unknown>; value: unknown };

/** The points of one schema metric in a collection (empty when not exported). */
export function points(rm: ResourceMetrics, id: MetricId): Point[] {
  const name = instrumentName(METRICS[id]);
  const metric = rm.scopeMetrics
    .filter((s) => s.scope.name === PACKAGE_NAME)
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as Point[];
}

/** The value of the point whose attributes include `match`; undefined when absent. */
export function valueOf(rm: ResourceMetrics, id: MetricId, match: Record<string, string> = {}): unknown {
  return points(rm, id).find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))?.value;
}
