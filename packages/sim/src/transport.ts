import { EventEmitter } from 'node:events';
import { netError, RETRANSMISSIONS, retransmitBaseMs, type Host } from './host.js';
import { post } from './virtual-time.js';

export interface SimMessage {
  type: string;
  payload: Uint8Array;
}

export type SimMessageHandler = (from: string, message: SimMessage) => unknown;

/** A message from its send to its delivery: in the queue, on the wire, in flight. */
class Queued {
  /** Transmissions lost so far. */
  lost = 0;
  /** The first retransmission timeout, ms (set at the first flight). */
  retryMs = 0;
  /** The transport sending it (set when it leaves the queue). */
  from: SimTransport | undefined = undefined;

  constructor(
    readonly to: string,
    readonly message: SimMessage,
    readonly enqueuedAt: number,
    readonly resolve: () => void,
    readonly reject: (e: Error) => void,
  ) {}
}

// The timers of a message's path: module functions with the message as argument, rather than
// closures made per message (3.6 million messages in a 1,000-node hour).
function wireFree(transport: SimTransport): void {
  transport.wireFree();
}
function transmission(item: Queued): void {
  const from = item.from as SimTransport;
  if (!from.host.dead) from.transmit(item);
}
function arrival(item: Queued): void {
  const from = item.from as SimTransport;
  if (!from.host.dead) from.arrive(item);
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
      this.items.push(new Queued(to, message, this.now(), resolve, reject));
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

  constructor(
    /** @internal */
    readonly host: Host,
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
    const host = this.host;
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      item.from = this;
      const busyMs = Math.max(host.net.wireMs(host.id, item.to, item.message.payload.byteLength), host.processingMsOf(item.to));
      if (busyMs > 0) {
        this.onWire = item;
        // host.after(busyMs, …), without a closure.
        if (!host.dead) post(wireFree, busyMs, this);
        return;
      }
      this.fly(item);
    }
    this.draining = false;
  }

  /** @internal The wire is free again: the message holding it flies, the next one takes it. */
  wireFree(): void {
    if (this.host.dead) return;
    const item = this.onWire as Queued;
    this.onWire = undefined;
    this.fly(item);
    this.drain();
  }

  /**
   * The message's flight: one reliable transmission to its peer (see `retransmitBaseMs`), which
   * delivers it to the receiver's handlers, then resolves the send. Fails with ETIMEDOUT after
   * every retransmission was lost, with ECONNRESET when the peer is down when it lands.
   */
  private fly(item: Queued): void {
    item.retryMs = retransmitBaseMs(this.host, item.to);
    this.transmit(item);
  }

  /**
   * @internal One transmission of a message: lost (then resent after a backed-off timeout) or in
   * flight. Its timers are host.after()'s (none once the process crashed), without a closure.
   */
  transmit(item: Queued): void {
    const host = this.host;
    if (item.lost > RETRANSMISSIONS) {
      item.reject(netError('ETIMEDOUT', `${item.to}: timed out after ${RETRANSMISSIONS + 1} transmissions`));
      return;
    }
    if (host.net.lost(host.id, item.to)) {
      const ms = item.retryMs * 2 ** item.lost++;
      if (!host.dead) post(transmission, ms, item);
      return;
    }
    const ms = host.net.delay(host.id, item.to);
    if (!host.dead) post(arrival, ms, item);
  }

  /** @internal A transmission landed: delivered to the peer's handlers if the peer is up. */
  arrive(item: Queued): void {
    const host = this.host;
    const peer = host.transportOf(item.to);
    if (peer === undefined) {
      item.reject(netError('ECONNRESET', `${item.to}: connection reset by peer`));
      return;
    }
    try {
      peer.receive(host.id, item.message);
    } catch (e) {
      item.reject(e as Error);
      return;
    }
    item.resolve();
  }
}
