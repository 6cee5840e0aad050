/**
 * Preallocated aggregation cells. A cell is one series: row (peer slot) × stride + the index of
 * its other labels. Recording touches a few array slots and allocates nothing.
 */

/** Counters, up-down counters and gauges: one number per cell. */
export class ScalarCells {
  values: Float64Array;
  /** 1 once the series exists; exporters report touched cells only, zero included. */
  touched: Uint8Array;
  rows: number;
  readonly stride: number;

  constructor(stride: number, rows: number) {
    this.stride = stride;
    this.rows = rows;
    this.values = new Float64Array(stride * rows);
    this.touched = new Uint8Array(stride * rows);
  }

  add(cell: number, value: number): void {
    this.values[cell] = (this.values[cell] as number) + value;
    this.touched[cell] = 1;
  }

  set(cell: number, value: number): void {
    this.values[cell] = value;
    this.touched[cell] = 1;
  }

  grow(rows: number): void {
    const values = new Float64Array(this.stride * rows);
    values.set(this.values);
    const touched = new Uint8Array(this.stride * rows);
    touched.set(this.touched);
    this.values = values;
    this.touched = touched;
    this.rows = rows;
  }
}

/** Receives every histogram value in the standard-instrument path (SDK histograms). */
export type HistogramSink = (cell: number, value: number) => void;

/** Explicit-bucket histograms with the SDK's semantics: bucket i counts values <= boundaries[i]. */
export class HistogramCells {
  readonly boundaries: Float64Array;
  /** Buckets per cell: boundaries + 1 (the +Inf bucket). */
  readonly buckets: number;
  counts: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  touched: Uint8Array;
  rows: number;
  readonly stride: number;
  sink: HistogramSink | undefined = undefined;
  /** Binary exponent of a value → index of the first boundary >= the smallest value with it. */
  readonly startByExponent: Uint8Array;

  constructor(boundaries: readonly number[], stride: number, rows: number) {
    this.boundaries = Float64Array.from(boundaries);
    // Read-only once built, and the same for every monitor of a process (the schema's bucket
    // arrays): built once per array. Building it was most of a monitor's construction time.
    let table = TABLES.get(boundaries);
    if (table === undefined) TABLES.set(boundaries, (table = startIndexByExponent(this.boundaries)));
    this.startByExponent = table;
    this.buckets = boundaries.length + 1;
    this.stride = stride;
    this.rows = rows;
    const cells = stride * rows;
    this.counts = new Float64Array(cells * this.buckets);
    this.count = new Float64Array(cells);
    this.sum = new Float64Array(cells);
    this.min = new Float64Array(cells).fill(Infinity);
    this.max = new Float64Array(cells).fill(-Infinity);
    this.touched = new Uint8Array(cells);
  }

  /**
   * Index of the bucket `value` falls in: the first boundary >= value (upper-inclusive, as the
   * SDK's binarySearchUB), or the +Inf bucket. The value's binary exponent indexes the first
   * boundary that can hold it; boundaries are further apart than a factor of two, so the scan
   * after it is one or two predictable comparisons, where a binary search over random values
   * mispredicts its branches (measured: 40% of record time).
   */
  bucketOf(value: number): number {
    return bucketIndex(this.boundaries, this.startByExponent, value);
  }

  record(cell: number, value: number): void {
    const bucket = cell * this.buckets + this.bucketOf(value);
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count[cell] = (this.count[cell] as number) + 1;
    this.sum[cell] = (this.sum[cell] as number) + value;
    if (value < (this.min[cell] as number)) this.min[cell] = value;
    if (value > (this.max[cell] as number)) this.max[cell] = value;
    this.touched[cell] = 1;
    if (this.sink !== undefined) this.sink(cell, value);
  }

  /**
   * Adds values aggregated elsewhere (a MessageStage's): `count` values summing to `sum`, within
   * [min, max], bucketed as `buckets[from ..]` in this histogram's buckets. Fast path only: a
   * sink (standard instruments) needs every value, so staging is off while one is attached.
   */
  merge(cell: number, count: number, sum: number, min: number, max: number, buckets: Float64Array, from: number): void {
    const base = cell * this.buckets;
    for (let i = 0; i < this.buckets; i++) this.counts[base + i] = (this.counts[base + i] as number) + (buckets[from + i] as number);
    this.count[cell] = (this.count[cell] as number) + count;
    this.sum[cell] = (this.sum[cell] as number) + sum;
    if (min < (this.min[cell] as number)) this.min[cell] = min;
    if (max > (this.max[cell] as number)) this.max[cell] = max;
    this.touched[cell] = 1;
  }

  grow(rows: number): void {
    const cells = this.stride * rows;
    const grown = (old: Float64Array, size: number, fill: number): Float64Array => {
      const next = new Float64Array(size);
      if (fill !== 0) next.fill(fill);
      next.set(old);
      return next;
    };
    this.counts = grown(this.counts, cells * this.buckets, 0);
    this.count = grown(this.count, cells, 0);
    this.sum = grown(this.sum, cells, 0);
    this.min = grown(this.min, cells, Infinity);
    this.max = grown(this.max, cells, -Infinity);
    const touched = new Uint8Array(cells);
    touched.set(this.touched);
    this.touched = touched;
    this.rows = rows;
  }
}

export type Cells = ScalarCells | HistogramCells;

const SCRATCH_FLOAT = new Float64Array(1);
const SCRATCH_WORDS = new Uint32Array(SCRATCH_FLOAT.buffer);
/** Index of the 32-bit word holding sign and exponent: 1 on little-endian machines. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

const TABLES = new WeakMap<readonly number[], Uint8Array>();

/** HistogramCells.bucketOf, for callers that keep a histogram's boundaries and table at hand. */
export function bucketIndex(boundaries: Float64Array, startByExponent: Uint8Array, value: number): number {
  SCRATCH_FLOAT[0] = value;
  let lo = startByExponent[((SCRATCH_WORDS[HIGH_WORD] as number) >>> 20) & 0x7ff] as number;
  while (lo < boundaries.length && (boundaries[lo] as number) < value) lo++;
  return lo;
}

function startIndexByExponent(boundaries: Float64Array): Uint8Array {
  if (boundaries.length > 255) throw new RangeError('p2p-otel: at most 255 histogram boundaries');
  const table = new Uint8Array(2048);
  // `smallest` grows with e, so the scan resumes where the previous exponent's stopped.
  let i = 0;
  for (let e = 1; e < 2048; e++) {
    const smallest = e === 2047 ? Infinity : 2 ** (e - 1023); // exponent 0 (zero, subnormals) starts at 0
    while (i < boundaries.length && (boundaries[i] as number) < smallest) i++;
    table[e] = i;
  }
  return table;
}
