import type { MetricStore } from '../aggregation/metric-store.js';
import { instrumentName } from '../schema/naming.js';
import { PACKAGE_NAME } from '../version.js';

/** sdk-metrics' AggregationType.EXPLICIT_BUCKET_HISTOGRAM, mirrored (a test pins it). */
export const EXPLICIT_BUCKET_HISTOGRAM = 4;

/** Structurally an sdk-metrics `ViewOptions`: pass these to `new MeterProvider({ views })`. */
export interface P2pViewOptions {
  instrumentName: string;
  meterName: string;
  aggregationCardinalityLimit: number;
  aggregation?: { type: typeof EXPLICIT_BUCKET_HISTOGRAM; options: { boundaries: number[] } };
}

/**
 * One view per metric for the standard-instrument path: the explicit buckets of the schema and a
 * cardinality limit one above the most series the monitor can produce for it (peer budget × the
 * sizes of its other label sets), so the SDK's overflow series never hides data we bounded already
 * and the SDK's default limit (2000) never truncates a legitimately larger metric.
 */
export function createP2pViews(source: { readonly store: MetricStore }): P2pViewOptions[] {
  const { store } = source;
  const peerRows = store.peers.mode === 'none' ? 1 : store.maxPeerRows;
  return store.list.map((s) => {
    const rows = s.peerLabel >= 0 ? peerRows : 1;
    const view: P2pViewOptions = {
      instrumentName: instrumentName(s.def),
      meterName: PACKAGE_NAME,
      aggregationCardinalityLimit: rows * s.cells.stride + 1,
    };
    if (s.def.instrument === 'histogram') {
      view.aggregation = { type: EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...(s.def.buckets ?? [])] } };
    }
    return view;
  });
}
