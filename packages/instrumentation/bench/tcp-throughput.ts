/**
 * Throughput cost end to end on a fast transport: a length-framed TCP transport over loopback,
 * driven at its maximum rate, plain and wrapped by P2pInstrumentation.instrumentTransport (sent
 * side: the send method; received side: the message handler), side by side in interleaved rounds.
 *
 * The transport is written as a fast Node transport is: `sendToPeer` frames the message into the
 * socket (corked, flushed once per tick) and returns socket.write's backpressure flag; the driver
 * sends while it is true and waits for 'drain' when it is false. A round ends when the receiving
 * side has handled every message of the round. All cases take turns on one TCP connection (see
 * Link). Hand-written cases make a ladder under the instrumented one: forwarding wrappers that
 * record nothing, one increment per end, the counts with nothing but typed arrays (`floor`), and
 * everything the schema records per message (`floor, complete record`).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { LATENCY_MS_BUCKETS, P2pInstrumentation, SIZE_BYTES_BUCKETS } from '@p2p-otel/instrumentation';
import { fmt, formatTable, median, runInterleaved, summarize, withChargedCollection, type BenchCase, type Check, type Section } from './harness.js';
import { bucketOf, TestReader } from './hot-path.js';

export const TCP_TARGETS = { tcpMinThroughputRatio: 0.97 } as const;

const TYPES = ['gossip', 'sync', 'block', 'ping'] as const;
const PEER = 'b'.repeat(64);

interface Message {
  readonly type: string;
  readonly payload: Uint8Array;
}
type Handler = (peerId: string, message: Message) => void;

/** Frame: u32 body length, u8 type index, payload. */
class TcpTransport {
  private readonly handlers: Handler[] = [];
  private socket: Socket | undefined;
  private corked = false;
  received = 0;

  /** The receiving side's dispatch: the link parsed a message from this transport's peer. */
  deliver(peerId: string, message: Message): void {
    for (const h of this.handlers) h(peerId, message);
  }

  attach(socket: Socket): void {
    this.socket = socket;
  }

  sendToPeer(_peerId: string, message: Message): boolean {
    const socket = this.socket!;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    const header = Buffer.allocUnsafe(5);
    header.writeUInt32BE(message.payload.byteLength, 0);
    header[4] = TYPES.indexOf(message.type as (typeof TYPES)[number]);
    socket.write(header);
    return socket.write(message.payload);
  }

  onMessage(handler: Handler): void {
    this.handlers.push(handler);
  }
}

/**
 * The rungs below the floor: the same hand-written forwarding wrappers as the floor's, recording
 * nothing (`count: false`), or adding 1 to one typed-array slot per end (`count: true`). They show
 * what the wrapping costs by itself and what touching any state per message costs.
 */
function forwardingInstrument(count: boolean): (sender: TcpTransport, receiver: TcpTransport) => void {
  return (sender, receiver) => {
    const cells = new Float64Array(2);
    const send = TcpTransport.prototype.sendToPeer;
    sender.sendToPeer = count
      ? function (this: TcpTransport, peerId: string, message: Message): boolean {
          const r = send.call(this, peerId, message);
          cells[0]!++;
          return r;
        }
      : function (this: TcpTransport, peerId: string, message: Message): boolean {
          return send.call(this, peerId, message);
        };
    const register = TcpTransport.prototype.onMessage;
    receiver.onMessage = function (this: TcpTransport, handler: Handler): void {
      register.call(
        this,
        count
          ? (peerId, message) => {
              cells[1]!++;
              handler(peerId, message);
            }
          : (peerId, message) => handler(peerId, message),
      );
    };
  };
}

/**
 * The floor of recording every message on both ends: hand-written forwarding wrappers (no rest
 * arguments, no hooks, no try/catch) that add to preallocated typed arrays what the instrumented
 * case records per message (a message and its bytes per side, its size's histogram bucket),
 * without peer or type lookups. Not a product: the cost below which no per-message instrumentation
 * of this transport can go, measured in the same rounds.
 */
