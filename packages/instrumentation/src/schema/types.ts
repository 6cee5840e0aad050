/** Types of the metric schema table (`metrics.ts`), the single source of truth. */

export type MetricGroup = 'connection' | 'performance' | 'discovery' | 'resources' | 'protocol' | 'self';

/**
 * How the instrument is exported. Histograms are synchronous in the standard-instrument path;
 * every other kind is observed at collection time from the monitor's own aggregates.
 */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

/** App-configured label sets: the application names its values, anything else is `other`. */
export type ConfiguredDomain = 'messageTypes' | 'resourceTypes' | 'protocolVersions';

export type LabelDomain = { readonly kind: 'peer' } | { readonly kind: 'closed'; readonly values: readonly string[] } | { readonly kind: 'configured'; readonly option: ConfiguredDomain };

export interface LabelSpec {
  /** The attribute key, identical to the Prometheus label name. */
  readonly key: string;
  readonly domain: LabelDomain;
}

export interface MetricDefinition {
  /** Prometheus name as every export path produces it (see naming.ts). */
  readonly name: string;
  /** The design's name, only where we deliberately changed it (see `decision`). */
  readonly designName?: string;
  readonly group: MetricGroup;
  readonly instrument: InstrumentKind;
  /** UCUM unit. Chosen so that the OTLP-to-Prometheus translation adds nothing to `name`. */
  readonly unit: string;
  readonly description: string;
  readonly labels: readonly LabelSpec[];
  /** Explicit bucket boundaries; histograms only. */
  readonly buckets?: readonly number[];
  /** Why this entry departs from the design, rendered into docs/metrics.md. */
  readonly decision?: string;
}
