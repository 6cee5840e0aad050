/**
 * Memory: heap per tracked peer (every per-peer metric of the schema populated), and heap and
 * exported series after a churn of distinct peer ids that connect, talk and go, through our fast
 * path and the plain SDK instruments path, each against a baseline measured in the same run.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { OtelP2pMonitor, type P2pMonitor, type P2pMonitorConfig } from '@p2p-otel/instrumentation';
import { fmt, formatTable, fullGc, type Check, type Section } from './harness.js';
import { TestReader } from './hot-path.js';
import { populate } from './collection-cost.js';

export const MEMORY_TARGETS = { churnMaxHeapGrowthMb: 50 } as const;

const TYPES = ['raft', 'gossip', 'sync', 'ping'] as const;
const DEFAULT_MAX_PEERS = 256;

function heapUsed(): number {
  const gc = fullGc();
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** One peer's life: dialled, connected, talks, fails once, disconnects, is lost. No string kept. */
function churn(m: P2pMonitor, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const peer = `${i.toString(16).padStart(12, '0')}${'c'.repeat(52)}`;
    m.recordConnectionAttempt(peer, 'success');
    m.recordConnectionStateChange(peer, 'disconnected', 'connecting');
    m.recordConnectionStateChange(peer, 'connecting', 'connected');
    m.recordHandshake(peer, 2 + (i % 50));
    m.recordMessage(peer, TYPES[i & 3] as string, 100 + (i % 4096), 1 + (i % 30));
    m.recordMessage(peer, TYPES[(i + 1) & 3] as string, 64, undefined, 'inbound');
    m.recordRtt(peer, 1 + (i % 20));
    m.recordError(peer, 'reset');
    m.recordQuicStreamOpened(peer, 'outbound');
    m.recordQuicStreamClosed(peer, 'outbound');
    m.recordPeerDiscovered(peer, 'dns');
    m.recordPeerLost(peer);
    m.recordConnectionStateChange(peer, 'connected', 'disconnected');
    m.recordConnectionDuration(peer, i % 600);
  }
}

type Path = 'ours' | 'plain SDK';

function setUp(path: Path, config: P2pMonitorConfig): { monitor: OtelP2pMonitor; reader: TestReader; provider: MeterProvider } {
  const monitor = new OtelP2pMonitor(config);
  const reader = path === 'ours' ? new TestReader({ metricProducers: [monitor.createMetricProducer()] }) : new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  if (path === 'plain SDK') monitor.setMeterProvider(provider);
  return { monitor, reader, provider };
}

async function seriesOf(reader: TestReader): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let n = 0;
  for (const sm of resourceMetrics.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export const memorySection: Section = {
  name: 'memory',
  async run(ctx) {
    const tracked = ctx.quick ? 1_000 : 10_000;
    const churned = ctx.quick ? 100_000 : 1_000_000;
    const batch = 50_000;
    const rows: { name: string; rounds: number; path: Path; bytesPerTrackedPeer: number; churnedPeers: number; churnHeapGrowthMb: number; seriesAfterChurn: number; seriesCap: number }[] = [];
    for (const path of ['ours', 'plain SDK'] as const) {
      // Heap per tracked peer: a budget that fits every peer, each with the whole per-peer schema.
      const ids = Array.from({ length: tracked }, (_, i) => i.toString(16).padStart(10, '0').padEnd(64, 'a'));
      const before = heapUsed();
      const t = setUp(path, { messageTypes: ['ping', 'gossip', 'sync', 'block'], resourceTypes: ['blob'], protocolVersions: ['p2p/1'], localPeerId: 'f'.repeat(64), peerId: { maxPeers: tracked } });
      populate(t.monitor, ids);
      await t.reader.collect();
      const perPeer = (heapUsed() - before) / tracked;
      await t.provider.shutdown();

      // Churn: distinct ids connecting and going under the default budget; the baseline is the same
      // monitor once its label budget is spent (every structure exists), measured in this run.
      ctx.log(`memory: ${path}, churn of ${fmt(churned)} peers`);
      const c = setUp(path, { messageTypes: TYPES });
      churn(c.monitor, 0, 1_000);
      await c.reader.collect();
      const baseline = heapUsed();
      for (let i = 1_000; i < churned; i += batch) {
        churn(c.monitor, i, Math.min(churned, i + batch));
        await c.reader.collect(); // a scrape per batch, as a live process would have
      }
      const growth = (heapUsed() - baseline) / 1048576;
      const series = await seriesOf(c.reader);
      // The cap: series of every metric when each peer label (budget + `other`) holds every label set the churn uses.
      const cap = capOf(c.monitor, DEFAULT_MAX_PEERS);
      await c.provider.shutdown();
      rows.push({ name: path, rounds: 1, path, bytesPerTrackedPeer: perPeer, churnedPeers: churned, churnHeapGrowthMb: growth, seriesAfterChurn: series, seriesCap: cap });
    }
    const table = formatTable(
      [
        { header: 'path', align: 'left' },
        { header: `heap per tracked peer (B, ${fmt(tracked)} peers)` },
        { header: `heap growth after ${fmt(churned)} churned peers (MB)` },
        { header: 'exported series after churn' },
        { header: 'series cap' },
      ],
      rows.map((r) => [r.path, fmt(r.bytesPerTrackedPeer), fmt(r.churnHeapGrowthMb), fmt(r.seriesAfterChurn), fmt(r.seriesCap)]),
    );
    const caveat = ctx.quick ? ' [--quick]' : '';
    const checks: Check[] = rows.flatMap((r) => [
      { label: `${r.path}: series after churn <= cap`, pass: r.seriesAfterChurn <= r.seriesCap, detail: `${fmt(r.seriesAfterChurn)} <= ${fmt(r.seriesCap)}${caveat}` },
      {
        label: `${r.path}: heap within ${MEMORY_TARGETS.churnMaxHeapGrowthMb} MB of the baseline after the churn`,
        pass: r.churnHeapGrowthMb <= MEMORY_TARGETS.churnMaxHeapGrowthMb,
        detail: `${fmt(r.churnHeapGrowthMb)} MB${caveat}`,
      },
    ]);
    const text = [
      `Heap per tracked peer: heapUsed after two full GCs, before and after populating every per-peer metric for ${fmt(tracked)} peers`,
      `(budget = peers), divided by the peers. Churn: ${fmt(churned)} distinct 64-character ids each connect, talk, fail once and go,`,
      `under the default label budget (${DEFAULT_MAX_PEERS}), a collection every ${fmt(batch)} peers; growth is against the same monitor after its first`,
      '1,000 peers (budget spent, every structure built). The series cap is the most data points the schema allows:',
      `per metric, ${DEFAULT_MAX_PEERS} + 1 peer labels (budget + "other") x every combination of its other labels.`,
      '',
      table,
    ].join('\n');
    return {
      id: 'memory',
      title: 'Memory: per tracked peer, and under churn of distinct peer ids',
      params: { trackedPeers: tracked, churnedPeers: churned, defaultMaxPeers: DEFAULT_MAX_PEERS },
      results: rows,
      targets: { ...MEMORY_TARGETS },
      checks,
      text,
    };
  },
};

/**
 * The most data points the monitor may export whatever the churn: per metric, (label budget +
 * `other`, for per-peer metrics) x every combination of its other labels. Independent of what was
 * recorded (the cardinality test's bound).
 */
function capOf(monitor: OtelP2pMonitor, maxPeers: number): number {
  let cap = 0;
  for (const s of monitor.store.list) cap += (s.peerLabel >= 0 ? maxPeers + 1 : 1) * s.cells.stride;
  return cap;
}
