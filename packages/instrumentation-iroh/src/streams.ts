import { DIRECTIONS, type Direction, type P2pMonitor } from '@p2p-otel/instrumentation';
import type { TrackedConnection } from './connections.js';
import type { HookErrorSink } from './hook-error.js';

/**
 * Open QUIC streams per peer and direction (p2p_quic_streams): outbound from openBi/openUni,
 * inbound from acceptBi/acceptUni. A stream is open until every half this side holds is done:
 *
 * - a send half is done when finish(), reset() or stopped() settles (the stream was ended,
 *   abandoned, or the peer stopped or acknowledged it);
 * - a receive half is done when readToEnd() settles, read() returns no bytes for a non-zero
 *   limit (the end of the stream), readExact() or read() rejects (finished early, reset, lost),
 *   or stop() settles;
 * - all of them when every JS object standing for the stream (the BiStream and each half the
 *   application took from it) was garbage-collected: Iroh then finishes or stops it on drop;
 * - all of them when the connection closes.
 *
 * write()/writeAll() are not observed (the data path): a send half whose writes fail because the
 * peer stopped it stays open until one of the above. Memory: stream records are only reachable
 * from the stream objects (weakly) and a FinalizationRegistry; a connection holds two counters.
 */

type Side = 'send' | 'recv';

// Read once: under a CJS re-export every named-import access is a getter call (per stream here).
const STREAM_DIRECTIONS: readonly Direction[] = DIRECTIONS;

interface StreamRecord {
  readonly entry: TrackedConnection;
  readonly direction: number;
  sendOpen: boolean;
  recvOpen: boolean;
  /** JS objects standing for this stream that are still alive. */
  refs: number;
  closed: boolean;
}

interface Handle {
  readonly stream: StreamRecord;
  /** undefined for a BiStream (both halves). */
  readonly side: Side | undefined;
}

export class StreamTracker {
  private handles = new WeakMap<object, Handle>();
  private readonly registry: FinalizationRegistry<StreamRecord>;

  constructor(
    private readonly monitor: () => P2pMonitor,
    private readonly onHookError: HookErrorSink,
  ) {
    this.registry = new FinalizationRegistry((stream) => {
      try {
        stream.refs--;
        if (stream.refs <= 0) this.close(stream);
      } catch (e) {
        this.onHookError(e);
      }
    });
  }

  /** openBi/acceptBi (`bi`) or openUni/acceptUni resolved with `stream` on a followed connection. */
  opened(entry: TrackedConnection | undefined, kind: 'bi' | 'uni', direction: Direction, stream: unknown): void {
    if (entry === undefined || entry.closed || typeof stream !== 'object' || stream === null) return;
    if (this.handles.has(stream)) return;
    const d = STREAM_DIRECTIONS.indexOf(direction);
    const record: StreamRecord = {
      entry,
      direction: d,
      // a uni stream has only the half this side holds
      sendOpen: kind === 'bi' || direction === 'outbound',
      recvOpen: kind === 'bi' || direction === 'inbound',
      refs: 0,
      closed: false,
    };
    entry.streams[d]!++;
    this.monitor().recordQuicStreamOpened(entry.peer, direction);
    this.attach(stream, record, kind === 'bi' ? undefined : direction === 'outbound' ? 'send' : 'recv');
  }

  /** A BiStream's `send` or `recv` getter returned `half`. */
  halfTaken(bi: unknown, side: Side, half: unknown): void {
    if (typeof bi !== 'object' || bi === null || typeof half !== 'object' || half === null) return;
    const handle = this.handles.get(bi);
    // A closed stream's halves have nothing left to record: not followed (saves a registration).
    if (handle === undefined || handle.side !== undefined || handle.stream.closed || this.handles.has(half)) return;
    this.attach(half, handle.stream, side);
  }

  /** The half `self` (a SendStream or RecvStream) is done. */
  halfDone(self: unknown, side: Side): void {
    if (typeof self !== 'object' || self === null) return;
    const handle = this.handles.get(self);
    if (handle === undefined || handle.side !== side) return;
    const stream = handle.stream;
    if (side === 'send') stream.sendOpen = false;
    else stream.recvOpen = false;
    if (!stream.sendOpen && !stream.recvOpen) this.close(stream);
  }

  /** Forgets every stream (the instrumentation was disabled). */
  clear(): void {
    this.handles = new WeakMap();
  }

  private attach(object: object, stream: StreamRecord, side: Side | undefined): void {
    this.handles.set(object, { stream, side });
    stream.refs++;
    this.registry.register(object, stream, stream); // unregistered at close: no finalizer runs then
  }

  private close(stream: StreamRecord): void {
    if (stream.closed) return;
    stream.closed = true;
    this.registry.unregister(stream);
    const { entry } = stream;
    if (entry.closed) return; // the connection's close counted it
    const open = entry.streams[stream.direction]!;
    if (open <= 0) return;
    entry.streams[stream.direction] = open - 1;
    this.monitor().recordQuicStreamClosed(entry.peer, STREAM_DIRECTIONS[stream.direction]!);
  }
}
