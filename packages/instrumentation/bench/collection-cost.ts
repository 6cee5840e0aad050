/**
 * What one Prometheus scrape costs with the whole schema populated for P peers, side by side:
 * - ours: what @p2p-otel/sdk's endpoint does (scrapeBody): MetricReader.collect() of the other SDK
 *   metrics (none here) serialised by the exporter's PrometheusSerializer (target_info), then the
 *   monitor's text from its PrometheusTextWriter, in slices, the whole body produced;
 * - plain SDK: the same monitor on its standard-instrument path (SDK instruments), collected and
 *   serialised by the exporter's PrometheusSerializer.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { scrapeBody, type OwnMetrics } from '@p2p-otel/sdk/internal/exporters/coalescing-scrapes.js';
import { OtelP2pMonitor, type P2pMonitor, type P2pMonitorConfig } from '@p2p-otel/instrumentation';
import { blackhole, fmt, formatTable, runInterleaved, summarize, type BenchCase, type Check, type Section } from './harness.js';
import { TestReader } from './hot-path.js';

export const COLLECTION_TARGETS = { collectionMaxMsAt1000Peers: 50, collectionMaxGrowthOverLinear: 1.25 } as const;

const MESSAGE_TYPES = ['ping', 'gossip', 'sync', 'block'] as const;
const RESOURCE_TYPES = ['blob'] as const;
const PROTOCOLS = ['p2p/1'] as const;
const LOCAL = 'f'.repeat(64);

const peerIds = (n: number): string[] => Array.from({ length: n }, (_, i) => i.toString(16).padStart(10, '0').padEnd(64, 'a'));

/** Every per-peer metric of the schema for each peer (each series it can have), and the global ones once. */
export function populate(m: P2pMonitor, peers: readonly string[]): void {
  const [first] = peers;
  if (first !== undefined) m.recordPeerLink(LOCAL, first);
  peers.forEach((p, i) => {
    m.recordConnectionAttempt(p, 'success');
    m.recordConnectionAttempt(p, 'failed');
    m.recordConnectionStateChange(p, 'disconnected', 'connecting');
    m.recordConnectionStateChange(p, 'connecting', 'connected');
    m.recordHandshake(p, 5 + (i % 50));
    m.recordConnectionDuration(p, 1000 + i);
    m.recordError(p, 'timeout');
    m.recordCircuitBreakerState(p, 'closed');
    m.recordCircuitBreakerFailure(p);
    m.recordConnectionReuse(p);
    m.recordRtt(p, 1 + (i % 20));
    m.recordPingLatency(p, 2 + (i % 20));
    for (const t of MESSAGE_TYPES) {
      m.recordMessage(p, t, 64 << (i % 8), 1 + (i % 30));
      m.recordMessage(p, t, 128, undefined, 'inbound');
    }
    m.recordPeerDiscovered(p, 'mdns');
    if (i > 0) m.recordPeerLink(peers[i - 1] as string, p); // a chain: distances 1..P, diameter P
    m.recordConnectivityScore(p, 0.5);
    m.recordBufferEnqueue(p, 512);
    m.recordBufferOverflow(p);
    m.recordQuicStreamOpened(p, 'outbound');
    m.recordQuicRetransmissions(p, 1);
    m.recordQuicPacketLoss(p, 0.01);
    m.recordProtocolVersion(p, PROTOCOLS[0], true);
    m.recordResourceTransferBytes(p, 'blob', 4096);
    m.recordResourceSyncFailure(p, 'blob', 'corrupt');
  });
  m.recordPoolState(8, 2);
  m.recordPoolWait(3);
  m.recordPoolEviction('idle');
  m.recordDiscoveryDuration('dns', 150);
  m.recordDiscoveryFailure('dns', 'timeout');
  m.recordResourceTransferStarted('blob');
  m.recordResourceSync('blob', 250);
}

function config(peers: number): P2pMonitorConfig {
  return { localPeerId: LOCAL, messageTypes: MESSAGE_TYPES, resourceTypes: RESOURCE_TYPES, protocolVersions: PROTOCOLS, peerId: { maxPeers: peers } };
}

type Scraper = { scrape: () => Promise<void>; series: () => Promise<number> };
const seriesIn = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

/** A scrape of the SDK path: collect, then serialise to the text exposition format. */
function scraper(reader: TestReader): Scraper {
  const serializer = new PrometheusSerializer();
  const text = async (): Promise<string> => serializer.serialize((await reader.collect()).resourceMetrics);
  return {
    scrape: async () => void (blackhole.value = await text()),
    series: async () => seriesIn(await text()),
  };
}

/**
 * A scrape as the sdk's endpoint serves it: the response body's buffers, released as the endpoint
 * releases them once the responses are sent (here at once, a scraper that reads fast).
 */
function endpointScraper(reader: TestReader, own: OwnMetrics): Scraper {
  return {
    scrape: async () => {
      const body = await scrapeBody(reader, own);
      blackhole.value = body.chunks;
      body.release();
    },
    series: async () => seriesIn(Buffer.concat((await scrapeBody(reader, own)).chunks).toString('utf8')),
  };
}

