import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { METRICS, METRIC_IDS, instrumentName, type P2pMonitor } from '../src/index.js';
import { fastPath, seriesCounts, standardPath, type Harness } from './support/collect.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const MAX_PEERS = 256;
const PEERS = 100_000;
const TYPES = ['raft', 'gossip', 'sync', 'ping'];

/** Every per-peer record a churning peer causes: connect, talk, fail, close. */
function churn(m: P2pMonitor, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const peer = `peer-${i.toString(16).padStart(12, '0')}-${'f'.repeat(40)}`;
    m.recordConnectionAttempt(peer, i % 7 === 0 ? 'timeout' : 'success');
    m.recordConnectionStateChange(peer, 'disconnected', 'connecting');
    m.recordConnectionStateChange(peer, 'connecting', 'connected');
    m.recordHandshake(peer, 2 + (i % 50));
    m.recordMessage(peer, TYPES[i % 4] as string, 100 + (i % 4096), 1 + (i % 30));
    m.recordMessage(peer, TYPES[(i + 1) % 4] as string, 64, undefined, 'inbound');
    m.recordRtt(peer, 1 + (i % 20));
    m.recordError(peer, 'reset');
    m.recordCircuitBreakerState(peer, 'open');
    m.recordQuicStreamOpened(peer, 'outbound');
    m.recordQuicStreamClosed(peer, 'outbound');
    m.recordProtocolVersion(peer, 'p2p/1', true);
    m.recordProtocolVersion(peer, 'p2p/1', false);
    m.recordPeerDiscovered(peer, 'dns');
    m.recordPeerLost(peer);
    m.recordConnectionStateChange(peer, 'connected', 'disconnected');
    m.recordConnectionDuration(peer, i % 600);
  }
}

/** The most series the monitor may produce per metric: label budget × other label sets. */
function bound(h: Harness, name: string): number {
  const series = h.monitor.store.list.find((s) => instrumentName(s.def) === name)!;
  return (series.peerLabel >= 0 ? MAX_PEERS + 1 : 1) * series.cells.stride;
}

describe.each([
  ['fast path', fastPath],
  ['standard-instrument path', standardPath],
])('%s under churn of 100,000 distinct peer ids', (path, make) => {
  it('keeps exported series within the label budget and the heap within 8 MB', async () => {
    const h = make({ peerId: { maxPeers: MAX_PEERS }, messageTypes: TYPES });
    try {
      churn(h.monitor, 0, 1_000); // warm up: every structure exists, budget already spent
      await h.collect();
      const before = heapUsed();
      for (let i = 1_000; i < PEERS; i += 10_000) {
        churn(h.monitor, i, Math.min(PEERS, i + 10_000));
        await h.collect(); // cumulative temporality keeps every series: the budget is the bound
      }
      const grown = heapUsed() - before;
      if (process.env.P2P_OTEL_REPORT) console.log(`${path}: heap grew ${(grown / 1048576).toFixed(2)} MB`);
      const counts = seriesCounts(await h.collect());
      for (const [name, n] of Object.entries(counts)) expect(n).toBeLessThanOrEqual(bound(h, name));
      // The peers beyond the budget are all in `other`, with their counts intact.
      const attempts = instrumentName(METRICS.connectionAttempts);
      expect(counts[attempts]).toBeLessThanOrEqual((MAX_PEERS + 1) * 3);
      // Measured: 0.15 MB. A leak of one small entry per churned peer (~100 B × 99,000) would exceed 8 MB.
      expect(grown).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await h.provider.shutdown();
    }
  });
});

describe('folding keeps totals exact', () => {
  it('counts every message of 10,000 peers with a budget of 8 labels', async () => {
    const h = fastPath({ peerId: { maxPeers: 8, mode: 'full' }, messageTypes: TYPES });
    for (let i = 0; i < 10_000; i++) h.monitor.recordMessage(`peer-${i}`, 'raft', 10);
    const rm = await h.collect();
    const sent = rm.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === instrumentName(METRICS.messagesSent))!;
    const points = sent.dataPoints as { attributes: Record<string, unknown>; value: number }[];
    expect(points).toHaveLength(9);
    expect(points.reduce((a, p) => a + p.value, 0)).toBe(10_000);
    expect(points.find((p) => p.attributes.peer_id === 'other')!.value).toBe(10_000 - 8);
    expect(new Set(points.map((p) => p.attributes.message_type))).toEqual(new Set(['raft']));
    await h.provider.shutdown();
  });

  it('covers every metric of the table in the bound computation', () => {
    const h = fastPath();
    for (const id of METRIC_IDS) expect(bound(h, instrumentName(METRICS[id]))).toBeGreaterThan(0);
  });
});
