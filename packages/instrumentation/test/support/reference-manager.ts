import { EventEmitter } from 'node:events';
import type { P2pEvent } from '../../src/instrumentation/p2p-events.js';

/**
 * P2P managers written the way an application would write them: discovery, topology and resource
 * synchronisation, reported as a stream of P2pEvents. `ReferenceManager` publishes them on an
 * EventEmitter ('event'); `StreamingManager` hands every subscriber its own async iterator.
 * Nothing here knows about the instrumentation.
 */

export class LookupError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'not_found' | 'unreachable' | 'invalid_response' | 'other',
  ) {
    super(message);
  }
}

export class SyncError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'unreachable' | 'rejected' | 'corrupt' | 'cancelled' | 'other',
  ) {
    super(message);
  }
}

type Method = 'dns' | 'mdns' | 'static' | 'relay';

abstract class ManagerCore {
  private readonly adjacency = new Map<string, Set<string>>();

  constructor(
    readonly localId: string,
    protected readonly clock: () => number = () => performance.now(),
  ) {}

  protected abstract publish(event: P2pEvent): void;

  /** Runs one lookup through `method`; every peer it finds is announced with the lookup's duration. */
  async discover(method: Method, lookup: () => Promise<string[]>): Promise<string[]> {
    const t0 = this.clock();
    try {
      const found = await lookup();
      const durationMs = this.clock() - t0;
      for (const peerId of found) this.publish({ type: 'peer_discovered', peerId, method, durationMs });
      return found;
    } catch (e) {
      const reason = e instanceof LookupError ? e.reason : 'other';
      this.publish({ type: 'discovery_failed', method, reason, durationMs: this.clock() - t0 });
      throw e;
    }
  }

  forget(peerId: string): void {
    this.publish({ type: 'peer_lost', peerId });
  }

  connect(from: string, to: string): void {
    this.edge(from, to, true);
    this.publish({ type: 'peer_link_up', from, to });
  }

  disconnect(from: string, to: string): void {
    this.edge(from, to, false);
    this.publish({ type: 'peer_link_down', from, to });
  }

  /** Replaces the whole known graph and announces it as one snapshot. */
  setTopology(adjacency: Record<string, string[]>): void {
    this.adjacency.clear();
    for (const [node, neighbours] of Object.entries(adjacency)) for (const n of neighbours) this.edge(node, n, true);
    this.publish({ type: 'topology', adjacency: this.snapshot() });
  }

  /** Pulls a resource from `peerId` chunk by chunk, reporting progress per chunk. */
  async syncResource(resourceType: string, peerId: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
    const t0 = this.clock();
    this.publish({ type: 'resource_sync_started', resourceType, peerId });
    let total = 0;
    try {
      for await (const chunk of chunks) {
        total += chunk.byteLength;
        this.publish({ type: 'resource_transfer_progress', resourceType, peerId, bytes: chunk.byteLength });
      }
    } catch (e) {
      const reason = e instanceof SyncError ? e.reason : 'other';
      this.publish({ type: 'resource_sync_failed', resourceType, peerId, reason, durationMs: this.clock() - t0 });
      throw e;
    }
    this.publish({ type: 'resource_sync_completed', resourceType, peerId, durationMs: this.clock() - t0 });
    return total;
  }

  private edge(a: string, b: string, up: boolean): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      let set = this.adjacency.get(x);
      if (set === undefined) this.adjacency.set(x, (set = new Set()));
      if (up) set.add(y);
      else set.delete(y);
    }
  }

  private snapshot(): Record<string, string[]> {
    return Object.fromEntries([...this.adjacency].map(([n, s]) => [n, [...s]]));
  }
}

/** Publishes on an EventEmitter: `manager.on('event', (e: P2pEvent) => ...)`. */
export class ReferenceManager extends ManagerCore {
  private readonly emitter = new EventEmitter();

  on(event: string, listener: (e: P2pEvent) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: string, listener: (e: P2pEvent) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  listenerCount(event: string): number {
    return this.emitter.listenerCount(event);
  }

  listeners(event: string): Function[] {
    return this.emitter.listeners(event);
  }

  /** For events the core does not produce (tests feed malformed ones through here). */
  emitRaw(event: string, payload: unknown): void {
    this.emitter.emit(event, payload);
  }

  protected publish(event: P2pEvent): void {
    this.emitter.emit('event', event);
  }
}

/** One subscriber's queue: an async iterator that ends on return() or close(). */
class Subscription implements AsyncIterableIterator<P2pEvent> {
  private readonly buffered: P2pEvent[] = [];
  private waiting: ((r: IteratorResult<P2pEvent>) => void) | undefined;
  private closed = false;

  constructor(private readonly onClose: (s: Subscription) => void) {}

  push(event: P2pEvent): void {
    if (this.closed) return;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined) waiting({ value: event, done: false });
    else this.buffered.push(event);
  }

  next(): Promise<IteratorResult<P2pEvent>> {
    const event = this.buffered.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<P2pEvent>> {
    this.closed = true;
    this.buffered.length = 0;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    this.onClose(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Every `subscribe()` call gets its own iterator over every event published from then on. */
export class StreamingManager extends ManagerCore {
  private readonly subscriptions = new Set<Subscription>();

  subscribe(): AsyncIterableIterator<P2pEvent> {
    const s = new Subscription((closed) => this.subscriptions.delete(closed));
    this.subscriptions.add(s);
    return s;
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  protected publish(event: P2pEvent): void {
    for (const s of this.subscriptions) s.push(event);
  }
}
