/**
 * What both instrumentations cost a real Iroh application: two echo setups on loopback, built the
 * same way, one plain and one instrumented (IrohInstrumentation on its endpoints, its transport
 * wrapped by P2pInstrumentation, one collection per round, charged once per second of traffic),
 * timed side by side in interleaved rounds. Throughput is echo round trips per second.
 *
 * Pattern: one bi stream per message over an already-open connection (request/response as Iroh
 * RPC protocols do it; QUIC streams are cheap), a 4-byte big-endian length prefix, then the body;
 * each side finishes its half and reads the other's to the end (a stream left unread to its end
 * keeps its stream credit until GC, and the dialer's openBi() then stalls after ~100 streams).
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { IrohInstrumentation } from '@p2p-otel/instrumentation-iroh';
import { P2pInstrumentation } from '@p2p-otel/instrumentation';
import { fmt, formatTable, median, runInterleaved, summarize, withChargedCollection, type BenchCase, type Check, type Phase, type Section } from './harness.js';
import { TestReader } from './hot-path.js';

/** Issue 4 asked for 0.98 of plain, the performance issue for 0.99: the stricter is checked. */
export const IROH_ECHO_TARGETS = { irohEchoMinThroughputRatio: 0.99 } as const;

const MESSAGE_BYTES = 1024;
const MAX_BODY = 64 * 1024;
const ALPN = Array.from(Buffer.from('bench/echo/1'));

// ---- the slice of @number0/iroh 1.x used here (its package names a types file it does not ship) --

interface SendStream {
  writeAll(buf: number[]): Promise<void>;
  finish(): Promise<void>;
}
interface RecvStream {
  readToEnd(limit: number): Promise<number[]>;
}
interface BiStream {
  readonly send: SendStream;
  readonly recv: RecvStream;
}
interface Connection {
  openBi(): Promise<BiStream>;
  acceptBi(): Promise<BiStream>;
  remoteId(): { toString(): string };
  close(code: bigint, reason: number[]): void;
}
interface Endpoint {
  id(): { toString(): string };
  addr(): unknown;
  connect(addr: unknown, alpn: number[]): Promise<Connection>;
  acceptNext(): Promise<{ accept(): Promise<{ connect(): Promise<Connection> }> } | null>;
  close(): Promise<void>;
  isClosed(): boolean;
}
interface EndpointBuilder {
  relayMode(mode: unknown): void;
  bindAddr(addr: string): void;
  alpns(alpns: number[][]): void;
  bind(): Promise<Endpoint>;
}
interface IrohModule {
  Endpoint: { builder(): EndpointBuilder };
  RelayMode: { disabled(): unknown };
  presetMinimal(builder: EndpointBuilder): void;
}

function loadIroh(): IrohModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@number0/iroh') as IrohModule;
}

async function bind(iroh: IrohModule): Promise<Endpoint> {
  const b = iroh.Endpoint.builder();
  iroh.presetMinimal(b);
  b.relayMode(iroh.RelayMode.disabled());
  b.bindAddr('127.0.0.1:0');
  b.alpns([ALPN]);
  return b.bind();
}

// ---- the application: a length-framed echo transport --------------------------------------------

interface EchoMessage {
  readonly type: string;
  readonly payload: Uint8Array;
}

type Handler = (peerId: string, message: EchoMessage) => void;

/** The 4-byte big-endian length prefix followed by the body, as the number[] Iroh's JS API takes. */
function frame(payload: Uint8Array): number[] {
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength);
  out.set(payload, 4);
  return Array.from(out);
}

/**
 * Reads the stream to its end (so Iroh releases it and returns the stream credit at once, not at
 * the next GC) and unframes the one message it carries.
 */
async function readFrame(recv: RecvStream, maxBody: number): Promise<number[]> {
  const data = await recv.readToEnd(4 + maxBody);
  const length = (((data[0] as number) << 24) | ((data[1] as number) << 16) | ((data[2] as number) << 8) | (data[3] as number)) >>> 0;
  if (data.length !== 4 + length) throw new Error(`iroh-echo: frame of ${data.length} bytes announces ${length}`);
  return data.slice(4);
}

