import type { BatchObservableResult, Histogram, Meter, Observable, ObservableCounter, ObservableGauge, ObservableUpDownCounter } from '@opentelemetry/api';
import type { HistogramCells, ScalarCells } from '../aggregation/cells.js';
import type { MetricSeries } from '../aggregation/metric-store.js';
import { instrumentName } from '../schema/naming.js';
import type { MetricGroup } from '../schema/types.js';
import type { CollectionSource } from './metric-producer.js';

/**
 * The standard-instrument path for one metric group, in the shape of the contrib runtime
 * collectors (enable/disable live on the monitor: a disabled monitor ignores records and keeps
 * exporting what it had, so a collector has nothing to switch): observable instruments read the monitor's aggregates in one batch callback at
 * collection; histograms, which have no observable form, are SDK histograms fed as values arrive.
 * Used when the application owns the MeterProvider and does not add our MetricProducer.
 */
export class GroupCollector {
  private readonly series: readonly MetricSeries[];
  private meter: Meter | undefined;
  private observables: { series: MetricSeries; instrument: Observable }[] = [];
  private readonly callback = (result: BatchObservableResult): void => this.observe(result);

  constructor(
    readonly group: MetricGroup,
    private readonly source: CollectionSource,
  ) {
    this.series = source.store.list.filter((s) => s.def.group === group);
  }

  updateMetricInstruments(meter: Meter): void {
    this.detach();
    this.meter = meter;
    for (const series of this.series) {
      const { def } = series;
      const name = instrumentName(def);
      const options = { description: def.description, unit: def.unit };
      switch (def.instrument) {
        case 'counter':
          this.observables.push({ series, instrument: meter.createObservableCounter(name, options) as ObservableCounter });
          break;
        case 'updowncounter':
          this.observables.push({ series, instrument: meter.createObservableUpDownCounter(name, options) as ObservableUpDownCounter });
          break;
        case 'gauge':
          this.observables.push({ series, instrument: meter.createObservableGauge(name, options) as ObservableGauge });
          break;
        case 'histogram': {
          const histogram: Histogram = meter.createHistogram(name, {
            ...options,
            advice: { explicitBucketBoundaries: [...(def.buckets ?? [])] },
          });
          const store = this.source.store;
          (series.cells as HistogramCells).sink = (cell, value) => {
            histogram.record(value, store.attributesOf(series, cell));
          };
          break;
        }
      }
    }
    meter.addBatchObservableCallback(
      this.callback,
      this.observables.map((o) => o.instrument),
    );
  }

  /** Stops feeding the current meter (before a new one, or when the fast path takes over). */
  detach(): void {
    if (this.meter !== undefined) {
      this.meter.removeBatchObservableCallback(
        this.callback,
        this.observables.map((o) => o.instrument),
      );
    }
    for (const series of this.series) if (series.def.instrument === 'histogram') (series.cells as HistogramCells).sink = undefined;
    this.observables = [];
    this.meter = undefined;
  }

  private observe(result: BatchObservableResult): void {
    this.source.prepareCollection();
    const store = this.source.store;
    for (const { series, instrument } of this.observables) {
      const cells = series.cells as ScalarCells;
      for (let cell = 0; cell < cells.touched.length; cell++) {
        if (cells.touched[cell] === 1) result.observe(instrument, cells.values[cell] as number, store.attributesOf(series, cell));
      }
    }
  }
}
