import type { Attributes } from '@opentelemetry/api';
import { METRICS, METRIC_IDS, type MetricId } from '../schema/metrics.js';
import type { ConfiguredDomain, MetricDefinition } from '../schema/types.js';
import { ValueIndex } from '../labels/value-index.js';
import type { PeerLabels } from '../labels/peer-labels.js';
import { HistogramCells, ScalarCells, type Cells } from './cells.js';

/** One schema metric laid out in typed arrays. */
export interface MetricSeries {
  readonly id: MetricId;
  readonly def: MetricDefinition;
  readonly cells: Cells;
  /** Position of peer_id among the labels, -1 when the metric has none. */
  readonly peerLabel: number;
  /** Value sets of the labels other than peer_id, in label order (mixed radix, last fastest). */
  readonly dims: readonly ValueIndex[];
  /** Attributes per cell, built on first export and kept: labels of a cell never change. */
  readonly attributes: (Attributes | undefined)[];
}

export type ConfiguredDomains = Record<ConfiguredDomain, ValueIndex>;

/**
 * All aggregation state of a monitor: one MetricSeries per schema entry, label value sets shared
 * between metrics (so one computed cell index serves every metric with the same labels), and the
 * peer-row capacity, grown by doubling up to the peer budget.
 */
export class MetricStore {
  readonly series: { readonly [K in MetricId]: MetricSeries };
  readonly list: readonly MetricSeries[];
  readonly domains: ConfiguredDomains;
  readonly peers: PeerLabels;
  private readonly maxRows: number;
  private rows: number;
  private readonly auxiliary: ScalarCells[] = [];

  constructor(peers: PeerLabels, domains: ConfiguredDomains, maxPeers: number) {
    this.peers = peers;
    this.domains = domains;
    this.maxRows = maxPeers + 1;
    this.rows = Math.min(INITIAL_PEER_ROWS, this.maxRows);
    const shared = new Map<readonly string[], ValueIndex>();
    const indexFor = (values: readonly string[]): ValueIndex => {
      let index = shared.get(values);
      if (index === undefined) shared.set(values, (index = new ValueIndex(values)));
      return index;
    };
    const entries = METRIC_IDS.map((id): [MetricId, MetricSeries] => {
      const def: MetricDefinition = METRICS[id];
      const dims: ValueIndex[] = [];
      let peerLabel = -1;
      def.labels.forEach((label, i) => {
        if (label.domain.kind === 'peer') peerLabel = i;
        else if (label.domain.kind === 'closed') dims.push(indexFor(label.domain.values));
        else dims.push(domains[label.domain.option]);
      });
      const stride = dims.reduce((n, d) => n * d.size, 1);
      const rows = peerLabel >= 0 ? this.rows : 1;
      const cells = def.instrument === 'histogram' ? new HistogramCells(def.buckets ?? [], stride, rows) : new ScalarCells(stride, rows);
      return [id, { id, def, cells, peerLabel, dims, attributes: [] }];
    });
    this.series = Object.fromEntries(entries) as { [K in MetricId]: MetricSeries };
    this.list = entries.map(([, s]) => s);
  }

  /** Called by PeerLabels when it hands out `slot`; grows per-peer arrays ahead of use. */
  ensurePeerRow(slot: number): void {
    if (slot < this.rows) return;
    const rows = Math.min(Math.max(this.rows * 2, slot + 1), this.maxRows);
    for (const s of this.list) if (s.peerLabel >= 0) s.cells.grow(rows);
    for (const a of this.auxiliary) a.grow(rows);
    this.rows = rows;
  }

  /** Per-peer side state of a monitor (not exported), grown with the metric rows. */
  createPeerCells(stride: number): ScalarCells {
    const cells = new ScalarCells(stride, this.rows);
    this.auxiliary.push(cells);
    return cells;
  }

  get peerRows(): number {
    return this.rows;
  }

  /** Peer rows at most: the peer budget plus `other`. */
  get maxPeerRows(): number {
    return this.maxRows;
  }

  /** The attributes of `cell` of `s`, built once. */
  attributesOf(s: MetricSeries, cell: number): Attributes {
    const cached = s.attributes[cell];
    if (cached !== undefined) return cached;
    const stride = s.cells.stride;
    const row = Math.floor(cell / stride);
    let rest = cell - row * stride;
    const values: string[] = new Array<string>(s.dims.length);
    for (let d = s.dims.length - 1; d >= 0; d--) {
      const dim = s.dims[d] as ValueIndex;
      values[d] = dim.values[rest % dim.size] as string;
      rest = Math.floor(rest / dim.size);
    }
    const attributes: Attributes = {};
    let d = 0;
    s.def.labels.forEach((label, i) => {
      if (i === s.peerLabel) {
        if (this.peers.mode !== 'none') attributes[label.key] = this.peers.labels[row];
      } else {
        attributes[label.key] = values[d++];
      }
    });
    s.attributes[cell] = attributes;
    return attributes;
  }
}

const INITIAL_PEER_ROWS = 16;