/**
 * One node pair as an application writes it: `sendToPeer` opens a bi stream on the connection to
 * the peer, writes one framed message and resolves with the echoed body; the peer's side serves
 * each stream it accepts (hands the message to `onMessage` handlers, echoes it back).
 */
class EchoTransport {
  private readonly handlers: Handler[] = [];
  private readonly peers = new Map<string, Connection>();

  addPeer(peerId: string, connection: Connection): void {
    this.peers.set(peerId, connection);
  }

  async sendToPeer(peerId: string, message: EchoMessage): Promise<number[]> {
    const connection = this.peers.get(peerId);
    if (connection === undefined) throw new Error(`iroh-echo: no connection to ${peerId}`);
    const bi = await connection.openBi();
    const send = bi.send;
    await send.writeAll(frame(message.payload));
    await send.finish();
    const echoed = await readFrame(bi.recv, MAX_BODY);
    if (echoed.length !== message.payload.byteLength) throw new Error(`iroh-echo: echoed ${echoed.length} bytes, sent ${message.payload.byteLength}`);
    return echoed;
  }

  onMessage(handler: Handler): void {
    this.handlers.push(handler);
  }

  /** Serves `connection` (the accepting side) until it closes. */
  serve(connection: Connection): void {
    const peerId = String(connection.remoteId());
    const loop = async (): Promise<void> => {
      for (;;) {
        const bi = await connection.acceptBi();
        void this.echo(peerId, bi).catch(() => undefined);
      }
    };
    loop().catch(() => undefined); // ends with the connection (LocallyClosed)
  }

  private async echo(peerId: string, bi: BiStream): Promise<void> {
    const body = await readFrame(bi.recv, MAX_BODY);
    const message: EchoMessage = { type: 'echo', payload: Uint8Array.from(body) };
    for (const h of this.handlers) h(peerId, message);
    const send = bi.send;
    await send.writeAll(frame(message.payload));
    await send.finish();
  }
}

interface Setup {
  readonly transport: EchoTransport;
  readonly peerId: string;
  readonly connections: Connection[];
  readonly endpoints: Endpoint[];
}

/** Binds a server and a client, dials, and serves the accepted connection; `prepare` runs before the dial. */
async function setUp(iroh: IrohModule, prepare: (server: Endpoint, client: Endpoint, transport: EchoTransport) => void): Promise<Setup> {
  const server = await bind(iroh);
  const client = await bind(iroh);
  const transport = new EchoTransport();
  prepare(server, client, transport);
  transport.onMessage(() => undefined); // the application's handler (registered after instrumenting)
  const accepted = server.acceptNext().then(async (incoming) => {
    if (incoming === null) throw new Error('iroh-echo: server endpoint closed before accepting');
    return (await incoming.accept()).connect();
  });
  const connection = await client.connect(server.addr(), ALPN);
  const serverConnection = await accepted;
  transport.serve(serverConnection);
  const peerId = String(server.id());
  transport.addPeer(peerId, connection);
  return { transport, peerId, connections: [connection, serverConnection], endpoints: [client, server] };
}

/** `k` sequential echoes; pushes the process CPU time they took (all threads, Iroh's included) to `cpuUs`. */
function echoes(setup: Setup, k: number, message: EchoMessage, cpuUs: number[]): Phase {
  return {
    name: 'echo',
    run: async () => {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < k; i++) await setup.transport.sendToPeer(setup.peerId, message);
      const cpu = process.cpuUsage(cpu0);
      cpuUs.push(cpu.user + cpu.system);
    },
  };
}

