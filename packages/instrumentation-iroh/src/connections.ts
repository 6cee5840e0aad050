import { DIRECTIONS, type Direction, type P2pMonitor } from '@p2p-otel/instrumentation';
import type { HookErrorSink } from './hook-error.js';
import { abnormalCloseType, alpnLabel } from './iroh-errors.js';
import type { IrohConnectionLike, PathKind, PathSnapshotLike } from './iroh-types.js';

/** A change of the path a connection sends on, as seen at one collection. */
export interface IrohPathChange {
  /** The peer's node id (the full id: apply your own policy before logging or exporting it). */
  readonly peerId: string;
  /** `none` before the first path of a connection was seen, or when no path is selected. */
  readonly from: PathKind | 'none';
  readonly to: PathKind | 'none';
}

/** What the connection tracker needs from the instrumentation. */
export interface TrackerHost {
  monitor(): P2pMonitor;
  now(): number;
  readonly onHookError: HookErrorSink;
  readonly debug: (message: string, ...args: unknown[]) => void;
  readonly bytes: boolean;
  /** Record transitions, durations and abnormal-close errors at close (the `connections` option). */
  readonly connections: boolean;
  /** Record the selected path's RTT at collection (the `rtt` option). */
  readonly rtt: boolean;
  readonly onPathChange: ((change: IrohPathChange) => void) | undefined;
  /** Runs after each close poll and collection, and when the last connection closed: the stream tracker's sweep. */
  sweep(): void;
}

/** One connection followed from connected to closed. */
export interface TrackedConnection {
  readonly ref: WeakRef<IrohConnectionLike>;
  readonly peer: string;
  readonly alpn: string;
  readonly direction: Direction;
  readonly connectedAt: number;
  closed: boolean;
  /** Counters at the previous sample (all zero before the first: every wire byte is counted). */
  txDatagrams: number;
  txBytes: number;
  rxBytes: number;
  lostPackets: number;
  /** The selected path's kind and id at the previous sample (`none` before the first). */
  path: PathKind | 'none';
  pathId: string | undefined;
  sampled: boolean;
  /** Open streams by direction index (DIRECTIONS: inbound 0, outbound 1). */
  readonly streams: [number, number];
}

/**
 * Follows Iroh connections without keeping them alive. A connection is held by a WeakRef only:
 * a pending `closed()` call of ours would keep the native connection open after the application
 * dropped it (measured: the peer then sees the close only when the endpoint closes). A close is
 * learnt, whichever comes first, from the application's own close() or closed() call, a stream
 * call failing, its endpoint's close(), a poll of `closeReason()` (cheap: about 0.2 µs), or the
 * connection being garbage-collected.
 *
 * Memory: the live set holds one small entry per open connection and loses it on close; the
 * connection → entry map is weak.
 */