const SIZE_BOUNDS = Float64Array.from(SIZE_BYTES_BUCKETS);
function floorInstrument(sender: TcpTransport, receiver: TcpTransport): Float64Array {
  const sizeBuckets = SIZE_BOUNDS.length + 1;
  const cells = new Float64Array(4 + 2 * sizeBuckets);
  const send = TcpTransport.prototype.sendToPeer;
  sender.sendToPeer = function (this: TcpTransport, peerId: string, message: Message): boolean {
    const r = send.call(this, peerId, message);
    const n = message.payload.byteLength;
    cells[0]!++;
    cells[1]! += n;
    cells[4 + bucketOf(SIZE_BOUNDS, n)]!++;
    return r;
  };
  const register = TcpTransport.prototype.onMessage;
  receiver.onMessage = function (this: TcpTransport, handler: Handler): void {
    register.call(this, (peerId, message) => {
      const n = message.payload.byteLength;
      cells[2]!++;
      cells[3]! += n;
      cells[4 + sizeBuckets + bucketOf(SIZE_BOUNDS, n)]!++;
      handler(peerId, message);
    });
  };
  return cells;
}

/**
 * The floor of recording what the schema asks of each message (what `instrumented` records), by
 * hand: per (peer, message type) a size histogram (sum, min, max, bucket; bytes are its sum), on
 * each end; the sent side also times one send in 64 (about 15,000 a second here, where
 * p2p-otel's default times at most 10,000) into a latency histogram. Peers by the last one seen,
 * then a Map; types by identity against the known ones; sizes of binary payloads; try/catch around
 * the record. No validation beyond that, no fallback, no labels, nothing to export: the least any
 * implementation of the schema can cost on this transport.
 */
const LATENCY_BOUNDS = Float64Array.from(LATENCY_MS_BUCKETS);
function completeFloorInstrument(sender: TcpTransport, receiver: TcpTransport): void {
  const side = (): ((peerId: unknown, message: unknown, latencyMs: number) => void) => {
    const sizeWidth = 3 + SIZE_BOUNDS.length + 1;
    const width = sizeWidth + 3 + LATENCY_BOUNDS.length + 1;
    const rowWidth = TYPES.length * width;
    const cells = new Float64Array(4 * rowWidth);
    for (let c = 0; c < cells.length; c += width) {
      cells[c + 1] = cells[c + sizeWidth + 1] = Infinity;
      cells[c + 2] = cells[c + sizeWidth + 2] = -Infinity;
    }
    const rows = new Map<unknown, number>();
    let lastPeer: unknown;
    let lastRow = -1;
    const add = (c: number, v: number, bounds: Float64Array): void => {
      cells[c] = (cells[c] as number) + v;
      if (v < (cells[c + 1] as number)) cells[c + 1] = v;
      if (v > (cells[c + 2] as number)) cells[c + 2] = v;
      const b = c + 3 + bucketOf(bounds, v);
      cells[b] = (cells[b] as number) + 1;
    };
    return (peerId, message, latencyMs) => {
      try {
        let row = lastRow;
        if (peerId !== lastPeer) {
          row = rows.get(peerId) ?? rows.size * rowWidth;
          if (row >= cells.length) return;
          rows.set(peerId, row);
          lastPeer = peerId;
          lastRow = row;
        }
        const type = (message as Message).type;
        let t = 0;
        while (t < TYPES.length && TYPES[t] !== type) t++;
        const payload = (message as Message).payload;
        if (t === TYPES.length || !ArrayBuffer.isView(payload)) return;
        const c = row + t * width;
        add(c, payload.byteLength, SIZE_BOUNDS);
        if (latencyMs === latencyMs) add(c + sizeWidth, latencyMs, LATENCY_BOUNDS);
      } catch {
        // never into the transport
      }
    };
  };
  const sent = side();
  const received = side();
  const send = TcpTransport.prototype.sendToPeer;
  let countdown = 64;
  sender.sendToPeer = function (this: TcpTransport, peerId: string, message: Message): boolean {
    if (--countdown > 0) {
      const r = send.call(this, peerId, message);
      sent(peerId, message, Number.NaN);
      return r;
    }
    countdown = 64;
    const t0 = performance.now();
    const r = send.call(this, peerId, message);
    sent(peerId, message, performance.now() - t0);
    return r;
  };
  const register = TcpTransport.prototype.onMessage;
  receiver.onMessage = function (this: TcpTransport, handler: Handler): void {
    register.call(this, (peerId, message) => {
      received(peerId, message, Number.NaN);
      handler(peerId, message);
    });
  };
}

