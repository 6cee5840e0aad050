import type { HistogramCells, ScalarCells } from '../aggregation/cells.js';
import type { MetricSeries } from '../aggregation/metric-store.js';
import { instrumentName } from '../schema/naming.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import type { CollectionSource } from './metric-producer.js';

/**
 * One metric of the store as the exporter's PrometheusSerializer writes it, as UTF-8 bytes. What
 * never changes is encoded once: the header, the line heads, the `le` tails, and per cell its
 * label part (kept in the writer's arena, located by `labelAt`).
 */
interface Family {
  readonly series: MetricSeries;
  readonly name: string;
  readonly histogram: boolean;
  /** `# HELP …`, `# UNIT …` (when the metric has a unit), `# TYPE …`, each with its newline. */
  readonly header: Uint8Array;
  /** Histograms: `<name>_count`, `<name>_sum`, `<name>_bucket`. */
  readonly countHead: Uint8Array;
  readonly sumHead: Uint8Array;
  readonly bucketHead: Uint8Array;
  /** Per bucket: `,le="<bound>"} `, the last one `+Inf`. */
  readonly leTails: readonly Uint8Array[];
  /** Room for a histogram line less its labels: the longest head and `le` tail, a number, the newline. */
  readonly lineRoom: number;
  /**
   * Per cell, [start, end) in the arena of its cached label part, end 0 until built (labels of a
   * cell never change, see MetricStore.attributesOf). Scalars: the line up to its value,
   * `name{…} `. Histograms: `{…,otel_scope_version="…"`, without the closing brace, which every
   * line of the cell shares.
   */
  labelAt: Int32Array;
}

/** Room for one formatted number: the longest a double prints as is 24 characters. */
const NUMBER_ROOM = 32;
/** Default size of a slice's buffer: about half a millisecond of writing. */
export const DEFAULT_SLICE_BYTES = 512 * 1024;

/**
 * The Prometheus text exposition of a monitor's metrics, written as UTF-8 straight from its typed
 * arrays into buffers.
 *
 * Why: building a data point object per series for the SDK's PrometheusSerializer, which then
 * rebuilds every label string of every line, cost about 5 µs per line: over a second per scrape
 * for 1,000 fully populated peers (215,000 lines). Here a line is its cached bytes copied and its
 * number's digits. Buffers rather than strings: a text concatenated line by line is a rope
 * that costs as much to flatten and encode as it took to build (measured: 40 ms to write, 50 to
 * flatten, 25 to encode at 1,000 peers).
 *
 * The bytes are, exactly, the UTF-8 encoding of what `new PrometheusSerializer().serialize()`
 * writes for the metrics of our P2pMetricProducer's collection, with default options (scope labels,
 * no timestamps, no prefix, no resource labels), target_info and its "no registered metrics" line
 * excepted: one family per metric with a touched cell, in schema order, HELP (UNIT) TYPE, then per
 * touched cell its lines (histograms: `_count`, `_sum`, then the cumulative `_bucket`s). A test in
 * @p2p-otel/sdk holds the two to equality.
 */
export class PrometheusTextWriter {
  private readonly families: readonly Family[];
  private readonly scopeLabels: string;
  private arena = Buffer.allocUnsafe(0);
  private arenaUsed = 0;
  /** Attribute key → Prometheus label name. */
  private readonly labelNames = new Map<string, string>();
  /**
   * Slice buffers of DEFAULT_SLICE_BYTES that released scrapes gave back, for the next ones: at
   * most as many as the largest scrape took, so the memory kept between scrapes is one scrape's text.
   */
  private readonly pool: Buffer[] = [];
  private poolLimit = 0;

  constructor(private readonly source: CollectionSource) {
    // The scope's labels, as the serializer adds them (the producer's scope has no schema URL).
    this.scopeLabels = `otel_scope_name="${escapeLabelValue(PACKAGE_NAME)}",otel_scope_version="${escapeLabelValue(PACKAGE_VERSION)}"`;
    this.families = source.store.list.map((series) => familyOf(series));
  }

  /** The Prometheus metric names (families) this writer can write. */
  get names(): string[] {
    return this.families.map((f) => f.name);
  }

  /**
   * Starts a scrape: prepares the collection (collection hooks, derived gauges) and returns a
   * cursor that writes the text slice by slice. Asynchronous like MetricProducer.collect(), so
   * that a caller awaits it as a collection. Writing throws only on a bug; callers turn that into
   * a failed scrape.
   */
  async begin(): Promise<PrometheusTextScrape> {
    return this.beginSync();
  }

