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

/** A histogram cell's record in HistogramCells.data: count, sum, min and max, then its buckets. */
const COUNT = 0;
const SUM = 1;
const MIN = 2;
const MAX = 3;
const FIELDS = 4;

/**
 * Explicit-bucket histograms with the SDK's semantics: bucket i counts values <= boundaries[i].
 * Each cell is one record of `width` numbers in `data` (count, sum, min, max, then its buckets), so
 * recording a value writes one or two cache lines and `touched`, where an array per field (counts,
 * count, sum, min, max) wrote five (docs/performance.md, session 12).
 */
export class HistogramCells {
  readonly boundaries: Float64Array;
  /** Buckets per cell: boundaries + 1 (the +Inf bucket). */
  readonly buckets: number;
  /** Numbers per cell in `data`. */
  readonly width: number;
  /** The cells' records, cell c at c × width; replaced when rows grow. */
  data: Float64Array;
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
    this.width = FIELDS + this.buckets;
    this.stride = stride;
    this.rows = rows;
    const cells = stride * rows;
    this.data = new Float64Array(cells * this.width);
    this.emptyRecords(0, cells);
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

  countOf(cell: number): number {
    return this.data[cell * this.width + COUNT] as number;
  }

  sumOf(cell: number): number {
    return this.data[cell * this.width + SUM] as number;
  }

  /** +Infinity while the cell is empty. */
  minOf(cell: number): number {
    return this.data[cell * this.width + MIN] as number;
  }

  /** -Infinity while the cell is empty. */
  maxOf(cell: number): number {
    return this.data[cell * this.width + MAX] as number;
  }

  /** Values of `cell` in bucket `bucket` (not cumulative). */
  bucketCountOf(cell: number, bucket: number): number {
    return this.data[cell * this.width + FIELDS + bucket] as number;
  }

  record(cell: number, value: number): void {
    const d = this.data;
    const r = cell * this.width;
    const b = r + FIELDS + this.bucketOf(value);
    d[b] = (d[b] as number) + 1;
    d[r + COUNT] = (d[r + COUNT] as number) + 1;
    d[r + SUM] = (d[r + SUM] as number) + value;
    if (value < (d[r + MIN] as number)) d[r + MIN] = value;
    if (value > (d[r + MAX] as number)) d[r + MAX] = value;
    this.touched[cell] = 1;
    if (this.sink !== undefined) this.sink(cell, value);
  }

  /**
   * Adds values aggregated elsewhere (a MessageStage's): `count` values summing to `sum`, within
   * [min, max], bucketed as `buckets[from ..]` in this histogram's buckets. Fast path only: a
   * sink (standard instruments) needs every value, so staging is off while one is attached.
   */
  merge(cell: number, count: number, sum: number, min: number, max: number, buckets: Float64Array, from: number): void {
    const d = this.data;
    const r = cell * this.width;
    for (let i = 0; i < this.buckets; i++) d[r + FIELDS + i] = (d[r + FIELDS + i] as number) + (buckets[from + i] as number);
    d[r + COUNT] = (d[r + COUNT] as number) + count;
    d[r + SUM] = (d[r + SUM] as number) + sum;
    if (min < (d[r + MIN] as number)) d[r + MIN] = min;
    if (max > (d[r + MAX] as number)) d[r + MAX] = max;
    this.touched[cell] = 1;
  }

  grow(rows: number): void {
    const had = this.stride * this.rows;
    const cells = this.stride * rows;
    const data = new Float64Array(cells * this.width);
    data.set(this.data);
    this.data = data;
    this.emptyRecords(had, cells);
    const touched = new Uint8Array(cells);
    touched.set(this.touched);
    this.touched = touched;
    this.rows = rows;
  }

  /** Cells [from, to) empty: min +Infinity and max -Infinity (zero everywhere else). */
  private emptyRecords(from: number, to: number): void {
    for (let r = from * this.width; r < to * this.width; r += this.width) {
      this.data[r + MIN] = Infinity;
      this.data[r + MAX] = -Infinity;
    }
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