export class ConnectionTracker {
  private byConnection = new WeakMap<object, TrackedConnection>();
  private readonly live = new Set<TrackedConnection>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: TrackerHost,
    private readonly pollIntervalMs: number,
  ) {}

  /** Connections followed right now. */
  get size(): number {
    return this.live.size;
  }

  entryOf(connection: unknown): TrackedConnection | undefined {
    if (typeof connection !== 'object' || connection === null) return undefined;
    return this.byConnection.get(connection);
  }

  /**
   * A connection came up (dialled or accepted): the caller has recorded its transitions and
   * handshake; this records its ALPN and starts following it. Returns undefined for a value that
   * is not a connection.
   */
  opened(connection: unknown, direction: Direction, peer: string): TrackedConnection | undefined {
    if (typeof connection !== 'object' || connection === null) return undefined;
    const existing = this.byConnection.get(connection);
    if (existing !== undefined) return existing;
    const conn = connection as IrohConnectionLike;
    let alpn = '';
    try {
      alpn = alpnLabel(conn.alpn());
    } catch (e) {
      this.host.onHookError(e);
    }
    const entry: TrackedConnection = {
      ref: new WeakRef(conn),
      peer,
      alpn,
      direction,
      connectedAt: this.host.now(),
      closed: false,
      txDatagrams: 0,
      txBytes: 0,
      rxBytes: 0,
      lostPackets: 0,
      path: 'none',
      pathId: undefined,
      sampled: false,
      streams: [0, 0],
    };
    this.byConnection.set(connection, entry);
    this.live.add(entry);
    if (alpn !== '') this.host.monitor().recordProtocolVersion(peer, alpn, true);
    this.startTimer();
    return entry;
  }

  /** Checks one connection for a close now (a stream call on it failed, it was closed). */
  check(connection: unknown): void {
    const entry = this.entryOf(connection);
    if (entry !== undefined && !entry.closed) this.checkEntry(entry);
  }

  /** The connection is known to be closed with `reason` (closed() resolved, close() returned). */
  closed(connection: unknown, reason: string | undefined): void {
    const entry = this.entryOf(connection);
    if (entry !== undefined && !entry.closed) this.finish(entry, reason);
  }

  /** Checks every followed connection for a close. */
  poll(): void {
    for (const entry of this.live) this.checkEntry(entry);
    this.host.sweep();
  }

  /**
   * At collection: closes are found first, then every open connection is sampled (RTT, path,
   * loss, retransmissions, bytes). About 8 µs per connection (stats() and paths() are napi calls).
   */
  collect(): void {
    // Loss is a per-peer ratio: totals over all of a peer's connections, so an idle second
    // connection does not overwrite the loss of a busy one with 0.
    const loss = new Map<string, { sent: number; lost: number }>();
    for (const entry of this.live) {
      const conn = this.checkEntry(entry);
      if (conn === undefined) continue;
      try {
        const { sent, lost } = this.sample(entry, conn, true);
        const total = loss.get(entry.peer);
        if (total === undefined) loss.set(entry.peer, { sent, lost });
        else {
          total.sent += sent;
          total.lost += lost;
        }
      } catch (e) {
        this.host.onHookError(e); // one connection's failure does not cost the others their sample
      }
    }
    const monitor = this.host.monitor();
    for (const [peer, { sent, lost }] of loss) {
      // Losses detected with nothing sent in between belong to packets counted before: the ratio
      // is left as it was rather than reported as 1.
      if (sent > 0) monitor.recordQuicPacketLoss(peer, Math.min(1, lost / sent));
      else if (lost === 0) monitor.recordQuicPacketLoss(peer, 0);
    }
    this.host.sweep();
  }

  /** Forgets every connection (the instrumentation was disabled): nothing more is recorded. */
  clear(): void {
    this.stopTimer();
    for (const entry of this.live) entry.closed = true;
    this.live.clear();
    this.byConnection = new WeakMap();
  }

  /** Returns the connection when it is still open. */
  private checkEntry(entry: TrackedConnection): IrohConnectionLike | undefined {
    try {
      const conn = entry.ref.deref();
      if (conn === undefined) {
        this.finish(entry, undefined); // dropped by the application and collected: closed by its drop
        return undefined;
      }
      const reason = conn.closeReason();
      if (reason === null || reason === undefined) return conn;
      this.finish(entry, String(reason));
    } catch (e) {
      this.host.onHookError(e);
    }
    return undefined;
  }

  private finish(entry: TrackedConnection, reason: string | undefined): void {
    if (entry.closed) return;
    entry.closed = true;
    this.live.delete(entry);
    if (this.live.size === 0) {
      this.stopTimer();
      this.host.sweep(); // nothing else would let go of the last connections' stream records
    }
    const { peer } = entry;
    const monitor = this.host.monitor();
    try {
      const conn = entry.ref.deref();
      if (conn !== undefined) this.sample(entry, conn, false); // the last bytes and losses
    } catch (e) {
      this.host.onHookError(e);
    }
    for (let d = 0; d < 2; d++) {
      for (let i = 0; i < entry.streams[d]!; i++) monitor.recordQuicStreamClosed(peer, DIRECTIONS[d]!);
      entry.streams[d] = 0;
    }
    if (this.host.connections) {
      monitor.recordConnectionStateChange(peer, 'connected', 'disconnecting');
      monitor.recordConnectionStateChange(peer, 'disconnecting', 'disconnected');
      monitor.recordConnectionDuration(peer, Math.max(0, this.host.now() - entry.connectedAt) / 1000);
    }
    if (entry.alpn !== '') monitor.recordProtocolVersion(peer, entry.alpn, false);
    // The path kind (direct 1, relay 2) was this peer's distance while a connection was open.
    if (!this.hasLive(peer)) monitor.clearPeerDistance(peer);
    const abnormal = abnormalCloseType(reason);
    if (abnormal !== undefined && this.host.connections) monitor.recordError(peer, abnormal);
    this.host.debug('iroh connection closed', { direction: entry.direction, reason: reason ?? 'dropped' });
  }

  private hasLive(peer: string): boolean {
    for (const e of this.live) if (e.peer === peer) return true;
    return false;
  }

  /** Deltas since the previous sample; RTT and path only while open (`live`). Returns sent and lost datagrams. */
  private sample(entry: TrackedConnection, conn: IrohConnectionLike, live: boolean): { sent: number; lost: number } {
    const monitor = this.host.monitor();
    const { peer } = entry;
    const stats = conn.stats();
    const sent = Math.max(0, stats.udpTxDatagrams - entry.txDatagrams);
    const lost = Math.max(0, stats.lostPackets - entry.lostPackets);
    const txBytes = Math.max(0, stats.udpTxBytes - entry.txBytes);
    const rxBytes = Math.max(0, stats.udpRxBytes - entry.rxBytes);
    entry.txDatagrams = Math.max(entry.txDatagrams, stats.udpTxDatagrams);
    entry.lostPackets = Math.max(entry.lostPackets, stats.lostPackets);
    entry.txBytes = Math.max(entry.txBytes, stats.udpTxBytes);
    entry.rxBytes = Math.max(entry.rxBytes, stats.udpRxBytes);
    if (lost > 0) monitor.recordQuicRetransmissions(peer, lost);
    if (this.host.bytes) {
      if (txBytes > 0) monitor.recordBytesTransferred(peer, 'outbound', txBytes);
      if (rxBytes > 0) monitor.recordBytesTransferred(peer, 'inbound', rxBytes);
    }
    if (!live) return { sent, lost };
    const selected = selectedPath(conn.paths());
    if (selected !== undefined && this.host.rtt) {
      monitor.recordRtt(peer, selected.rttMs);
      monitor.recordPingLatency(peer, selected.rttMs);
    }
    const kind: PathKind | 'none' = selected === undefined ? 'none' : selected.isRelay ? 'relay' : selected.isIp ? 'direct' : 'other';
    if (kind === 'direct') monitor.recordPeerDistance(peer, 1);
    else if (kind === 'relay') monitor.recordPeerDistance(peer, 2);
    const from = entry.path;
    const first = !entry.sampled;
    entry.sampled = true;
    entry.path = kind;
    entry.pathId = selected?.id;
    if (!first && from !== kind) this.pathChanged(peer, from, kind);
    return { sent, lost };
  }

  private pathChanged(peerId: string, from: PathKind | 'none', to: PathKind | 'none'): void {
    this.host.debug('iroh connection path changed', { from, to });
    const callback = this.host.onPathChange;
    if (callback === undefined) return;
    try {
      callback({ peerId, from, to });
    } catch (e) {
      this.host.onHookError(e);
    }
  }

  private startTimer(): void {
    if (this.timer !== undefined || this.pollIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      try {
        this.poll();
      } catch (e) {
        this.host.onHookError(e);
      }
    }, this.pollIntervalMs);
    this.timer.unref(); // never keeps the process alive
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function selectedPath(paths: readonly PathSnapshotLike[] | null | undefined): PathSnapshotLike | undefined {
  if (!Array.isArray(paths)) return undefined;
  for (const p of paths) if (p !== null && typeof p === 'object' && p.isSelected === true) return p;
  return undefined;
}
