import type { PeerLabels } from '../labels/peer-labels.js';
import type { ValueIndex } from '../labels/value-index.js';
import { bucketIndex, type HistogramCells, type ScalarCells } from './cells.js';

/**
 * Bytes of staged rows one stage may hold between two collections: as many peers as their rows fit
 * in it (a row is message types × (6 + size and latency buckets) numbers); messages to further peers
 * are recorded directly. 512 KiB stages 113 peers with the default 17 message types (16 learned,
 * and other) and 963 with one configured type. A fixed 32 peers sent two thirds of the messages of
 * an application talking to 100 peers down the direct path, several times the cost of a staged one
 * (`pnpm bench --only wrapped-send`).
 */
export const STAGE_BUDGET_BYTES = 512 * 1024;
/** Message types compared by identity before the Map lookup: transports mostly pass constants. */
const SCANNED_TYPES = 8;
/**
 * Per staged (peer, type), two histogram parts, sizes then latencies, each: sum, smallest and
 * largest value (+Infinity and -Infinity while empty), then its buckets. A part's count is the
 * total of its buckets, added up at flush; the message count is the size part's count.
 */
const SUM = 0;
const MIN = 1;
const MAX = 2;
const BUCKETS = 3;

/** Peers a stage holds: how many rows of `typeCount` message types fit in STAGE_BUDGET_BYTES (at least one). */
export function stagedPeerCapacity(typeCount: number, sizeBuckets: number, latencyBuckets: number): number {
  const rowBytes = typeCount * (2 * BUCKETS + sizeBuckets + latencyBuckets) * Float64Array.BYTES_PER_ELEMENT;
  return Math.max(1, Math.floor(STAGE_BUDGET_BYTES / rowBytes));
}
/** No peer yet: an object no application can pass, so the first message always looks its peer up. */
const NO_PEER = Object.freeze({});

/** The series of one direction a stage flushes into. */
export interface MessageSeries {
  readonly messages: ScalarCells;
  readonly bytes: ScalarCells;
  readonly sizes: HistogramCells;
  readonly latencies: HistogramCells;
}

/**
 * One transport side's messages (sent, or received), aggregated between two collections in one
 * small array and added to the monitor's series when it collects: recording a message then touches
 * one or two cache lines instead of the arrays its series live in (messages, bytes, the size
 * histogram's records, and their touched flags; ten arrays until session 12), which a busy socket
 * evicts between messages (measured then: a send timed and recorded directly cost about 2 µs on the
 * TCP benchmark, mostly cache misses). One row per peer, up to STAGE_BUDGET_BYTES. Only what needs no judgement is staged: a peer that already has
 * its label row, a message type that already has its index, a size and a latency that are valid
 * amounts. Anything else (a new or invalid peer, an unknown type, a bad amount, a peer beyond
 * what STAGE_BUDGET_BYTES holds) makes `add` return false, and the caller records that message with recordMessage, which labels, folds
 * and counts rejections exactly as for any other record.
 */
export class MessageStage {
  private cells = new Float64Array(0);
  private readonly width: number;
  /** Offset of the latency part in a staged (peer, type). */
  private readonly latencyPart: number;
  private readonly rowWidth: number;
  private readonly typeCount: number;
  private readonly typeValues: readonly string[];
  private readonly scannedTypes: number;
  private readonly sizeBounds: Float64Array;
  private readonly sizeStarts: Uint8Array;
  private readonly latencyBounds: Float64Array;
  private readonly latencyStarts: Uint8Array;
  /** Peer id → offset of its staged row in `cells`; at most maxPeers. */
  private readonly offsets = new Map<string, number>();
  /** Staged row i → the peer's row in the monitor's series. */
  private readonly rows: number[] = [];
  private lastPeer: unknown = NO_PEER;
  private lastOffset = 0;
  /** stagedPeerCapacity of its row. */
  private readonly maxPeers: number;
  /** Peers it may stage: maxPeers, 0 once closed. */
  private capacity: number;

  /** @internal Made by the monitor (createMessageStage), which owns the series. */
  constructor(
    private readonly peers: PeerLabels,
    private readonly types: ValueIndex,
    private readonly series: MessageSeries,
  ) {
    this.typeCount = types.size;
    this.typeValues = types.values;
    this.scannedTypes = Math.min(types.size, SCANNED_TYPES);
    this.sizeBounds = series.sizes.boundaries;
    this.sizeStarts = series.sizes.startByExponent;
    this.latencyBounds = series.latencies.boundaries;
    this.latencyStarts = series.latencies.startByExponent;
    this.latencyPart = BUCKETS + series.sizes.buckets;
    this.width = this.latencyPart + BUCKETS + series.latencies.buckets;
    this.rowWidth = this.typeCount * this.width;
    this.maxPeers = stagedPeerCapacity(this.typeCount, series.sizes.buckets, series.latencies.buckets);
    this.capacity = this.maxPeers;
  }