  beginSync(): PrometheusTextScrape {
    this.source.prepareCollection();
    return new PrometheusTextScrape(this);
  }

  /** The whole text at once (what concatenating every slice of a scrape gives). */
  write(): Buffer {
    const scrape = this.beginSync();
    const chunks: Buffer[] = [];
    while (!scrape.done) chunks.push(scrape.next(4 * 1024 * 1024));
    return Buffer.concat(chunks);
  }

  /** @internal The scrape's next slice: at least one cell, in a buffer of `sliceBytes` unless that cell needs more. */
  writeSlice(cursor: PrometheusTextScrape, sliceBytes: number): Buffer {
    if (cursor.finished) return Buffer.alloc(0);
    const pooled = sliceBytes === DEFAULT_SLICE_BYTES;
    let out = (pooled ? this.pool.pop() : undefined) ?? Buffer.allocUnsafe(sliceBytes);
    let pos = this.fill(cursor, out);
    if (pos < 0) {
      if (pooled) this.pool.push(out);
      out = Buffer.allocUnsafe(-pos); // one cell larger than a slice
      pos = this.fill(cursor, out);
    } else if (pooled) {
      cursor.taken.push(out);
    }
    if (cursor.family < this.families.length) return out.subarray(0, pos);
    cursor.finished = true;
    if (pos >= out.length / 2) return out.subarray(0, pos);
    // The last slice is usually short: a copy, so that the response does not hold the whole buffer.
    const last = Buffer.from(out.subarray(0, pos));
    if (cursor.taken.at(-1) === out) this.pool.push(cursor.taken.pop() as Buffer);
    return last;
  }

  /** @internal Takes back a released scrape's buffers. */
  recycle(buffers: Buffer[]): void {
    this.poolLimit = Math.max(this.poolLimit, buffers.length);
    for (const b of buffers) if (this.pool.length < this.poolLimit) this.pool.push(b);
  }

  /**
   * Writes cells from `cursor` into `out` while the next one fits; returns the bytes written, or
   * minus the room the first cell needs when it alone does not fit. The end of a scrape is left to
   * writeSlice: a branch taken once per scrape had no type feedback when this loop was optimized,
   * deoptimized it on every scrape, and the next scrape ran unoptimized until it was compiled again.
   */
  private fill(cursor: PrometheusTextScrape, out: Buffer): number {
    const families = this.families;
    let pos = 0;
    while (cursor.family < families.length) {
      const f = families[cursor.family] as Family;
      const s = f.series;
      // Read per slice: growing the peer rows between slices replaces the arrays.
      const touched = s.cells.touched;
      if (f.labelAt.length < 2 * touched.length) f.labelAt = grownInt32(f.labelAt, 2 * touched.length);
      const labelAt = f.labelAt;
      const histogram = f.histogram ? (s.cells as HistogramCells) : undefined;
      const values = f.histogram ? undefined : (s.cells as ScalarCells).values;
      for (let cell = cursor.cell; cell < touched.length; cell++) {
        if (touched[cell] === 0) continue;
        if ((labelAt[2 * cell + 1] as number) === 0) this.buildLabel(f, cell);
        const labelStart = labelAt[2 * cell] as number;
        const labelEnd = labelAt[2 * cell + 1] as number;
        const header = cursor.headerWritten ? 0 : f.header.length;
        const need = header + (histogram === undefined ? labelEnd - labelStart + NUMBER_ROOM + 1 : (histogram.buckets + 2) * (f.lineRoom + labelEnd - labelStart));
        if (pos + need > out.length) {
          cursor.cell = cell;
          return pos > 0 ? pos : -need;
        }
        if (header > 0) {
          out.set(f.header, pos);
          pos += header;
          cursor.headerWritten = true;
        }
        pos =
          histogram === undefined
            ? scalarLine(out, pos, this.arena, labelStart, labelEnd, (values as Float64Array)[cell] as number)
            : histogramLines(out, pos, f, histogram, cell, this.arena, labelStart, labelEnd);
      }
      cursor.family++;
      cursor.cell = 0;
      cursor.headerWritten = false;
    }
    return pos;
  }

