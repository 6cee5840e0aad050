import type { P2pMetricProducer } from '@p2p-otel/instrumentation';

export interface HistogramValue {
  count: number;
  sum: number;
  min: number;
  max: number;
  boundaries: number[];
  counts: number[];
}

export interface MetricPoint {
  attributes: Record<string, string | number | boolean>;
  value: number | HistogramValue;
}

/** One node's exported metrics, as plain JSON. Times are virtual ms since the start of the run. */
export interface NodeSnapshot {
  /** Whether the node's process was running at the end (a crashed node shows its last metrics, collected when it crashed). */
  up: boolean;
  /** Process starts so far (1 + restarts). */
  incarnation: number;
  startTimeMs: number;
  endTimeMs: number;
  /** Exported metric name → data points, in export order. */
  metrics: Record<string, MetricPoint[]>;
  errors: string[];
}

export type Snapshot = Record<string, NodeSnapshot>;

type HrTime = [number, number];
const hrMs = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6;

/** producer.collectSync(), normalised to plain JSON (ms relative to `epochMs`). */
export function collectNode(producer: P2pMetricProducer, epochMs: number, up: boolean, incarnation: number): NodeSnapshot {
  const { resourceMetrics, errors } = producer.collectSync();
  const metrics: Record<string, MetricPoint[]> = {};
  let startTimeMs = 0;
  let endTimeMs = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      metrics[metric.descriptor.name] = metric.dataPoints.map((p) => {
        startTimeMs = round(hrMs(p.startTime as HrTime) - epochMs);
        endTimeMs = round(hrMs(p.endTime as HrTime) - epochMs);
        const v = p.value as number | { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number; min: number; max: number };
        const value: number | HistogramValue = typeof v === 'number' ? v : { count: v.count, sum: v.sum, min: v.min, max: v.max, boundaries: [...v.buckets.boundaries], counts: [...v.buckets.counts] };
        return { attributes: { ...(p.attributes as MetricPoint['attributes']) }, value };
      });
    }
  }
  return { up, incarnation, startTimeMs, endTimeMs, metrics, errors: errors.map(String) };
}

/** HrTime round trips lose sub-µs precision; keep µs. */
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

function matches(point: MetricPoint, attributes: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(attributes)) if (point.attributes[k] !== v) return false;
  return true;
}

/** The points of `name` whose attributes include `attributes`. */
export function points(node: NodeSnapshot, name: string, attributes: Record<string, unknown> = {}): MetricPoint[] {
  return (node.metrics[name] ?? []).filter((p) => matches(p, attributes));
}

/** Sum of the matching points of a counter or gauge (0 when there are none). */
export function value(node: NodeSnapshot, name: string, attributes: Record<string, unknown> = {}): number {
  let sum = 0;
  for (const p of points(node, name, attributes)) {
    if (typeof p.value !== 'number') throw new TypeError(`${name} is a histogram; use histogram()`);
    sum += p.value;
  }
  return sum;
}

/** Count and sum over the matching points of a histogram. */
export function histogram(node: NodeSnapshot, name: string, attributes: Record<string, unknown> = {}): { count: number; sum: number; min: number; max: number } {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const p of points(node, name, attributes)) {
    if (typeof p.value === 'number') throw new TypeError(`${name} is not a histogram; use value()`);
    count += p.value.count;
    sum += p.value.sum;
    min = Math.min(min, p.value.min);
    max = Math.max(max, p.value.max);
  }
  return { count, sum, min, max };
}
