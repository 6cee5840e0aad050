/**
 * Hot path: the cost of recording one message, collection included.
 *
 * One message = messages counter + bytes counter + size histogram + latency histogram, with
 * attributes peer_id and message_type, 100 peers × 4 message types. A round records M messages
 * (M = 10,000: a 15 s scrape interval at about 700 messages/s), then collects once; the headline
 * is (record time + collect time) / M, the median over interleaved rounds.
 */
import type { Attributes, Counter as OtelCounter, Histogram as OtelHistogram } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Counter as PromCounter, Histogram as PromHistogram, Registry } from 'prom-client';
import { LATENCY_MS_BUCKETS, OtelP2pMonitor, SIZE_BYTES_BUCKETS } from '@p2p-otel/instrumentation';
import { blackhole, fmt, fmtRatio, formatTable, runInterleaved, summarize, type BenchCase, type Check, type ResultRow, type Section, type SectionContext, type SectionReport } from './harness.js';

export const HOT_PATH_TARGETS = { hotPathNs: 200, withinFloorX: 6 } as const;

export interface HotPathParams {
  quick: boolean;
  peers: number;
  messageTypes: readonly string[];
  /** M: messages recorded per collection. */
  messagesPerCollection: number;
  rounds: number;
  warmupRounds: number;
  seed: number;
}

const MESSAGE_TYPES = ['gossip', 'rpc_request', 'rpc_response', 'blob_chunk'] as const;

export function hotPathParams(ctx: Pick<SectionContext, 'quick' | 'rounds'>): HotPathParams {
  return {
    quick: ctx.quick,
    peers: 100,
    messageTypes: MESSAGE_TYPES,
    messagesPerCollection: ctx.quick ? 2_000 : 10_000,
    rounds: ctx.rounds ?? (ctx.quick ? 5 : 21),
    warmupRounds: ctx.quick ? 2 : 5,
    seed: 0x5eed,
  };
}

// ---- inputs -------------------------------------------------------------------------------------

/** Everything a round needs, precomputed so that input generation is not measured. */
export interface HotPathInputs {
  readonly m: number;
  /** Iroh-style node ids: 64 hex characters (an ed25519 public key). */
  readonly peerIds: readonly string[];
  /** The label ours exports for each peer (default `short` mode: first 10 characters). */
  readonly peerLabels: readonly string[];
  readonly types: readonly string[];
  /** Per message. */
  readonly peerIdOf: readonly string[];
  readonly typeOf: readonly string[];
  readonly peerIndex: Uint16Array;
  /** peerIndex × types + type index: the (peer_id, message_type) series of the message. */
  readonly cell: Uint16Array;
  readonly size: Float64Array;
  readonly latency: Float64Array;
}

/** xorshift32: deterministic inputs, the same for every approach and every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Log-uniform in [lo, hi]: spans the histogram buckets the way real sizes and latencies do. */
function logUniform(r: number, lo: number, hi: number): number {
  return lo * Math.exp(r * Math.log(hi / lo));
}

export function makeInputs(p: HotPathParams): HotPathInputs {
  const rand = rng(p.seed);
  const peerIds: string[] = [];
  const seen = new Set<string>();
  while (peerIds.length < p.peers) {
    let id = '';
    for (let i = 0; i < 8; i++)
      id += Math.floor(rand() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    if (!seen.has(id.slice(0, 10))) {
      seen.add(id.slice(0, 10));
      peerIds.push(id);
    }
  }
  const types = [...p.messageTypes];
  const m = p.messagesPerCollection;
  const peerIdOf: string[] = new Array<string>(m);
  const typeOf: string[] = new Array<string>(m);
  const peerIndex = new Uint16Array(m);
  const cell = new Uint16Array(m);
  const size = new Float64Array(m);
  const latency = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    // Cycle through every peer, and through every type per peer across cycles (all 400 series).
    const peer = i % p.peers;
    const type = (peer + Math.floor(i / p.peers)) % types.length;
    peerIdOf[i] = peerIds[peer] as string;
    typeOf[i] = types[type] as string;
    peerIndex[i] = peer;
    cell[i] = peer * types.length + type;
    size[i] = Math.round(logUniform(rand(), 32, 256 * 1024));
    latency[i] = logUniform(rand(), 0.05, 2_000);
  }
  return { m, peerIds, peerLabels: peerIds.map((id) => id.slice(0, 10)), types, peerIdOf, typeOf, peerIndex, cell, size, latency };
}

// ---- the approaches -----------------------------------------------------------------------------