  /** Encodes the serializer's label list of a cell (its attributes in order, then the scope's) into the arena. */
  private buildLabel(f: Family, cell: number): void {
    let text = '';
    const attributes = this.source.store.attributesOf(f.series, cell);
    for (const key in attributes) {
      let name = this.labelNames.get(key);
      if (name === undefined) this.labelNames.set(key, (name = sanitizeName(key)));
      text += `${text.length > 0 ? ',' : ''}${name}="${escapeLabelValue(attributes[key])}"`;
    }
    text = `{${text}${text.length > 0 ? ',' : ''}${this.scopeLabels}`;
    if (!f.histogram) text = `${f.name}${text}} `;
    const room = 3 * text.length; // UTF-8 bytes at most
    if (this.arenaUsed + room > this.arena.length) {
      const arena = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + room));
      this.arena.copy(arena, 0, 0, this.arenaUsed);
      this.arena = arena;
    }
    f.labelAt[2 * cell] = this.arenaUsed;
    this.arenaUsed += this.arena.write(text, this.arenaUsed, 'utf8');
    f.labelAt[2 * cell + 1] = this.arenaUsed;
  }
}

/**
 * One scrape in progress. Each `next()` writes the following touched cells into one buffer of
 * about `sliceBytes` (whole cells), so that the caller can yield to the event loop between
 * slices. Cells are read when their slice is written: a record made between two slices is in the
 * text if its cell comes later; the lines of one cell (a histogram's count, sum and buckets) are
 * always consistent.
 */
export class PrometheusTextScrape {
  // Where the scrape is: family (metric) index, cell, and whether the family's header is out.
  /** @internal */ family = 0;
  /** @internal */ cell = 0;
  /** @internal */ headerWritten = false;
  /** @internal */ finished = false;
  /** @internal Pooled buffers the slices are views of. */ taken: Buffer[] = [];

  constructor(private readonly writer: PrometheusTextWriter) {}

  get done(): boolean {
    return this.finished;
  }

  /** The next slice; of the default size, its buffer comes from the writer's pool (see release). */
  next(sliceBytes: number = DEFAULT_SLICE_BYTES): Buffer {
    return this.writer.writeSlice(this, sliceBytes);
  }

