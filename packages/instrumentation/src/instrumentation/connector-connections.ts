import { types } from 'node:util';
import type { InstrumentationContext } from './context.js';

/**
 * Follows each connection connectToPeer returned, from connected to closed, for the close
 * transitions (connected → disconnecting → disconnected) and p2p_connection_duration_seconds.
 *
 * A connection closes when the first of these says so:
 * - its own signal: `onClose` if configured, else a `closed()` method returning a promise
 *   (Iroh's Connection), else an EventEmitter-like `once('close', …)`;
 * - its pool destroying it (idle eviction, destroy());
 * - disconnectFromPeer(peer) settling, for the newest open connection of that peer, when the
 *   connection has no signal of its own. A connection that does waits for its signal: the
 *   disconnect call only moves it to `disconnecting`. Pooled connections are left alone by
 *   disconnectFromPeer, which releases them to the pool rather than closing them.
 *
 * Memory: connections are keys of a WeakMap; only connections disconnectFromPeer may close are
 * also listed per peer, removed when they close, and at most MAX_DISCONNECTABLE of them.
 */

/** `notify` when `connection` closes; return a function that stops listening, if there is one. */
export type CloseSubscriber = (connection: unknown, notify: () => void) => (() => void) | void;

export interface TrackedConnection {
  readonly peer: string;
  readonly connectedAt: number;
  state: 'connected' | 'disconnecting' | 'closed';
  /** The connection reports its own close (so disconnectFromPeer does not have to). */
  signalled: boolean;
}

/** Connections without their own close signal that disconnectFromPeer is the only end of. */
const MAX_DISCONNECTABLE = 10_000;

export class ConnectionTracker {
  private readonly byConnection = new WeakMap<object, TrackedConnection>();
  private readonly byPeer = new Map<string, TrackedConnection[]>();
  private disconnectable = 0;
  /** Listeners to remove at restore(), by connection entry. */
  private readonly listening = new Map<TrackedConnection, () => void>();
  private live = true;

  constructor(
    private readonly ctx: InstrumentationContext,
    private readonly onClose: CloseSubscriber | undefined,
  ) {}

  /** The entry of a connection already returned and still open: connectToPeer reused it. */
  openEntry(connection: unknown): TrackedConnection | undefined {
    if (!isObject(connection)) return undefined;
    const entry = this.byConnection.get(connection);
    return entry !== undefined && entry.state !== 'closed' ? entry : undefined;
  }

  /** connectToPeer returned a new connection (any value: an object is followed more closely). */
  opened(peer: string, connection: unknown, pooled: boolean): void {
    const entry: TrackedConnection = { peer, connectedAt: this.ctx.now(), state: 'connected', signalled: false };
    if (isObject(connection)) this.byConnection.set(connection, entry);
    if (!pooled) this.addDisconnectable(entry);
    if (isObject(connection)) this.subscribe(entry, connection);
  }

