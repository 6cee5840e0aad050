import { DIRECTIONS, type Direction, type P2pMonitor } from '@p2p-otel/instrumentation';
import type { TrackedConnection } from './connections.js';
import type { HookErrorSink } from './hook-error.js';
import { createStamp, type Stamp } from './private-stamp.js';

/**
 * Open QUIC streams per peer and direction (p2p_quic_streams): outbound from openBi/openUni,
 * inbound from acceptBi/acceptUni. A stream is open until every half this side holds is done:
 *
 * - a send half is done when finish() or reset() is called (the stream is ended or abandoned,
 *   whatever their promise settles with) or when stopped() settles (the peer stopped or
 *   acknowledged it);
 * - a receive half is done when readToEnd() settles, read() returns no bytes for a non-zero
 *   limit (the end of the stream), readExact() or read() rejects (finished early, reset, lost),
 *   or stop() is called;
 * - all of them when every JS object standing for the stream (the BiStream and each half the
 *   application took from it) was garbage-collected: Iroh then finishes or stops it on drop;
 * - all of them when the connection closes.
 *
 * write()/writeAll() are not observed (the data path): a send half whose writes fail because the
 * peer stopped it stays open until one of the above. Memory: stream records are only reachable
 * from the stream objects; a connection holds two counters and two StreamDrops.
 *
 * Cost (the per-stream path, measured by `pnpm bench --only iroh-echo`): a stream's record hangs
 * off its JS objects in a private field of this tracker's stamp (private-stamp.ts; a WeakMap entry
 * per object costed ephemeron work in every GC, a hidden symbol property a runtime call per
 * object): the record itself on the root object (the BiStream, or the uni stream itself), a small
 * tag naming the record and the root on each half. One finalizer is registered per stream, on its root:
 * each half taken from a BiStream holds the BiStream through its tag, so the root is collected
 * only after every half. A half thus keeps its BiStream (and
 * the other half's native handle) alive while the application holds it; Iroh's drop-time finish or
 * stop of the other half then waits for both, where it waited for the BiStream alone.
 *
 * The finalizer's held value is one of two StreamDrop objects per connection, never the stream's
 * record, and its unregister token is the root itself (held weakly). V8 allocates a registration
 * (a WeakCell) in the old generation (its scavenger does not handle weak cells), where it stays
 * until a full GC, unregistered or not: a young record it held survived every scavenge, promoted
 * with what it reached (the Iroh echo, --trace-gc-nvp: 2.7 KB promoted per scavenge, 0.1 KB now).
 */

type Side = 'send' | 'recv';

// Read once: under a CJS re-export every named-import access is a getter call (per stream here).
const STREAM_DIRECTIONS: readonly Direction[] = DIRECTIONS;

/**
 * What the finalizer of a stream collected while open gets: its connection and direction. Made once
 * per connection and direction (TrackedConnection.streamDrops), so a registration holds nothing
 * that dies young.
 */
export interface StreamDrop {
  readonly entry: TrackedConnection;
  /** Index in DIRECTIONS. */
  readonly direction: number;
}

interface StreamRecord {
  /** Itself: what the tracker's stamp holds, on a root object or in a half's tag, has a `stream`. */
  readonly stream: StreamRecord;
  readonly entry: TrackedConnection;
  readonly direction: number;
  /** The object registered with the finalizer (the BiStream, or the uni stream): its unregister token. */
  readonly root: object;
  sendOpen: boolean;
  recvOpen: boolean;
  closed: boolean;
}

/** On a half taken from a BiStream: its stream, and the BiStream (keeps the finalized root alive). */
interface HalfTag {
  readonly stream: StreamRecord;
  readonly root: object;
}

export class StreamTracker {
  /**
   * Holds the StreamRecord on a followed root object, a HalfTag on a followed half; a new stamp
   * on clear() forgets them all.
   */
  private stamp: Stamp<StreamRecord | HalfTag> = createStamp();
  private readonly registry: FinalizationRegistry<StreamDrop>;

  constructor(
    private readonly monitor: () => P2pMonitor,
    private readonly onHookError: HookErrorSink,
  ) {
    this.registry = new FinalizationRegistry((drop) => {
      try {
        this.countClosed(drop.entry, drop.direction);
      } catch (e) {
        this.onHookError(e);
      }
    });
  }

  /** openBi/acceptBi (`bi`) or openUni/acceptUni resolved with `stream` on a followed connection. */
  opened(entry: TrackedConnection | undefined, kind: 'bi' | 'uni', direction: Direction, stream: unknown): void {
    if (entry === undefined || entry.closed || typeof stream !== 'object' || stream === null) return;
    if (this.recordOf(stream) !== undefined) return;
    const d = STREAM_DIRECTIONS.indexOf(direction);
    const record = {
      stream: undefined as unknown as StreamRecord,
      entry,
      direction: d,
      root: stream,
      // a uni stream has only the half this side holds
      sendOpen: kind === 'bi' || direction === 'outbound',
      recvOpen: kind === 'bi' || direction === 'inbound',
      closed: false,
    };
    record.stream = record;
    if (!this.stamp.set(stream, record)) return; // a frozen object: not followed
    entry.streams[d]!++;
    this.monitor().recordQuicStreamOpened(entry.peer, direction);
    const drops = (entry.streamDrops ??= [
      { entry, direction: 0 },
      { entry, direction: 1 },
    ]);
    this.registry.register(stream, drops[d]!, stream); // unregistered at close: no finalizer runs then
  }

  /** A BiStream's `send` or `recv` getter returned `half`. */
  halfTaken(bi: unknown, half: unknown): void {
    if (typeof bi !== 'object' || bi === null || typeof half !== 'object' || half === null) return;
    const record = this.recordOf(bi);
    // A closed stream's halves have nothing left to record: not followed.
    if (record === undefined || record.closed || this.recordOf(half) !== undefined) return;
    const tag: HalfTag = { stream: record, root: bi };
    this.stamp.set(half, tag);
  }

  /** The half `self` (a SendStream or RecvStream) is done. */
  halfDone(self: unknown, side: Side): void {
    if (typeof self !== 'object' || self === null) return;
    const stream = this.recordOf(self);
    if (stream === undefined) return;
    if (side === 'send') stream.sendOpen = false;
    else stream.recvOpen = false;
    if (!stream.sendOpen && !stream.recvOpen) this.close(stream);
  }

  /** Forgets every stream (the instrumentation was disabled). */
  clear(): void {
    this.stamp = createStamp();
  }

  private recordOf(object: object): StreamRecord | undefined {
    return this.stamp.get(object)?.stream;
  }

  private close(stream: StreamRecord): void {
    if (stream.closed) return;
    stream.closed = true;
    this.registry.unregister(stream.root);
    this.countClosed(stream.entry, stream.direction);
  }

  /** A stream of `entry` in direction index `d` closed (done, or collected while open). */
  private countClosed(entry: TrackedConnection, d: number): void {
    if (entry.closed) return; // the connection's close counted it
    const open = entry.streams[d]!;
    if (open <= 0) return;
    entry.streams[d] = open - 1;
    this.monitor().recordQuicStreamClosed(entry.peer, STREAM_DIRECTIONS[d]!);
  }
}
