/**
 * Throughput cost end to end on a fast transport: a length-framed TCP transport over loopback,
 * driven at its maximum rate, plain and wrapped by P2pInstrumentation.instrumentTransport (sent
 * side: the send method; received side: the message handler), side by side in interleaved rounds.
 *
 * The transport is written as a fast Node transport is: `sendToPeer` frames the message into the
 * socket (corked, flushed once per tick) and returns socket.write's backpressure flag; the driver
 * sends while it is true and waits for 'drain' when it is false. A round ends when the receiving
 * side has handled every message of the round.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { P2pInstrumentation } from '../src/index.js';
import { fmt, formatTable, median, runInterleaved, summarize, type BenchCase, type Check, type Section } from './harness.js';
import { TestReader } from './hot-path.js';

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

  /** The receiving side: parses frames off `socket` and hands each message to the handlers. */
  serve(socket: Socket, peerId: string): void {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (buf.length - off >= 5) {
        const len = buf.readUInt32BE(off);
        if (buf.length - off < 5 + len) break;
        const message: Message = { type: TYPES[buf[off + 4] as number] as string, payload: buf.subarray(off + 5, off + 5 + len) };
        off += 5 + len;
        for (const h of this.handlers) h(peerId, message);
      }
      buf = buf.subarray(off);
      pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    });
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

interface Pair {
  readonly sender: TcpTransport;
  readonly receiver: TcpTransport;
  readonly close: () => Promise<void>;
}

async function pair(prepare: (sender: TcpTransport, receiver: TcpTransport) => void): Promise<Pair> {
  const sender = new TcpTransport();
  const receiver = new TcpTransport();
  prepare(sender, receiver);
  receiver.onMessage(() => void receiver.received++); // the application's handler
  const server: Server = createServer((s) => receiver.serve(s, PEER));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp-throughput: no port');
  const socket = connect(address.port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  sender.attach(socket);
  return {
    sender,
    receiver,
    close: async () => {
      socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Sends `k` messages as fast as the socket takes them; resolves when the receiver handled them all. */
function drive(p: Pair, k: number, messages: readonly Message[]): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
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
            p.sender['socket']!.once('drain', pump);
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
    const rounds = ctx.rounds ?? (ctx.quick ? 5 : 31);
    const warmupRounds = ctx.quick ? 2 : 5;
    const rows: { name: string; rounds: number; bytes: number; msgsPerSec: number; ratio: number; pairedRatio: number }[] = [];
    const closers: (() => Promise<void>)[] = [];
    try {
      for (const bytes of sizes) {
        const k = Math.round(((ctx.quick ? 4 : 32) * (64 * 1024 * 1024)) / (bytes * 64)); // ~32 MiB a round (quick: 4)
        const messages = TYPES.map((type) => ({ type, payload: new Uint8Array(bytes).fill(1) }));
        const inst = new P2pInstrumentation({ messageTypes: TYPES });
        const reader = new TestReader({ metricProducers: [inst.createMetricProducer()] });
        const provider = new MeterProvider({ readers: [reader] });
        const plain = await pair(() => undefined);
        const control = await pair(() => undefined);
        const wrapped = await pair((sender, receiver) => {
          inst.instrumentTransport(sender);
          inst.instrumentTransport(receiver);
        });
        closers.push(plain.close, control.close, wrapped.close, () => provider.shutdown());
        const cases: BenchCase[] = [
          { name: 'plain', phases: [{ name: 'run', run: drive(plain, k, messages) }] },
          { name: 'plain (control)', phases: [{ name: 'run', run: drive(control, k, messages) }] },
          {
            name: 'instrumented',
            phases: [
              { name: 'run', run: drive(wrapped, k, messages) },
              { name: 'collect', run: () => reader.collect() },
            ],
          },
        ];
        ctx.log(`tcp: ${bytes} B messages, ${k} per round, ${warmupRounds} warm-up + ${rounds} rounds`);
        const timings = await runInterleaved(cases, { rounds, warmupRounds, log: ctx.log });
        const base = timings.find((t) => t.name === 'plain')!;
        const baseRate = 1e9 / summarize(base.totals, k).median;
        for (const t of timings) {
          const rate = 1e9 / summarize(t.totals, k).median;
          rows.push({
            name: `${t.name} ${bytes} B`,
            rounds: t.totals.length,
            bytes,
            msgsPerSec: rate,
            ratio: rate / baseRate,
            pairedRatio: median(t.totals.map((ns, i) => (base.totals[i] as number) / ns)),
          });
        }
      }
    } finally {
      for (const close of closers) await close();
    }
    const table = formatTable(
      [{ header: 'case', align: 'left' }, { header: 'msgs/s (median)' }, { header: 'ratio vs plain (of medians)' }, { header: 'median per-round ratio' }],
      rows.map((r) => [r.name, fmt(r.msgsPerSec), fmt(r.ratio), fmt(r.pairedRatio)]),
    );
    const caveat = ctx.quick ? ' [--quick]' : '';
    const checks: Check[] = rows
      .filter((r) => r.name.startsWith('instrumented'))
      .map((r) => ({
        label: `TCP ${r.bytes} B: instrumented throughput >= ${TCP_TARGETS.tcpMinThroughputRatio} x plain`,
        pass: r.pairedRatio >= TCP_TARGETS.tcpMinThroughputRatio,
        detail: `per-round ratio ${fmt(r.pairedRatio)}, ratio of medians ${fmt(r.ratio)}${caveat}`,
      }));
    const text = [
      'A length-framed TCP transport over loopback (sender and receiver in this process), driven at its maximum rate:',
      'sendToPeer frames into a corked socket and returns its backpressure flag; the driver waits for drain when it is',
      'false; a round ends when the receiving handler saw every message. instrumented = instrumentTransport on both ends',
      '(sent: messages, bytes, sizes, latency until the send returned; received: messages, bytes, sizes), plus one',
      'collection per round (counted). plain (control) is a second plain pair: its ratio shows the measurement noise.',
      'The check uses the median per-round ratio (rounds run back to back, so machine drift cancels).',
      `Medians of ${rounds} interleaved rounds.`,
      '',
      table,
    ].join('\n');
    return { id: 'tcp', title: 'Throughput cost: length-framed TCP transport over loopback', params: { sizes, rounds, warmupRounds }, results: rows, targets: { ...TCP_TARGETS }, checks, text };
  },
};
