import { EventEmitter } from 'node:events';

/**
 * A bounded FIFO send buffer per peer. It emits what p2p-otel's transport instrumentation
 * listens for (`transport.queue`):
 *
 * - `enqueue(peerId, bytes)` when a message enters the buffer,
 * - `dequeue(peerId, bytes, delayMs)` when it leaves (for the wire, or cancelled: no delay),
 * - `overflow(peerId)` when a message is refused because the peer's buffer is full.
 */
export interface Queued<T> {
  readonly item: T;
  readonly bytes: number;
  readonly enqueuedAt: number;
}

export class SendQueue<T> extends EventEmitter {
  private readonly queues = new Map<string, Queued<T>[]>();

  constructor(readonly capacityPerPeer: number) {
    super();
  }

  /** Adds a message; false (and an `overflow`) when the peer's buffer is full. */
  push(peerId: string, item: T, bytes: number): boolean {
    let queue = this.queues.get(peerId);
    if (queue === undefined) this.queues.set(peerId, (queue = []));
    if (queue.length >= this.capacityPerPeer) {
      this.emit('overflow', peerId);
      return false;
    }
    queue.push({ item, bytes, enqueuedAt: performance.now() });
    this.emit('enqueue', peerId, bytes);
    return true;
  }

  /** The oldest message for the peer, leaving for the wire. */
  shift(peerId: string): T | undefined {
    const next = this.queues.get(peerId)?.shift();
    if (next === undefined) return undefined;
    this.emit('dequeue', peerId, next.bytes, performance.now() - next.enqueuedAt);
    return next.item;
  }

  /** Takes a message out without sending it (its sender gave up). */
  remove(peerId: string, item: T): boolean {
    const queue = this.queues.get(peerId);
    const index = queue?.findIndex((q) => q.item === item) ?? -1;
    if (queue === undefined || index < 0) return false;
    const [removed] = queue.splice(index, 1);
    this.emit('dequeue', peerId, removed?.bytes ?? 0);
    return true;
  }

  length(peerId: string): number {
    return this.queues.get(peerId)?.length ?? 0;
  }

  /** Empties every buffer, returning what was in them. */
  clear(): T[] {
    const items: T[] = [];
    for (const [peerId, queue] of this.queues) {
      for (const q of queue.splice(0)) {
        this.emit('dequeue', peerId, q.bytes);
        items.push(q.item);
      }
    }
    return items;
  }
}