/** A MetricReader that only collects on demand: what a pull exporter does on each scrape. */
export class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Approach {
  readonly name: string;
  readonly what: string;
  /** Records inputs.m messages. */
  record(): void;
  /** One collection, counted in the headline figure. */
  collect(): unknown;
  /** Extra collection variants, timed but not counted (name → run). */
  readonly extra?: Readonly<Record<string, () => unknown>>;
}

/** OtelP2pMonitor: typed-array cells, exported by its MetricProducer through a real MeterProvider reader. */
function ours(inp: HotPathInputs): Approach {
  const monitor = new OtelP2pMonitor({ messageTypes: inp.types });
  const producer = monitor.createMetricProducer();
  const reader = new TestReader({ metricProducers: [producer] });
  new MeterProvider({ readers: [reader] });
  const { m, peerIdOf, typeOf, size, latency } = inp;
  return {
    name: 'ours',
    what: "OtelP2pMonitor.recordMessage(peerId, type, size, latencyMs) (its bytes counter has peer_id only, per the schema); collect = MetricReader.collect() with the monitor's producer",
    record() {
      for (let i = 0; i < m; i++) monitor.recordMessage(peerIdOf[i] as string, typeOf[i] as string, size[i] as number, latency[i] as number);
    },
    collect: () => reader.collect().then((r) => (blackhole.value = r)),
    extra: { 'producer.collectSync()': () => (blackhole.value = producer.collectSync()) },
  };
}

/** Plain SDK instruments with precomputed attribute objects (one per series, never mutated). */
function otelSdk(inp: HotPathInputs): Approach {
  const reader = new TestReader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('bench-hot-path');
  const messages: OtelCounter = meter.createCounter('p2p_messages_sent', { unit: '{message}' });
  const bytes: OtelCounter = meter.createCounter('p2p_bytes_sent', { unit: 'By' });
  const sizes: OtelHistogram = meter.createHistogram('p2p_message_size', {
    unit: 'By',
    advice: { explicitBucketBoundaries: [...SIZE_BYTES_BUCKETS] },
  });
  const latencies: OtelHistogram = meter.createHistogram('p2p_message_latency', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [...LATENCY_MS_BUCKETS] },
  });
  const attrs: Attributes[] = [];
  inp.peerLabels.forEach((peer) => inp.types.forEach((type) => attrs.push({ peer_id: peer, message_type: type })));
  const { m, cell, size, latency } = inp;
  return {
    name: 'otel-sdk',
    what: 'sdk-metrics 2.12 Counter.add x2 + Histogram.record x2, attributes {peer_id, message_type} precomputed per series; collect = MetricReader.collect()',
    record() {
      for (let i = 0; i < m; i++) {
        const a = attrs[cell[i] as number] as Attributes;
        const s = size[i] as number;
        messages.add(1, a);
        bytes.add(s, a);
        sizes.record(s, a);
        latencies.record(latency[i] as number, a);
      }
    },
    collect: () => reader.collect().then((r) => (blackhole.value = r)),
  };
}

/**
 * prom-client on its own Registry, label objects precomputed per series and passed to
 * `inc(labels, v)` / `observe(labels, v)`. Measured here against precomputed `.labels(peer, type)`
 * children: children were about 6% slower (prom-client 15 still hashes the labels on every call
 * through a child, and a histogram child copies them), so the direct form is the fast idiom.
 */
function promClient(inp: HotPathInputs): Approach {
  const registry = new Registry();
  const labelNames = ['peer_id', 'message_type'] as const;
  const messages = new PromCounter({ name: 'p2p_messages_sent_total', help: 'messages', labelNames, registers: [registry] });
  const bytes = new PromCounter({ name: 'p2p_bytes_sent_total', help: 'bytes', labelNames, registers: [registry] });
  const sizes = new PromHistogram({ name: 'p2p_message_size_bytes', help: 'size', labelNames, buckets: [...SIZE_BYTES_BUCKETS], registers: [registry] });
  const latencies = new PromHistogram({ name: 'p2p_message_latency_milliseconds', help: 'latency', labelNames, buckets: [...LATENCY_MS_BUCKETS], registers: [registry] });
  type Labels = { peer_id: string; message_type: string };
  const labels: Labels[] = [];
  inp.peerLabels.forEach((peer) => inp.types.forEach((type) => labels.push({ peer_id: peer, message_type: type })));
  const { m, cell, size, latency } = inp;
  return {
    name: 'prom-client',
    what: 'prom-client 15 Counter.inc x2 + Histogram.observe x2 with label objects {peer_id, message_type} precomputed per series; collect = Registry.getMetricsAsJSON()',
    record() {
      for (let i = 0; i < m; i++) {
        const l = labels[cell[i] as number] as Labels;
        const s = size[i] as number;
        messages.inc(l, 1);
        bytes.inc(l, s);
        sizes.observe(l, s);
        latencies.observe(l, latency[i] as number);
      }
    },
    collect: () => registry.getMetricsAsJSON().then((r) => (blackhole.value = r)),
    extra: { 'registry.metrics() text': () => registry.metrics().then((r) => (blackhole.value = r)) },
  };
}

