/**
 * IrohTransport: typed messages between peers, the shape of the design's IrohTransportV2.
 *
 * Sending: `sendToPeer(peerId, message)` puts the message in the peer's bounded send buffer
 * (`queue`); up to `lanesPerPeer` messages per peer are on the wire at once, each on its own QUIC
 * bidirectional stream of a pooled connection, and the promise resolves with the peer's reply.
 * Receiving: every accepted connection is served in order, one stream after the other, and each
 * message is handed to the `onMessage` handlers; the first handler returning bytes provides the
 * reply (an empty reply otherwise).
 *
 * `sendToPeer`, `onMessage`, `offMessage` and `queue` are the names p2p-otel's transport
 * instrumentation looks for: messages, bytes, sizes, latencies, failed sends and the send buffer
 * are then recorded without a line of metrics code here.
 */
import type { BiStream, Connection, Endpoint, Incoming } from '@number0/iroh';
import type { IrohPeerConnector } from './connector.js';
import { RemoteError, errorWithCode, readReply, readRequest, shortError, sleep, withTimeout, writeReply, writeRequest, type Message } from './protocol.js';
import { SendQueue } from './send-queue.js';

export type MessageHandler = (peerId: string, message: Message) => Uint8Array | void | Promise<Uint8Array | void>;

export interface SendOptions {
  /** Aborting gives up on the message: taken out of the buffer, or its reply no longer awaited. */
  signal?: AbortSignal;
}

export interface IrohTransportOptions {
  endpoint: Endpoint;
  connector: IrohPeerConnector;
  /** Messages buffered per peer before sends are refused with ENOBUFS (default 32). */
  queueCapacityPerPeer?: number;
  /** Messages per peer on the wire at once; the connector's pool size (default 2). */
  lanesPerPeer?: number;
  /** From leaving the buffer to the reply (default 3000 ms); then ETIMEDOUT and the connection is closed. */
  requestTimeoutMs?: number;
}

interface Outgoing {
  readonly message: Message;
  settled: boolean;
  resolve(reply: Uint8Array): void;
  reject(error: unknown): void;
}

const EMPTY = new Uint8Array(0);

export class IrohTransport {
  readonly queue: SendQueue<Outgoing>;
  /** Decides whether an incoming connection is accepted (the demo's faults refuse some). */
  admit: () => boolean = () => true;
  /** Delay before reading each incoming message (the demo's slow consumer). */
  receiveDelayMs = 0;
  private readonly handlers = new Set<MessageHandler>();
  private readonly inFlight = new Map<string, number>();
  private readonly inbound = new Set<Connection>();
  private readonly lanes: number;
  private closed = false;

  constructor(private readonly options: IrohTransportOptions) {
    this.queue = new SendQueue(options.queueCapacityPerPeer ?? 32);
    this.lanes = options.lanesPerPeer ?? 2;
  }