  /**
   * Stages one message, with its latency unless `latencyMs` is NaN; false when the caller must
   * record it directly (see the class comment). Runs once per message, and is kept under V8's
   * inlining limit (460 bytes of bytecode) so that it compiles into the transport's wrapper: the
   * rare paths (a new peer, a type past the scanned ones, a timed send) are methods of their own.
   */
  add(peerId: unknown, type: unknown, size: number, latencyMs: number): boolean {
    let offset = this.lastOffset;
    if (peerId !== this.lastPeer && (offset = this.switchPeer(peerId)) < 0) return false;
    // '' would match a not-yet-learned slot by identity; it is never a label (folded to other).
    if (typeof type !== 'string' || type.length === 0) return false;
    let t = -1;
    const values = this.typeValues;
    for (let i = 0; i < this.scannedTypes; i++) {
      if (values[i] === type) {
        t = i;
        break;
      }
    }
    if ((t < 0 && (t = this.types.existingIndex(type)) < 0) || !isAmount(size)) return false;
    if (latencyMs === latencyMs) return this.addTimed(offset + t * this.width, size, latencyMs);
    addValue(this.cells, offset + t * this.width, size, this.sizeBounds, this.sizeStarts);
    return true;
  }

  /** A timed message: its size, and its latency in the latency part. */
  private addTimed(c: number, size: number, latencyMs: number): boolean {
    if (!isAmount(latencyMs)) return false;
    addValue(this.cells, c, size, this.sizeBounds, this.sizeStarts);
    addValue(this.cells, c + this.latencyPart, latencyMs, this.latencyBounds, this.latencyStarts);
    return true;
  }

  /** The staged row of `peerId` becomes the last one; -1 when the peer cannot be staged. */
  private switchPeer(peerId: unknown): number {
    const offset = this.offsetOf(peerId);
    if (offset < 0) return -1;
    this.lastPeer = peerId;
    this.lastOffset = offset;
    return offset;
  }

  /** Adds what is staged to the monitor's series and empties the stage. */
  flush(): void {
    const { messages, bytes, sizes, latencies } = this.series;
    const a = this.cells;
    for (let r = 0; r < this.rows.length; r++) {
      const row = this.rows[r] as number;
      let staged = false;
      let rowBytes = 0;
      for (let t = 0; t < this.typeCount; t++) {
        const c = r * this.rowWidth + t * this.width;
        const n = total(a, c + BUCKETS, sizes.buckets);
        if (n === 0) continue;
        const cell = row * this.typeCount + t;
        staged = true;
        rowBytes += a[c + SUM] as number;
        messages.add(cell, n);
        mergeInto(sizes, cell, n, a, c);
        const l = c + this.latencyPart;
        const timed = total(a, l + BUCKETS, latencies.buckets);
        if (timed > 0) mergeInto(latencies, cell, timed, a, l);
      }
      if (staged) bytes.add(row, rowBytes);
    }
    this.clear(0, this.rows.length);
    this.rows.length = 0;
    this.offsets.clear();
    this.lastPeer = NO_PEER;
  }

  /**
   * Flushes, and stages nothing more: for when its owner stops flushing it (a restored transport
   * whose wrapper the application still holds records directly from then on).
   */
  close(): void {
    this.flush();
    this.capacity = 0;
  }

  private offsetOf(peerId: unknown): number {
    if (typeof peerId !== 'string') return -1;
    const known = this.offsets.get(peerId);
    if (known !== undefined) return known;
    // Standard instruments (a sink on the histogram) need every value: nothing is staged for them.
    if (this.rows.length >= this.capacity || this.series.sizes.sink !== undefined) return -1;
    const row = this.peers.existingSlot(peerId);
    if (row < 0) return -1;
    const offset = this.rows.length * this.rowWidth;
    if (offset + this.rowWidth > this.cells.length) this.grow();
    this.rows.push(row);
    this.offsets.set(peerId, offset);
    return offset;
  }

  /** Empties staged rows [from, to): zero sums and buckets, empty min and max. */
  private clear(from: number, to: number): void {
    const a = this.cells;
    a.fill(0, from * this.rowWidth, to * this.rowWidth);
    for (let c = from * this.rowWidth; c < to * this.rowWidth; c += this.width) {
      a[c + MIN] = Infinity;
      a[c + MAX] = -Infinity;
      a[c + this.latencyPart + MIN] = Infinity;
      a[c + this.latencyPart + MAX] = -Infinity;
    }
  }

  private grow(): void {
    const had = this.cells.length / this.rowWidth;
    const peers = Math.min(this.maxPeers, Math.max(1, had * 2));
    const cells = new Float64Array(peers * this.rowWidth);
    cells.set(this.cells);
    this.cells = cells;
    this.clear(had, peers);
  }
}

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER;
}

/** Adds `value` to the histogram part at `p`: its sum, smallest and largest value, and bucket. */
function addValue(a: Float64Array, p: number, value: number, bounds: Float64Array, starts: Uint8Array): void {
  a[p + SUM] = (a[p + SUM] as number) + value;
  if (value < (a[p + MIN] as number)) a[p + MIN] = value;
  if (value > (a[p + MAX] as number)) a[p + MAX] = value;
  const b = p + BUCKETS + bucketIndex(bounds, starts, value);
  a[b] = (a[b] as number) + 1;
}

function total(a: Float64Array, from: number, n: number): number {
  let sum = 0;
  for (let i = from; i < from + n; i++) sum += a[i] as number;
  return sum;
}

function mergeInto(histogram: HistogramCells, cell: number, count: number, a: Float64Array, p: number): void {
  histogram.merge(cell, count, a[p + SUM] as number, a[p + MIN] as number, a[p + MAX] as number, a, p + BUCKETS);
}
