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

  constructor(
    private readonly host: Host,
    capacity: number,
  ) {
    this.queue = new SimSendQueue(capacity, () => host.now());
  }

  sendToPeer(peerId: string, message: SimMessage): Promise<void> {
    const sent = this.queue.push(peerId, message);
    if (!this.draining) void this.drain();
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

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        const { to, message, resolve, reject } = item;
        const busyMs = Math.max(this.host.net.wireMs(this.host.id, to, message.payload.byteLength), this.host.processingMsOf(to));
        if (busyMs > 0) await this.host.sleep(busyMs);
        transmit(this.host, to).then(() => {
          const peer = this.host.transportOf(to);
          if (peer === undefined) throw netError('ECONNRESET', `${to}: connection reset by peer`);
          peer.receive(this.host.id, message);
        }).then(resolve, reject);
      }
    } finally {
      this.draining = false;
    }
  }
}