  /** disconnectFromPeer(peer) started: its newest connection moves to disconnecting. */
  disconnectStarted(peer: string): TrackedConnection | undefined {
    const list = this.byPeer.get(peer);
    if (list === undefined || !this.live) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i]!;
      if (entry.state !== 'connected') continue;
      entry.state = 'disconnecting';
      this.ctx.monitor.recordConnectionStateChange(peer, 'connected', 'disconnecting');
      return entry;
    }
    return undefined;
  }

  /** disconnectFromPeer settled: closed, unless the connection reports its close itself. */
  disconnectSettled(entry: TrackedConnection, failed: boolean): void {
    if (!this.live || entry.state !== 'disconnecting') return;
    if (failed) {
      // The disconnect did not happen: the connection is still there.
      entry.state = 'connected';
      this.ctx.monitor.recordConnectionStateChange(entry.peer, 'disconnecting', 'connected');
    } else if (!entry.signalled) {
      this.finish(entry);
    }
  }

  /** A pool started destroying `resource`. */
  destroying(resource: unknown): void {
    const entry = this.openEntry(resource);
    if (entry === undefined || !this.live || entry.state !== 'connected') return;
    entry.state = 'disconnecting';
    this.ctx.monitor.recordConnectionStateChange(entry.peer, 'connected', 'disconnecting');
  }

  /** A pool destroyed `resource` (its factory's destroy may still be running). */
  destroyed(resource: unknown): void {
    const entry = this.openEntry(resource);
    if (entry !== undefined && this.live && !entry.signalled) this.finish(entry);
  }

  /** Stops following every connection: listeners removed, nothing recorded any more. */
  restore(): void {
    this.live = false;
    for (const dispose of this.listening.values()) this.safely(dispose);
    this.listening.clear();
    this.byPeer.clear();
    this.disconnectable = 0;
  }

  private finish(entry: TrackedConnection): void {
    if (entry.state === 'closed') return;
    const { monitor } = this.ctx;
    if (entry.state === 'connected') monitor.recordConnectionStateChange(entry.peer, 'connected', 'disconnecting');
    monitor.recordConnectionStateChange(entry.peer, 'disconnecting', 'disconnected');
    monitor.recordConnectionDuration(entry.peer, (this.ctx.now() - entry.connectedAt) / 1000);
    entry.state = 'closed';
    this.removeDisconnectable(entry);
    const dispose = this.listening.get(entry);
    if (dispose !== undefined) {
      this.listening.delete(entry);
      this.safely(dispose);
    }
  }

  private subscribe(entry: TrackedConnection, connection: object): void {
    // Runs from a promise reaction or inside the connection's emit(): it must never throw there.
    const notify = (): void => {
      if (this.live) this.safely(() => this.finish(entry));
    };
    try {
      if (this.onClose !== undefined) {
        const dispose = this.onClose(connection, notify);
        entry.signalled = true;
        if (typeof dispose === 'function') this.keepListening(entry, dispose);
        return;
      }
      const dispose = subscribeToClose(connection, notify);
      if (dispose === undefined) return;
      entry.signalled = true;
      if (dispose !== NO_DISPOSER) this.keepListening(entry, dispose);
    } catch (e) {
      this.ctx.onHookError(e);
    }
  }

  /** Keeps a listener's remover for restore(), or runs it when the close was already seen. */
  private keepListening(entry: TrackedConnection, dispose: () => void): void {
    if (entry.state === 'closed') this.safely(dispose);
    else this.listening.set(entry, dispose);
  }

  private addDisconnectable(entry: TrackedConnection): void {
    if (this.disconnectable >= MAX_DISCONNECTABLE) return;
    const list = this.byPeer.get(entry.peer);
    if (list === undefined) this.byPeer.set(entry.peer, [entry]);
    else list.push(entry);
    this.disconnectable++;
  }

  private removeDisconnectable(entry: TrackedConnection): void {
    const list = this.byPeer.get(entry.peer);
    const i = list?.indexOf(entry) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.byPeer.delete(entry.peer);
    this.disconnectable--;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.ctx.onHookError(e);
    }
  }
}

const NO_DISPOSER = (): void => undefined;

/**
 * The default close signals. `closed()` is called once per connection; its promise is observed
 * for both outcomes (Iroh's resolves with the close reason). Calling it on a connection whose
 * `closed()` returns one shared promise marks that promise handled: a rejection of it nobody
 * else handles then no longer reaches `unhandledRejection`.
 */
function subscribeToClose(connection: object, notify: () => void): (() => void) | undefined {
  const c = connection as Record<string, unknown>;
  if (typeof c.closed === 'function') {
    const closed = (c.closed as () => unknown).call(connection);
    if (types.isPromise(closed)) {
      closed.then(notify, notify);
      return NO_DISPOSER; // a promise reaction cannot be removed; notify checks `live` instead
    }
  }
  if (typeof c.once === 'function') {
    const remove = typeof c.removeListener === 'function' ? c.removeListener : c.off;
    if (typeof remove === 'function') {
      (c.once as (event: string, listener: () => void) => unknown).call(connection, 'close', notify);
      return () => void (remove as (event: string, listener: () => void) => unknown).call(connection, 'close', notify);
    }
  }
  return undefined;
}

const isObject = (value: unknown): value is object => (typeof value === 'object' && value !== null) || typeof value === 'function';