export const collectionCostSection: Section = {
  name: 'collection',
  async run(ctx) {
    const sizes = ctx.quick ? [100, 1_000] : [100, 1_000, 10_000];
    const rounds = ctx.rounds ?? (ctx.quick ? 3 : 11);
    const warmupRounds = ctx.quick ? 1 : 3;
    const rows: { name: string; rounds: number; approach: string; peers: number; series: number; msPerScrape: number; p25: number; p75: number }[] = [];
    for (const peers of sizes) {
      const ids = peerIds(peers);
      const ours = new OtelP2pMonitor(config(peers));
      const oursReader = new TestReader(); // the endpoint's reader: the app's other metrics, no producer of ours
      const oursProvider = new MeterProvider({ readers: [oursReader] });
      const own: OwnMetrics = { writer: ours.createPrometheusTextWriter(), producer: ours.createMetricProducer() };
      const sdk = new OtelP2pMonitor(config(peers));
      const sdkReader = new TestReader();
      const sdkProvider = new MeterProvider({ readers: [sdkReader] });
      sdk.setMeterProvider(sdkProvider);
      populate(ours, ids);
      populate(sdk, ids);
      const o = endpointScraper(oursReader, own);
      const s = scraper(sdkReader);
      const cases: BenchCase[] = [
        { name: `ours ${peers}`, phases: [{ name: 'scrape', run: o.scrape }] },
        { name: `plain SDK ${peers}`, phases: [{ name: 'scrape', run: s.scrape }] },
      ];
      // A scrape of 10,000 fully populated peers takes seconds: fewer rounds there.
      const r = peers >= 10_000 ? Math.min(rounds, 3) : rounds;
      const w = peers >= 10_000 ? 1 : warmupRounds;
      ctx.log(`collection: ${peers} peers, ${w} warm-up + ${r} rounds`);
      const timings = await runInterleaved(cases, { rounds: r, warmupRounds: w, log: ctx.log });
      const series = [await o.series(), await s.series()];
      timings.forEach((t, i) => {
        const sm = summarize(t.totals, 1e6);
        rows.push({ name: t.name, rounds: t.totals.length, approach: i === 0 ? 'ours' : 'plain SDK', peers, series: series[i] as number, msPerScrape: sm.median, p25: sm.p25, p75: sm.p75 });
      });
      await Promise.all([oursProvider.shutdown(), sdkProvider.shutdown()]);
    }
    const ms = (approach: string, peers: number): number => rows.find((r) => r.approach === approach && r.peers === peers)?.msPerScrape ?? NaN;
    const table = formatTable(
      [{ header: 'peers' }, { header: 'series' }, { header: 'ours ms/scrape' }, { header: 'plain SDK ms/scrape' }, { header: 'ours / plain SDK' }, { header: 'ours us per peer' }],
      sizes.map((p) => {
        const series = rows.find((r) => r.approach === 'ours' && r.peers === p)?.series ?? 0;
        return [fmt(p), fmt(series), fmt(ms('ours', p)), fmt(ms('plain SDK', p)), fmt(ms('ours', p) / ms('plain SDK', p)), fmt((ms('ours', p) * 1000) / p)];
      }),
    );
    const caveat = ctx.quick ? ' [--quick]' : '';
    const checks: Check[] = [];
    const at1k = ms('ours', 1_000);
    checks.push({
      label: `one scrape at 1,000 peers <= ${COLLECTION_TARGETS.collectionMaxMsAt1000Peers} ms`,
      pass: at1k <= COLLECTION_TARGETS.collectionMaxMsAt1000Peers,
      detail: `${fmt(at1k)} ms (plain SDK ${fmt(ms('plain SDK', 1_000))} ms)${caveat}`,
    });
    const largest = sizes[sizes.length - 1] as number;
    // Growth: cost per peer at the largest size over cost per peer at 1,000 (1.0 = linear).
    const growth = ms('ours', largest) / largest / (at1k / 1_000);
    if (largest > 1_000) {
      checks.push({
        label: `grows no faster than linearly (per-peer cost at ${fmt(largest)} over at 1,000 <= ${COLLECTION_TARGETS.collectionMaxGrowthOverLinear})`,
        pass: growth <= COLLECTION_TARGETS.collectionMaxGrowthOverLinear,
        detail: `${fmt(growth)}${caveat}`,
      });
    }
    const text = [
      'One scrape, the whole text produced, with every per-peer metric of the schema populated for each peer',
      `(${MESSAGE_TYPES.length} message types both ways, a chain topology for distances), maxPeers set to the peer count so no peer`,
      'folds into "other". ours = what @p2p-otel/sdk\'s endpoint does (scrapeBody): collect + serialise the other SDK metrics',
      "(target_info here), then the monitor's PrometheusTextWriter, in slices. plain SDK = the same monitor on its",
      'standard-instrument path (SDK counters, histograms and observable gauges), MetricReader.collect() +',
      `PrometheusSerializer.serialize(). Medians of ${rounds} interleaved rounds (3 at 10,000 peers).`,
      '',
      table,
    ].join('\n');
    return { id: 'collection', title: 'Collection cost: one Prometheus scrape vs peers', params: { sizes, rounds, warmupRounds }, results: rows, targets: { ...COLLECTION_TARGETS }, checks, text };
  },
};