interface Pair {
  readonly sender: TcpTransport;
  readonly receiver: TcpTransport;
}

/**
 * One loopback TCP connection, shared by every case in turn: the case of a round makes its pair
 * the `active` one, whose sender writes to the socket and whose receiver gets the parsed messages.
 * Two connections differ by more than the effect measured (TCP buffer autotuning, how the stream
 * is cut into chunks): with a connection per case, two plain pairs differed by more than that for
 * whole runs (`plain (control)`), so every case runs on the same connection.
 */
class Link {
  active: Pair | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly server: Server,
  ) {}

  static async open(): Promise<Link> {
    let link: Link | undefined;
    const server: Server = createServer((s) => link!.parse(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('tcp-throughput: no port');
    const socket = connect(address.port, '127.0.0.1');
    socket.setNoDelay(true);
    link = new Link(socket, server);
    await once(socket, 'connect');
    return link;
  }

  /**
   * The receiving side: parses frames off `socket` and hands each message to the active receiver.
   * A frame within one chunk is handed over as a view of it; only a frame split across chunks is
   * copied, into a buffer of its own size. (Appending every chunk to the leftover of the previous
   * one, as this parser once did, copied whole 64 KiB chunks whenever a frame straddled two reads:
   * a cost that grew with how the stream happened to be cut, and so with any slowdown of the
   * process, which amplified the cost of whatever was measured. See docs/performance.md.)
   */
  private parse(socket: Socket): void {
    const header = Buffer.alloc(5);
    let headerBytes = 0; // of a header split across chunks
    let body: Buffer | undefined; // of a frame split across chunks
    let bodyBytes = 0;
    let type = 0;
    socket.on('data', (chunk: Buffer) => {
      const n = chunk.length;
      let off = 0;
      while (off < n) {
        if (body !== undefined) {
          const take = Math.min(body.length - bodyBytes, n - off);
          chunk.copy(body, bodyBytes, off, off + take);
          bodyBytes += take;
          off += take;
          if (bodyBytes < body.length) return;
          const done = body;
          body = undefined;
          this.deliver(type, done);
          continue;
        }
        let len: number;
        if (headerBytes > 0 || n - off < 5) {
          const take = Math.min(5 - headerBytes, n - off);
          chunk.copy(header, headerBytes, off, off + take);
          headerBytes += take;
          off += take;
          if (headerBytes < 5) return;
          headerBytes = 0;
          len = header.readUInt32BE(0);
          type = header[4] as number;
        } else {
          len = chunk.readUInt32BE(off);
          type = chunk[off + 4] as number;
          off += 5;
        }
        if (n - off >= len) {
          this.deliver(type, chunk.subarray(off, off + len));
          off += len;
        } else {
          body = Buffer.allocUnsafe(len);
          bodyBytes = 0;
        }
      }
    });
  }

  private deliver(type: number, payload: Uint8Array): void {
    this.active!.receiver.deliver(PEER, { type: TYPES[type] as string, payload });
  }

  /** A sender and a receiver transport on this connection; `prepare` instruments them first. */
  pair(prepare: (sender: TcpTransport, receiver: TcpTransport) => void): Pair {
    const sender = new TcpTransport();
    const receiver = new TcpTransport();
    prepare(sender, receiver);
    receiver.onMessage(() => void receiver.received++); // the application's handler
    sender.attach(this.socket);
    return { sender, receiver };
  }

  async close(): Promise<void> {
    this.socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** Sends `k` messages as fast as the socket takes them; resolves when the receiver handled them all. */
function drive(link: Link, p: Pair, k: number, messages: readonly Message[]): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      link.active = p;
      const target = p.receiver.received + k;
      let sent = 0;
      const check = (): void => {
        if (p.receiver.received >= target) resolve();
        else setImmediate(check);
      };
      const pump = (): void => {
        while (sent < k) {
          const ok = p.sender.sendToPeer(PEER, messages[sent & 3] as Message);
          sent++;
          if (!ok) {
            link.socket.once('drain', pump);
            return;
          }
        }
        check();
      };
      pump();
    });
}

