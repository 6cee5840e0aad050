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
 *   application took from it) was garbage-collected (Iroh then finishes or stops it on drop):
 *   counted at the first sweep after, at each close poll and collection (sweep());
 * - all of them when the connection closes.
 *
 * write()/writeAll() are not observed (the data path): a send half whose writes fail because the
 * peer stopped it stays open until one of the above. Memory: stream records are reachable from
 * the stream objects and, while open, from the tracker's list of open streams (a record holds its
 * root object weakly); a connection holds two counters.
 *
 * Cost (the per-stream path, measured by `pnpm bench --only iroh-echo`): a stream's record hangs
 * off its JS objects in a private field of this tracker's stamp (private-stamp.ts; a WeakMap entry
 * per object costed ephemeron work in every GC, a hidden symbol property a runtime call per
 * object): the record itself on the root object (the BiStream, or the uni stream itself), a small
 * tag naming the record and the root on each half. Each half taken from a BiStream holds the
 * BiStream through its tag, so the root is collected only after every half. A half thus keeps its
 * BiStream (and the other half's native handle) alive while the application holds it; Iroh's
 * drop-time finish or stop of the other half then waits for both, where it waited for the
 * BiStream alone.
 *
 * Collection is noticed through a WeakRef to the root, checked by the sweep, not a
 * FinalizationRegistry: a registration costs several times a WeakRef on an Iroh stream object, and
 * V8 keeps registrations (WeakCells) in its old generation until a full GC, with what they hold.
 */

type Side = 'send' | 'recv';

// Read once: under a CJS re-export every named-import access is a getter call (per stream here).
const STREAM_DIRECTIONS: readonly Direction[] = DIRECTIONS;

interface StreamRecord {
  /** Itself: what the tracker's stamp holds, on a root object or in a half's tag, has a `stream`. */
  readonly stream: StreamRecord;
  readonly entry: TrackedConnection;
  readonly direction: number;
  /** The BiStream, or the uni stream: collected only after every object standing for the stream. */
  readonly root: WeakRef<object>;
  sendOpen: boolean;
  recvOpen: boolean;
  closed: boolean;
  /** Its index in the tracker's open list while open. */
  slot: number;
}

/** On a half taken from a BiStream: its stream, and the BiStream (kept alive while the half lives). */
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
  /** Records of the open streams, for the sweep (a closed one is swapped out at once). */
  private open: StreamRecord[] = [];

  constructor(
    private readonly monitor: () => P2pMonitor,
    private readonly onHookError: HookErrorSink,
  ) {}

  /** Streams followed and open right now. */
  get size(): number {
    return this.open.length;
  }

  /** openBi/acceptBi (`bi`) or openUni/acceptUni resolved with `stream` on a followed connection. */
  opened(entry: TrackedConnection | undefined, kind: 'bi' | 'uni', direction: Direction, stream: unknown): void {
    if (entry === undefined || entry.closed || typeof stream !== 'object' || stream === null) return;
    if (this.recordOf(stream) !== undefined) return;
    const record: StreamRecord = {
      stream: undefined as unknown as StreamRecord,
      entry,
      direction: STREAM_DIRECTIONS.indexOf(direction),
      root: new WeakRef(stream),
      // a uni stream has only the half this side holds
      sendOpen: kind === 'bi' || direction === 'outbound',
      recvOpen: kind === 'bi' || direction === 'inbound',
      closed: false,
      slot: this.open.length,
    };
    (record as { stream: StreamRecord }).stream = record;
    if (!this.stamp.set(stream, record)) return; // a frozen object: not followed
    this.open.push(record);
    entry.streams[record.direction]!++;
    this.monitor().recordQuicStreamOpened(entry.peer, direction);
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

  /**
   * Closes the open streams whose objects were all garbage-collected, and lets go of those of
   * closed connections (their close counted them). Runs at each close poll and collection.
   */
  sweep(): void {
    try {
      const open = this.open;
      // Backwards: a stream taken out is replaced by the last one, already looked at.
      for (let i = open.length - 1; i >= 0; i--) {
        const stream = open[i]!;
        // close() lets go of a closed connection's stream without counting it again.
        if (stream.entry.closed || stream.root.deref() === undefined) this.close(stream);
      }
    } catch (e) {
      this.onHookError(e); // never into the connection tracker's poll or close
    }
  }

  /** Forgets every stream (the instrumentation was disabled). */
  clear(): void {
    this.stamp = createStamp(); // no record is reachable from a stream object any more
    this.open = [];
  }

  private recordOf(object: object): StreamRecord | undefined {
    return this.stamp.get(object)?.stream;
  }

  private close(stream: StreamRecord): void {
    if (stream.closed) return;
    stream.closed = true;
    this.unlist(stream);
    const { entry } = stream;
    if (entry.closed) return; // the connection's close counted it
    const open = entry.streams[stream.direction]!;
    if (open <= 0) return;
    entry.streams[stream.direction] = open - 1;
    this.monitor().recordQuicStreamClosed(entry.peer, STREAM_DIRECTIONS[stream.direction]!);
  }

  /** Takes `stream` out of the open list: the last one takes its slot. */
  private unlist(stream: StreamRecord): void {
    const last = this.open.pop()!;
    if (last !== stream) {
      this.open[stream.slot] = last;
      last.slot = stream.slot;
    }
  }
}