  /**
   * Hands the buffers of this scrape's slices back to the writer, for the next scrape to write
   * into: call it once nothing reads the slices any more (every response sent). Why: a scrape at
   * 1,000 peers is 32 MB of slices, at 10,000 peers 320 MB; fresh buffers cost page faults and GC
   * work every time (measured: 15 ms a scrape at 1,000 peers, 250 ms at 10,000, as much as the
   * writing). Without the call the buffers are simply garbage collected.
   */
  release(): void {
    const taken = this.taken;
    this.taken = [];
    this.writer.recycle(taken);
  }
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const CLOSE = 0x7d; // }
const ZERO = 0x30;

// Copies are set() and copyWithin(), memmoves at 20 to 50 ns a call (a byte loop costs about
// 1 ns a byte); the loop is kept for the short `le` tails only. Functions of their own, so that
// the loop calling them stays small: the optimizing compiler took 20 to 50 ms of a busy machine's
// background thread for the loop with all of it inside, during which the scrape ran unoptimized.

/** A counter's or gauge's line: its cached `name{…} `, the value. */
function scalarLine(out: Buffer, pos: number, arena: Buffer, labelStart: number, labelEnd: number, value: number): number {
  out.set(arena.subarray(labelStart, labelEnd), pos);
  pos = putNumber(out, pos + labelEnd - labelStart, value);
  out[pos] = NEWLINE;
  return pos + 1;
}

/** A histogram cell's lines: `_count`, `_sum`, then the cumulative `_bucket`s. */
function histogramLines(out: Buffer, pos: number, f: Family, h: HistogramCells, cell: number, arena: Buffer, labelStart: number, labelEnd: number): number {
  const labelLength = labelEnd - labelStart;
  out.set(f.countHead, pos);
  pos += f.countHead.length;
  const label = pos; // the label part, copied within the buffer from here on
  out.set(arena.subarray(labelStart, labelEnd), pos);
  pos += labelLength;
  out[pos++] = CLOSE;
  out[pos++] = SPACE;
  pos = putNumber(out, pos, h.countOf(cell));
  out[pos++] = NEWLINE;
  out.set(f.sumHead, pos);
  pos += f.sumHead.length;
  out.copyWithin(pos, label, label + labelLength);
  pos += labelLength;
  out[pos++] = CLOSE;
  out[pos++] = SPACE;
  pos = putNumber(out, pos, h.sumOf(cell));
  out[pos++] = NEWLINE;
  // Every bucket line starts with the same bytes, `<name>_bucket{<labels>`: written once, then
  // copied within the buffer.
  const prefix = pos;
  out.set(f.bucketHead, pos);
  pos += f.bucketHead.length;
  out.copyWithin(pos, label, label + labelLength);
  pos += labelLength;
  const prefixLength = pos - prefix;
  const buckets = h.buckets;
  const leTails = f.leTails;
  let cumulative = 0;
  for (let b = 0; b < buckets; b++) {
    cumulative += h.bucketCountOf(cell, b);
    if (b > 0) {
      out.copyWithin(pos, prefix, prefix + prefixLength);
      pos += prefixLength;
    }
    const tail = leTails[b] as Uint8Array;
    for (let i = 0; i < tail.length; i++) out[pos++] = tail[i] as number;
    pos = putNumber(out, pos, cumulative);
    out[pos++] = NEWLINE;
  }
  return pos;
}

/** The serializer's number: `+Inf`, `-Inf`, else JavaScript's shortest form (`${value}`). */
function putNumber(out: Uint8Array, pos: number, value: number): number {
  if (value >= 0 && value < 2147483648 && (value | 0) === value) {
    // An integer (0 for -0, as `${-0}`): its digits, without building a string.
    let n = value | 0;
    let digits = 1;
    for (let d = 10; d <= n; d *= 10) digits++;
    const end = pos + digits;
    for (let i = end - 1; i >= pos; i--) {
      out[i] = ZERO + (n % 10);
      n = (n / 10) | 0;
    }
    return end;
  }
  const text = value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : `${value}`;
  for (let i = 0; i < text.length; i++) out[pos++] = text.charCodeAt(i); // ASCII
  return pos;
}

function familyOf(series: MetricSeries): Family {
  const { def } = series;
  const name = metricName(series);
  const type = def.instrument === 'counter' ? 'counter' : def.instrument === 'histogram' ? 'histogram' : 'gauge';
  const header = `# HELP ${name} ${escapeText(def.description || 'description missing')}\n${def.unit ? `# UNIT ${name} ${escapeText(def.unit)}\n` : ''}# TYPE ${name} ${type}\n`;
  const histogram = def.instrument === 'histogram';
  const boundaries = histogram ? Array.from((series.cells as HistogramCells).boundaries) : [];
  const leTails = [...boundaries.map((b) => `,le="${b === Infinity ? '+Inf' : String(b)}"} `), ',le="+Inf"} '].map(utf8);
  return {
    series,
    name,
    histogram,
    header: utf8(header),
    countHead: utf8(`${name}_count`),
    sumHead: utf8(`${name}_sum`),
    bucketHead: utf8(`${name}_bucket`),
    leTails,
    lineRoom: `${name}_bucket`.length + Math.max(2, ...leTails.map((t) => t.length)) + NUMBER_ROOM + 1, // `} ` ends a count or sum head
    labelAt: new Int32Array(0),
  };
}

/** The serializer's name: the sanitised instrument name, `_total` added to monotonic sums. */
function metricName(series: MetricSeries): string {
  let name = sanitizeName(escapeText(instrumentName(series.def)));
  if (name[0] !== undefined && name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  if (series.def.instrument === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

function grownInt32(from: Int32Array, size: number): Int32Array {
  const next = new Int32Array(size);
  next.set(from);
  return next;
}

function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

// The exporter's own escaping and sanitising (PrometheusSerializer.ts, the same in 0.2xx and 0.30x).
function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: unknown = ''): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return NEEDS_ESCAPE.test(text) ? escapeText(text).replace(/"/g, '\\"') : text; // the test: most values need nothing
}
const NEEDS_ESCAPE = /[\\\n"]/;

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

/**
 * One scrape object alive for good (of a writer of nothing, so that no monitor is kept): once
 * none is, a full GC can drop their map (a transition holds it weakly), which deoptimizes the
 * writer's code compiled for it. Measured in the benchmark, whose rounds start with a full GC:
 * 50 ms scrapes at 1,000 peers instead of 16. Exported only so that nothing calls it unused.
 * @internal
 */
export const KEEP_SCRAPE_MAP = new PrometheusTextScrape(
  new PrometheusTextWriter({ store: { list: [] } as unknown as CollectionSource['store'], clock: () => 0, startTimeMs: 0, prepareCollection: () => undefined }),
);