export const tcpThroughputSection: Section = {
  name: 'tcp',
  async run(ctx) {
    const sizes = [1024, 16 * 1024];
    const rounds = ctx.rounds ?? (ctx.quick ? 5 : 201);
    const warmupRounds = ctx.quick ? 2 : 5;
    /** `toCompleteRecord` (instrumented rows): the median per-round ratio to the complete-record floor, what recording the schema by hand reaches. */
    const rows: { name: string; rounds: number; bytes: number; msgsPerSec: number; ratio: number; pairedRatio: number; collectMs: number; toCompleteRecord?: number }[] = [];
    const closers: (() => Promise<void>)[] = [];
    try {
      for (const bytes of sizes) {
        // 8 MiB a round (quick: 4), about 15 ms at 1 KiB, and many rounds: this VM's speed drifts, so many
        // short rounds side by side give steadier medians than a few long ones (see docs/performance.md).
        const k = Math.round(((ctx.quick ? 4 : 8) * 1024 * 1024) / bytes);
        const messages = TYPES.map((type) => ({ type, payload: new Uint8Array(bytes).fill(1) }));
        const inst = new P2pInstrumentation({ messageTypes: TYPES });
        const reader = new TestReader({ metricProducers: [inst.createMetricProducer()] });
        const provider = new MeterProvider({ readers: [reader] });
        const link = await Link.open();
        closers.push(
          () => link.close(),
          () => provider.shutdown(),
        );
        const plain = link.pair(() => undefined);
        const control = link.pair(() => undefined);
        const wrapped = link.pair((sender, receiver) => {
          inst.instrumentTransport(sender);
          inst.instrumentTransport(receiver);
        });
        const forwarding = link.pair(forwardingInstrument(false));
        const oneCount = link.pair(forwardingInstrument(true));
        const floor = link.pair(floorInstrument);
        const completeFloor = link.pair(completeFloorInstrument);
        const cases: BenchCase[] = [
          { name: 'plain', phases: [{ name: 'run', run: drive(link, plain, k, messages) }] },
          { name: 'plain (control)', phases: [{ name: 'run', run: drive(link, control, k, messages) }] },
          { name: 'forwarding wrappers', phases: [{ name: 'run', run: drive(link, forwarding, k, messages) }] },
          { name: 'one increment per end', phases: [{ name: 'run', run: drive(link, oneCount, k, messages) }] },
          { name: 'floor (typed arrays)', phases: [{ name: 'run', run: drive(link, floor, k, messages) }] },
          { name: 'floor, complete record', phases: [{ name: 'run', run: drive(link, completeFloor, k, messages) }] },
          {
            name: 'instrumented',
            phases: [
              { name: 'run', run: drive(link, wrapped, k, messages) },
              { name: 'collect', counted: false, run: () => reader.collect() },
            ],
          },
        ];
        ctx.log(`tcp: ${bytes} B messages, ${k} per round, ${warmupRounds} warm-up + ${rounds} rounds`);
        // No full GC before each case's round (the harness default): it made V8 throw away the
        // optimised code of Node's own net and stream functions every round (code depending on
        // objects the GC freed), so every round re-optimised them: more CPU per round, and a far
        // wider spread of the A/A control between processes (docs/performance.md). The cases' garbage is
        // Node's own, alike in every case: the instrumentation allocates nothing per message here.
        const timings = await runInterleaved(cases, { rounds, warmupRounds, gcBetweenCases: false, order: 'shuffle', log: ctx.log });
        const base = withChargedCollection(timings.find((t) => t.name === 'plain')!);
        const baseRate = 1e9 / summarize(base, k).median;
        const completeRecord = timings.find((t) => t.name === 'floor, complete record');
        const recordNs = completeRecord === undefined ? undefined : withChargedCollection(completeRecord);
        for (const t of timings) {
          const charged = withChargedCollection(t);
          const rate = 1e9 / summarize(charged, k).median;
          const collect = t.phases.collect;
          rows.push({
            name: `${t.name} ${bytes} B`,
            rounds: charged.length,
            bytes,
            msgsPerSec: rate,
            ratio: rate / baseRate,
            pairedRatio: median(charged.map((ns, i) => (base[i] as number) / ns)),
            collectMs: collect === undefined ? Number.NaN : median(collect) / 1e6,
            ...(t.name === 'instrumented' && recordNs !== undefined ? { toCompleteRecord: median(charged.map((ns, i) => (recordNs[i] as number) / ns)) } : {}),
          });
        }
      }
    } finally {
      for (const close of closers) await close();
    }
    const table = formatTable(
      [{ header: 'case', align: 'left' }, { header: 'msgs/s (median)' }, { header: 'ratio vs plain (of medians)' }, { header: 'median per-round ratio' }, { header: 'collection ms (median)' }],
      rows.map((r) => [r.name, fmt(r.msgsPerSec), fmt(r.ratio), fmt(r.pairedRatio), Number.isNaN(r.collectMs) ? '' : fmt(r.collectMs)]),
    );
    const caveat = ctx.quick ? ' [--quick]' : '';
    const checks: Check[] = rows
      .filter((r) => r.name.startsWith('instrumented'))
      .map((r) => ({
        label: `TCP ${r.bytes} B: instrumented throughput >= ${TCP_TARGETS.tcpMinThroughputRatio} x plain`,
        pass: r.pairedRatio >= TCP_TARGETS.tcpMinThroughputRatio,
        detail: `per-round ratio ${r.pairedRatio.toFixed(3)}, ratio of medians ${r.ratio.toFixed(3)}; per-round ratio to the complete-record floor ${r.toCompleteRecord?.toFixed(3) ?? 'n/a'}${caveat}`,
      }));
    const text = [
      'A length-framed TCP transport over loopback (sender and receiver in this process), driven at its maximum rate:',
      'sendToPeer frames into a corked socket and returns its backpressure flag; the driver waits for drain when it is',
      'false; a round ends when the receiving handler saw every message. instrumented = instrumentTransport on both ends',
      '(sent: messages, bytes, sizes, latency until the send returned; received: messages, bytes, sizes). It collects',
      'after every round and is charged one collection per second of its traffic (round time + collection time x',
      'round time / 1 s: 15 times the default scrape rate). plain (control) is a second plain pair: its ratio shows the',
      "measurement noise. No GC is forced between cases (it made every round re-optimise Node's net code).",
      'forwarding wrappers = hand-written wrappers on both ends that record nothing; one increment per end = the same,',
      'adding 1 to one typed-array slot per message on each end: what wrapping costs, and what touching any state costs.',
      'floor = hand-written wrappers adding the same per-message counts to typed arrays (no lookups, no hooks): the',
      'least any per-message instrumentation of this transport can cost. floor, complete record = the same by hand for',
      'everything instrumented records per message (per peer and type: size sum, min, max and bucket on both ends, one',
      'send in 64 timed): the least any implementation of the schema can cost here. All cases take turns on one TCP connection:',
      'two connections differ by more than the effect measured.',
      'The check uses the median per-round ratio (rounds run back to back, so machine drift cancels).',
      `Medians of ${rounds} interleaved rounds.`,
      '',
      table,
    ].join('\n');
    return { id: 'tcp', title: 'Throughput cost: length-framed TCP transport over loopback', params: { sizes, rounds, warmupRounds }, results: rows, targets: { ...TCP_TARGETS }, checks, text };
  },
};
