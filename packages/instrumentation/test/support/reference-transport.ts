import { EventEmitter } from 'node:events';

/**
 * A transport written the way an application would write one (modelled on IrohTransportV2):
 * nodes of an in-process network exchange messages through `sendToPeer(peerId, message)`, which
 * queues the message and resolves once it is delivered, and `onMessage(handler)` for incoming
 * ones. Each node's send queue is an EventEmitter following the SendQueueLike contract. Nothing
 * here knows about the instrumentation.
 */

export interface Message {
  type: string;
  /** Set on messages that expect an acknowledgement. */
  id?: string;
  /** On `ack` messages: the id acknowledged. */
  ackOf?: string;
  payload: Uint8Array;
}

export type MessageHandler = (this: ReferenceTransport, from: string, message: Message) => unknown;

interface Queued {
  to: string;
  message: Message;
  bytes: number;
  enqueuedAt: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Bounded FIFO of outgoing messages; emits enqueue(peerId, bytes), dequeue(peerId, bytes, delayMs), overflow(peerId). */
export class SendQueue extends EventEmitter {
  private readonly items: Queued[] = [];

  constructor(
    readonly capacity: number,
    private readonly clock: () => number,
  ) {
    super();
  }

  get length(): number {
    return this.items.length;
  }

  push(to: string, message: Message, bytes: number): Promise<void> {
    if (this.items.length >= this.capacity) {
      this.emit('overflow', to);
      return Promise.reject(Object.assign(new Error(`send queue full (${this.capacity})`), { code: 'ENOBUFS' }));
    }
    return new Promise<void>((resolve, reject) => {
      this.items.push({ to, message, bytes, enqueuedAt: this.clock(), resolve, reject });
      this.emit('enqueue', to, bytes);
    });
  }

  shift(): Queued | undefined {
    const item = this.items.shift();
    if (item !== undefined) this.emit('dequeue', item.to, item.bytes, this.clock() - item.enqueuedAt);
    return item;
  }
}

export interface NetworkOptions {
  /** Milliseconds; default performance.now. */
  clock?: () => number;
  /** Deliver on the next macrotask after a send (default); false: tests call deliverAll(). */
  autoDeliver?: boolean;
  /** Send queue capacity per node (default 64). */
  queueCapacity?: number;
}

export class InProcessNetwork {
  private readonly nodes = new Map<string, ReferenceTransport>();
  readonly clock: () => number;
  private scheduled = false;

  constructor(readonly options: NetworkOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
  }

  join(id: string): ReferenceTransport {
    const node = new ReferenceTransport(id, this, this.options.queueCapacity ?? 64);
    this.nodes.set(id, node);
    return node;
  }

  leave(id: string): void {
    this.nodes.delete(id);
  }

  node(id: string): ReferenceTransport | undefined {
    return this.nodes.get(id);
  }

  /** Delivers every queued message of every node; returns how many were delivered. */
  deliverAll(): number {
    let delivered = 0;
    for (const node of this.nodes.values()) delivered += node.deliver();
    return delivered;
  }

  /** Called by a node after it queued a message. */
  sent(): void {
    if (this.options.autoDeliver === false || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliverAll();
    });
  }
}

export class ReferenceTransport {
  readonly queue: SendQueue;
  private readonly handlers = new Set<MessageHandler>();
  /** Errors thrown by handlers: a transport logs them rather than crash its receive loop. */
  readonly handlerErrors: unknown[] = [];
  /** What handlers returned, last delivery first out. */
  readonly handlerResults: unknown[] = [];

  constructor(
    readonly id: string,
    private readonly network: InProcessNetwork,
    capacity: number,
  ) {
    this.queue = new SendQueue(capacity, network.clock);
  }

  sendToPeer(peerId: string, message: Message): Promise<void> {
    if (this.network.node(peerId) === undefined) {
      return Promise.reject(Object.assign(new Error(`connect to ${peerId}: connection refused`), { code: 'ECONNREFUSED' }));
    }
    const delivered = this.queue.push(peerId, message, message.payload.byteLength);
    this.network.sent();
    return delivered;
  }

  /** Registers a handler for incoming messages; returns its unsubscribe function. */
  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  offMessage(handler: MessageHandler): boolean {
    return this.handlers.delete(handler);
  }

  get handlerCount(): number {
    return this.handlers.size;
  }

  /** The registered handlers, as the transport holds them. */
  registeredHandlers(): MessageHandler[] {
    return [...this.handlers];
  }

  /** Sends what is queued; returns how many messages left. */
  deliver(): number {
    let n = 0;
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      const peer = this.network.node(item.to);
      if (peer === undefined) {
        item.reject(Object.assign(new Error(`${item.to}: connection reset`), { code: 'ECONNRESET' }));
        continue;
      }
      peer.receive(this.id, item.message);
      item.resolve();
      n++;
    }
    return n;
  }

  receive(from: string, message: Message): void {
    for (const handler of [...this.handlers]) {
      try {
        this.handlerResults.push(handler.call(this, from, message));
      } catch (e) {
        this.handlerErrors.push(e);
      }
    }
  }
}

/** A message of `type` with `bytes` bytes of payload. */
export function message(type: string, bytes: number, id?: string): Message {
  return id === undefined ? { type, payload: new Uint8Array(bytes) } : { type, id, payload: new Uint8Array(bytes) };
}
