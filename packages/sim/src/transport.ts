import { EventEmitter } from 'node:events';
import { netError, transmit, type Host } from './host.js';

export interface SimMessage {
  type: string;
  payload: Uint8Array;
}

export type SimMessageHandler = (from: string, message: SimMessage) => unknown;

interface Queued {
  to: string;
  message: SimMessage;
  enqueuedAt: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * The bounded FIFO of a node's outgoing messages, following the instrumentation's SendQueueLike
 * contract: emits enqueue(peerId, bytes), dequeue(peerId, bytes, delayMs), overflow(peerId).
 */
export class SimSendQueue extends EventEmitter {
  private readonly items: Queued[] = [];

  constructor(
    readonly capacity: number,
    private readonly now: () => number,
  ) {
    super();
  }

  get length(): number {
    return this.items.length;
  }

  push(to: string, message: SimMessage): Promise<void> {
    if (this.items.length >= this.capacity) {
      this.emit('overflow', to);
      return Promise.reject(netError('ENOBUFS', `send queue full (${this.capacity})`));
    }
    return new Promise<void>((resolve, reject) => {
      this.items.push({ to, message, enqueuedAt: this.now(), resolve, reject });
      this.emit('enqueue', to, message.payload.byteLength);
    });
  }

  shift(): Queued | undefined {
    const item = this.items.shift();
    if (item !== undefined) this.emit('dequeue', item.to, item.message.payload.byteLength, this.now() - item.enqueuedAt);
    return item;
  }
}

/**
 * A node's message transport, shaped like the instrumentation's transport contract:
 * `sendToPeer(peerId, message)` queues the message and resolves once the peer received it;
 * `onMessage(handler)` registers a receiver. One message at a time leaves the queue: it occupies
 * the wire for max(size / bandwidth, the receiver's processing time) (flow control: a slow
 * consumer slows its senders down), then travels with the link's latency and loss.
 */
export class SimTransport {
  readonly queue: SimSendQueue;
  private readonly handlers = new Set<SimMessageHandler>();
  private draining = false;
  /** The message holding the wire (for its busy time), before its flight. */
  private onWire: Queued | undefined;
  private readonly wireFree = (): void => {
    const item = this.onWire as Queued;
    this.onWire = undefined;
    this.fly(item);
    this.drain();
  };

  constructor(
    private readonly host: Host,
    capacity: number,
  ) {
    this.queue = new SimSendQueue(capacity, () => host.now());
  }

  sendToPeer(peerId: string, message: SimMessage): Promise<void> {
    const sent = this.queue.push(peerId, message);
    if (!this.draining) this.drain();
    return sent;
  }

  onMessage(handler: SimMessageHandler): () => void {
    this.handlers.add(handler);
    return () => void this.handlers.delete(handler);
  }

  offMessage(handler: SimMessageHandler): boolean {
    return this.handlers.delete(handler);
  }

  /** Called by the network when a message arrives. */
  receive(from: string, message: SimMessage): void {
    for (const handler of this.handlers) handler(from, message);
  }

  /**
   * Puts queued messages on the wire one after the other: each leaves the queue, holds the wire
   * for its busy time, then flies while the next one takes the wire. Stops when the queue is
   * empty (the next send starts it again) or the process crashed (its timers never fire).
   */
  private drain(): void {
    this.draining = true;
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      const busyMs = Math.max(this.host.net.wireMs(this.host.id, item.to, item.message.payload.byteLength), this.host.processingMsOf(item.to));
      if (busyMs > 0) {
        this.onWire = item;
        this.host.after(busyMs, this.wireFree);
        return;
      }
      this.fly(item);
    }
    this.draining = false;
  }

  /** The message's flight: delivered to the receiver's handlers, then the send resolves. */
  private fly(item: Queued): void {
    const { to, message, resolve, reject } = item;
    transmit(this.host, to, (error) => {
      if (error !== undefined) return reject(error);
      const peer = this.host.transportOf(to);
      if (peer === undefined) return reject(netError('ECONNRESET', `${to}: connection reset by peer`));
      try {
        peer.receive(this.host.id, message);
      } catch (e) {
        return reject(e as Error);
      }
      resolve();
    });
  }
}