/** Bare typed arrays indexed by precomputed series numbers: the floor no recorder can beat. */
/** The floor's bucket: index of the first boundary >= v (upper-inclusive), by binary search. */
export function bucketOf(b: Float64Array, v: number): number {
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((b[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function floor(inp: HotPathInputs): Approach {
  const series = inp.peerIds.length * inp.types.length;
  const sizeBounds = Float64Array.from(SIZE_BYTES_BUCKETS);
  const latencyBounds = Float64Array.from(LATENCY_MS_BUCKETS);
  const sizeBuckets = sizeBounds.length + 1;
  const latencyBuckets = latencyBounds.length + 1;
  const messages = new Float64Array(series);
  const bytes = new Float64Array(series);
  const sizeCounts = new Float64Array(series * sizeBuckets);
  const sizeSum = new Float64Array(series);
  const latencyCounts = new Float64Array(series * latencyBuckets);
  const latencySum = new Float64Array(series);
  const { m, cell, size, latency } = inp;
  return {
    name: 'floor',
    what: 'Float64Array slots at precomputed series indexes, binary bucket search; collect = one read pass over the arrays',
    record() {
      for (let i = 0; i < m; i++) {
        const c = cell[i] as number;
        const s = size[i] as number;
        const l = latency[i] as number;
        messages[c] = (messages[c] as number) + 1;
        bytes[c] = (bytes[c] as number) + s;
        const sb = c * sizeBuckets + bucketOf(sizeBounds, s);
        sizeCounts[sb] = (sizeCounts[sb] as number) + 1;
        sizeSum[c] = (sizeSum[c] as number) + s;
        const lb = c * latencyBuckets + bucketOf(latencyBounds, l);
        latencyCounts[lb] = (latencyCounts[lb] as number) + 1;
        latencySum[c] = (latencySum[c] as number) + l;
      }
    },
    collect() {
      let acc = 0;
      for (const a of [messages, bytes, sizeCounts, sizeSum, latencyCounts, latencySum]) {
        for (let i = 0; i < a.length; i++) acc += a[i] as number;
      }
      blackhole.sum = acc;
    },
  };
}

export const APPROACHES: readonly ((inp: HotPathInputs) => Approach)[] = [ours, otelSdk, promClient, floor];

// ---- the section ----------------------------------------------------------------------------------

export interface HotPathRow extends ResultRow {
  readonly what: string;
  /** Headline: median over rounds of (record + collect) / M. */
  readonly nsPerMessage: number;
  readonly recordNsPerMessage: number;
  readonly collectNsPerMessage: number;
  readonly collectUsMedian: number;
  readonly nsPerMessageP25: number;
  readonly nsPerMessageP75: number;
  readonly nsPerMessageMin: number;
  readonly nsPerMessageMax: number;
  readonly ratioVsOurs: number;
  readonly ratioVsFloor: number;
  /** Uncounted collection variants: median µs per collection. */
  readonly extraCollectUs: Record<string, number>;
}

export const hotPathSection: Section = {
  name: 'hot-path',
  async run(ctx: SectionContext): Promise<SectionReport> {
    const params = hotPathParams(ctx);
    const inputs = makeInputs(params);
    const approaches = APPROACHES.map((make) => make(inputs)).filter((a) => ctx.cases === undefined || ctx.cases.includes(a.name));
    if (approaches.length === 0) throw new Error(`bench hot-path: no case matches --cases ${ctx.cases?.join(',')}`);
    const cases: BenchCase[] = approaches.map((a) => ({
      name: a.name,
      phases: [{ name: 'record', run: () => a.record() }, { name: 'collect', run: () => a.collect() }, ...Object.entries(a.extra ?? {}).map(([name, run]) => ({ name, run, counted: false }))],
    }));
    const m = params.messagesPerCollection;
    ctx.log(`hot-path: ${approaches.map((a) => a.name).join(', ')}; M=${m}, ${params.warmupRounds} warm-up + ${params.rounds} rounds`);
    const timings = await runInterleaved(cases, { rounds: params.rounds, warmupRounds: params.warmupRounds, log: ctx.log });

    const base = timings.map((t, i) => {
      const total = summarize(t.totals, m);
      const extra: Record<string, number> = {};
      for (const name of Object.keys(approaches[i]?.extra ?? {})) extra[name] = summarize(t.phases[name] ?? [], 1_000).median;
      return {
        name: t.name,
        rounds: t.totals.length,
        what: approaches[i]?.what ?? '',
        nsPerMessage: total.median,
        recordNsPerMessage: summarize(t.phases.record ?? [], m).median,
        collectNsPerMessage: summarize(t.phases.collect ?? [], m).median,
        collectUsMedian: summarize(t.phases.collect ?? [], 1_000).median,
        nsPerMessageP25: total.p25,
        nsPerMessageP75: total.p75,
        nsPerMessageMin: total.min,
        nsPerMessageMax: total.max,
        extraCollectUs: extra,
      };
    });
    const oursNs = base.find((r) => r.name === 'ours')?.nsPerMessage ?? NaN;
    const floorNs = base.find((r) => r.name === 'floor')?.nsPerMessage ?? NaN;
    const results: HotPathRow[] = base.map((r) => ({ ...r, ratioVsOurs: r.nsPerMessage / oursNs, ratioVsFloor: r.nsPerMessage / floorNs }));

    const table = formatTable(
      [
        { header: 'approach', align: 'left' },
        { header: 'ns/msg incl. collection (median)' },
        { header: 'p25-p75' },
        { header: 'record-only ns/msg' },
        { header: 'collect µs' },
        { header: 'ratio vs ours' },
        { header: 'ratio vs floor' },
      ],
      results.map((r) => [
        r.name,
        fmt(r.nsPerMessage),
        `${fmt(r.nsPerMessageP25)}-${fmt(r.nsPerMessageP75)}`,
        fmt(r.recordNsPerMessage),
        fmt(r.collectUsMedian),
        fmtRatio(r.ratioVsOurs),
        fmtRatio(r.ratioVsFloor),
      ]),
    );
    const extras = results.flatMap((r) => Object.entries(r.extraCollectUs).map(([k, us]) => `  ${r.name}: ${k} ${fmt(us)} µs per collection (not counted)`));
    const text = [
      `Recording one message: messages + bytes counters, size + latency histograms; attributes peer_id, message_type;`,
      `${params.peers} peers x ${params.messageTypes.length} message types; M = ${m.toLocaleString('en-US')} messages per collection` +
        ` (${m === 10_000 ? 'a 15 s scrape at ~700 msgs/s' : 'quick mode'}); medians of ${params.rounds} interleaved rounds after ${params.warmupRounds} warm-up.`,
      '',
      table,
      '',
      'Approaches:',
      ...results.map((r) => `  ${r.name}: ${r.what}`),
      ...(extras.length > 0 ? ['Other collection variants:', ...extras] : []),
      'Inputs: sizes log-uniform 32 B-256 KiB, latencies log-uniform 0.05-2,000 ms (seeded), so bucket searches branch',
      'unpredictably, as with real traffic; with a short repeating input the floor drops to about half.',
    ].join('\n');

    const checks: Check[] = [];
    const caveat = params.quick ? ` [--quick: M=${m.toLocaleString('en-US')}, ${params.rounds} rounds; targets apply to full runs]` : '';
    const oursRow = results.find((r) => r.name === 'ours');
    if (oursRow !== undefined) {
      checks.push({
        label: `ours <= ${HOT_PATH_TARGETS.hotPathNs} ns/msg median (incl. collection)`,
        pass: oursRow.nsPerMessage <= HOT_PATH_TARGETS.hotPathNs,
        detail: `${fmt(oursRow.nsPerMessage)} ns (record-only ${fmt(oursRow.recordNsPerMessage)} ns)${caveat}`,
      });
      if (Number.isFinite(floorNs)) {
        const recordFloor = results.find((r) => r.name === 'floor')?.recordNsPerMessage ?? NaN;
        checks.push({
          label: `ours within ${HOT_PATH_TARGETS.withinFloorX}x floor (incl. collection)`,
          pass: oursRow.ratioVsFloor <= HOT_PATH_TARGETS.withinFloorX,
          detail: `${fmtRatio(oursRow.ratioVsFloor)} (record-only ${fmtRatio(oursRow.recordNsPerMessage / recordFloor)})${caveat}`,
        });
      }
    }
    return { id: 'hotPath', title: 'Hot path: one message recorded, collection included', params: { ...params }, results, targets: { ...HOT_PATH_TARGETS }, checks, text };
  },
};