export const irohEchoSection: Section = {
  name: 'iroh-echo',
  async run(ctx) {
    const k = ctx.quick ? 30 : 200;
    // 151 rounds: with 61 the median per-round ratio still wandered by about ±2 % between runs (0.977-0.992).
    const rounds = ctx.rounds ?? (ctx.quick ? 11 : 151);
    const warmupRounds = ctx.quick ? 2 : 5;
    const iroh = loadIroh();
    const message: EchoMessage = { type: 'echo', payload: new Uint8Array(MESSAGE_BYTES).fill(7) };

    const inst = new P2pInstrumentation({ messageTypes: ['echo'] });
    const reader = new TestReader({ metricProducers: [inst.createMetricProducer()] });
    const provider = new MeterProvider({ readers: [reader] });
    const irohInst = new IrohInstrumentation({ monitor: inst });

    ctx.log('iroh-echo: binding and connecting 2 x 2 endpoints on loopback');
    const plain = await setUp(iroh, () => undefined);
    const control = await setUp(iroh, () => undefined); // a second plain pair: the A/A noise floor
    const instrumented = await setUp(iroh, (server, client, transport) => {
      irohInst.instrumentEndpoint(server);
      irohInst.instrumentEndpoint(client);
      inst.instrumentTransport(transport);
    });
    const cpuUs: Record<string, number[]> = { plain: [], 'plain (control)': [], instrumented: [] };
    try {
      const all: BenchCase[] = [
        { name: 'plain', phases: [echoes(plain, k, message, cpuUs.plain!)] },
        { name: 'plain (control)', phases: [echoes(control, k, message, cpuUs['plain (control)']!)] },
        { name: 'instrumented', phases: [echoes(instrumented, k, message, cpuUs.instrumented!), { name: 'collect', counted: false, run: () => reader.collect() }] },
      ];
      const cases = all.filter((c) => ctx.cases === undefined || ctx.cases.includes(c.name));
      ctx.log(`iroh-echo: ${cases.length} cases, ${k} echoes of ${MESSAGE_BYTES} B per round, ${warmupRounds} warm-up + ${rounds} rounds`);
      // No full GC forced before each case's round (the harness default), as in the TCP section: a
      // full GC every ~40 ms let the maps of the stream objects die between rounds, and V8 then
      // threw away the optimised code that named them ("weak objects") and compiled it again each
      // round, about 100 us of CPU per echo on background threads (session 11, docs/performance.md).
      // An application's full GCs come seconds apart, not every round.
      const timings = await runInterleaved(cases, { rounds, warmupRounds, gcBetweenCases: false, order: 'shuffle', log: ctx.log });
      // Proof the instrumented case recorded (not a silent no-op): the metric names it exported.
      const { resourceMetrics } = await reader.collect();
      const rejected = resourceMetrics.scopeMetrics
        .flatMap((sm) => sm.metrics.filter((m) => m.descriptor.name === 'p2p_monitor_rejected_records'))
        .flatMap((m) => m.dataPoints.filter((d) => d.value !== 0).map((d) => `${JSON.stringify(d.attributes)}=${String(d.value)}`));
      const exported = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics.filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name)).sort();

      const charged = new Map(timings.map((t) => [t.name, withChargedCollection(t)]));
      const results = timings.map((t) => {
        const s = summarize(charged.get(t.name) ?? [], k); // ns per message
        const collect = t.phases.collect;
        const cpu = (cpuUs[t.name] ?? []).slice(warmupRounds); // the echo phase's CPU (collection excluded)
        return {
          name: t.name,
          rounds: t.totals.length,
          cpuUsPerMsg: median(cpu) / k,
          msgsPerSec: 1e9 / s.median,
          p25MsgsPerSec: 1e9 / s.p75,
          p75MsgsPerSec: 1e9 / s.p25,
          collectMs: collect === undefined ? NaN : median(collect) / 1e6,
          ratio: NaN,
          pairedRatio: NaN,
        };
      });
      const base = results.find((r) => r.name === 'plain');
      const plainTotals = charged.get('plain');
      for (const r of results) {
        r.ratio = base === undefined ? NaN : r.msgsPerSec / base.msgsPerSec;
        // Round i of every case ran back to back (interleaved), so per-round ratios cancel the drift
        // of the machine that medians taken apart keep.
        const totals = charged.get(r.name) ?? [];
        r.pairedRatio = plainTotals === undefined ? NaN : median(totals.map((ns, i) => (plainTotals[i] as number) / ns));
      }
      const table = formatTable(
        [
          { header: 'case', align: 'left' },
          { header: 'msgs/s (median)' },
          { header: 'p25..p75 msgs/s' },
          { header: 'ratio vs plain (of medians)' },
          { header: 'median per-round ratio' },
          { header: 'CPU us/msg (echo phase, all threads)' },
          { header: 'collection ms (median)' },
        ],
        results.map((r) => [
          r.name,
          fmt(r.msgsPerSec),
          `${fmt(r.p25MsgsPerSec)}..${fmt(r.p75MsgsPerSec)}`,
          fmt(r.ratio),
          fmt(r.pairedRatio),
          fmt(r.cpuUsPerMsg),
          Number.isNaN(r.collectMs) ? '' : fmt(r.collectMs),
        ]),
      );
      const ours = results.find((r) => r.name === 'instrumented');
      const checks: Check[] =
        ours === undefined || base === undefined
          ? []
          : [
              {
                label: `instrumented echo throughput >= ${IROH_ECHO_TARGETS.irohEchoMinThroughputRatio} x plain`,
                pass: ours.pairedRatio >= IROH_ECHO_TARGETS.irohEchoMinThroughputRatio,
                detail: `median per-round ratio ${ours.pairedRatio.toFixed(3)} (ratio of medians ${ours.ratio.toFixed(3)}: ${fmt(ours.msgsPerSec)} vs ${fmt(base.msgsPerSec)} msgs/s)${ctx.quick ? ' [--quick]' : ''}`,
              },
            ];
      const text = [
        `Echo of ${MESSAGE_BYTES}-byte length-framed messages between two @number0/iroh endpoints on loopback (no relay),`,
        `one bi stream per message over an already-open connection, ${k} sequential round trips per round.`,
        `instrumented = IrohInstrumentation.instrumentEndpoint on both endpoints + P2pInstrumentation.instrumentTransport`,
        `on the transport (send latency, receive handler), one MetricReader.collect() per round (it also samples the`,
        `connections' stats), charged once per second of traffic (round time + collection time x round time / 1 s, as in`,
        `the TCP section). Medians of ${rounds} interleaved rounds, in a shuffled order, no GC forced between cases (a forced full GC`,
        `per round made V8 recompile the code naming the stream objects' maps every round). plain (control) is a second plain pair: its ratios`,
        'show the measurement noise (each pair has its own sockets and Iroh tasks). The check uses the median per-round ratio:',
        'the cases of a round run back to back, so the drift of the machine between rounds cancels.',
        `Note: instrumentEndpoint patches the Connection/stream prototypes Iroh shares, so the plain setup's calls go`,
        `through the wrappers too (as untracked objects); its endpoints and transport are not wrapped.`,
        `Instrumented setup exported ${exported.length} metrics with data: ${exported.join(', ')}.`,
        `Records the monitor rejected: ${rejected.length === 0 ? 'none' : rejected.join(', ')}.`,
        '',
        table,
      ].join('\n');
      return {
        id: 'irohEcho',
        title: 'Iroh echo throughput: instrumented vs plain',
        params: { messagesPerRound: k, messageBytes: MESSAGE_BYTES, pattern: 'one bi stream per message', rounds, warmupRounds, exportedMetrics: exported },
        results,
        targets: { ...IROH_ECHO_TARGETS },
        checks,
        text,
      };
    } finally {
      for (const c of [...plain.connections, ...control.connections, ...instrumented.connections]) c.close(0n, []);
      await Promise.allSettled([...plain.endpoints, ...control.endpoints, ...instrumented.endpoints].map((e) => (e.isClosed() ? undefined : e.close())));
      inst.uninstrumentAll();
      irohInst.disable();
      await provider.shutdown();
    }
  },
};