  /** Sends a message and resolves with the peer's reply. */
  sendToPeer(peerId: string, message: Message, options: SendOptions = {}): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const { signal } = options;
      if (this.closed) return reject(errorWithCode('transport closed', 'ECONNABORTED'));
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        this.queue.remove(peerId, out);
        out.reject(signal?.reason);
      };
      const out: Outgoing = {
        message,
        settled: false,
        resolve: (reply) => settle(() => resolve(reply)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (action: () => void): void => {
        if (out.settled) return;
        out.settled = true;
        signal?.removeEventListener('abort', onAbort);
        action();
      };
      if (!this.queue.push(peerId, out, message.payload.byteLength)) {
        out.reject(errorWithCode(`send buffer for ${peerId.slice(0, 10)} is full`, 'ENOBUFS'));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pump(peerId);
    });
  }

  /** A health-check ping: resolves once the peer answered. */
  async ping(peerId: string, signal?: AbortSignal): Promise<void> {
    await this.sendToPeer(peerId, { type: 'ping', payload: new Uint8Array(8) }, signal === undefined ? {} : { signal });
  }

  /** Registers a handler for incoming messages; returns its unsubscribe function. */
  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.offMessage(handler);
  }

  offMessage(handler: MessageHandler): boolean {
    return this.handlers.delete(handler);
  }

  /** Starts accepting incoming connections on the endpoint. */
  start(): void {
    void this.acceptLoop();
  }

  /** Connections peers opened to us, open now. */
  inboundConnections(): Connection[] {
    return [...this.inbound];
  }

  /** Closes the connections peers opened to us (the demo's refusing peer drops them). */
  dropInboundConnections(reason: string): void {
    for (const connection of this.inbound) connection.close(1n, Array.from(Buffer.from(reason)));
  }

  close(): void {
    this.closed = true;
    for (const out of this.queue.clear()) out.reject(errorWithCode('transport closed', 'ECONNABORTED'));
    this.dropInboundConnections('shutting down');
  }

  // ---- sending ----------------------------------------------------------------------------------

  private pump(peerId: string): void {
    for (let busy = this.inFlight.get(peerId) ?? 0; busy < this.lanes; busy++) {
      const out = this.queue.shift(peerId);
      if (out === undefined) break;
      this.inFlight.set(peerId, busy + 1);
      void this.deliver(peerId, out).finally(() => {
        this.inFlight.set(peerId, (this.inFlight.get(peerId) ?? 1) - 1);
        this.pump(peerId);
      });
    }
  }

  private async deliver(peerId: string, out: Outgoing): Promise<void> {
    if (out.settled) return; // given up while buffered
    let connection: Connection;
    try {
      connection = await this.options.connector.connectToPeer(peerId);
    } catch (error) {
      // ENOTCONN: the message never left; why (refused, timed out, breaker open) is the cause.
      out.reject(errorWithCode(`not connected to ${peerId.slice(0, 10)}: ${shortError(error)}`, 'ENOTCONN', error));
      return;
    }
    let healthy = true;
    try {
      const exchange = async (): Promise<Uint8Array> => {
        const stream: BiStream = await connection.openBi();
        await writeRequest(stream.send, out.message);
        return readReply(stream.recv);
      };
      const timeoutMs = this.options.requestTimeoutMs ?? 3_000;
      out.resolve(await withTimeout(exchange(), timeoutMs, () => errorWithCode(`no reply from ${peerId.slice(0, 10)} within ${timeoutMs} ms`, 'ETIMEDOUT')));
    } catch (error) {
      healthy = error instanceof RemoteError; // the peer answered: the connection is fine
      out.reject(error);
    } finally {
      if (healthy) this.options.connector.release(connection);
      else this.options.connector.discard(connection);
    }
  }

  // ---- receiving --------------------------------------------------------------------------------

  private async acceptLoop(): Promise<void> {
    while (!this.closed) {
      let incoming: Incoming | null;
      try {
        incoming = await this.options.endpoint.acceptNext();
      } catch {
        continue;
      }
      if (incoming === null) return; // the endpoint closed
      void this.acceptOne(incoming);
    }
  }

  private async acceptOne(incoming: Incoming): Promise<void> {
    try {
      if (this.closed || !this.admit()) {
        await incoming.refuse();
        return;
      }
      const connection = await (await incoming.accept()).connect();
      await this.serve(connection);
    } catch {
      // A handshake that failed or a connection that ended: the peer's side reports it.
    }
  }

  /** Serves one connection's streams in order until it closes. */
  private async serve(connection: Connection): Promise<void> {
    const peerId = connection.remoteId().toString();
    this.inbound.add(connection);
    try {
      for (;;) {
        const stream = await connection.acceptBi(); // rejects once the connection is closed
        await this.handle(peerId, stream);
      }
    } finally {
      this.inbound.delete(connection);
    }
  }

  private async handle(peerId: string, stream: BiStream): Promise<void> {
    let reply: Uint8Array | Error = EMPTY;
    try {
      if (this.receiveDelayMs > 0) await sleep(this.receiveDelayMs);
      const message = await withTimeout(readRequest(stream.recv), 5_000, () => errorWithCode('request not received in 5 s', 'ETIMEDOUT'));
      for (const handler of [...this.handlers]) {
        const result = await handler(peerId, message);
        if (reply === EMPTY && result instanceof Uint8Array) reply = result;
      }
    } catch (error) {
      reply = error instanceof Error ? error : new Error(String(error));
    }
    await writeReply(stream.send, reply).catch(() => undefined);
  }
}
