/**
 * The Iroh cluster demo end to end: five real node processes on loopback, the fault plan of
 * scenario.ts, every node scraped over HTTP every two seconds. Every metric of the schema must
 * carry data somewhere in the cluster, except the ones listed in NOT_FED_YET.
 */
import { METRICS, METRIC_IDS, type MetricId } from '@p2p-otel/instrumentation';
import { runDemo, type Demo } from './demo.js';
import { parseSamples, scrape, select, sum, type Sample } from './prom-text.js';

/**
 * Metrics no part of this example feeds yet (none: Iroh's own QUIC state, streams, loss,
 * retransmissions and the ALPN gauge, comes from IrohInstrumentation in node.ts).
 */
const NOT_FED_YET: Partial<Record<MetricId, string>> = {};

/**
 * Gauges whose value may legitimately be 0 whenever we scrape: they only have to be reported.
 * The others must have been above 0 in at least one scrape.
 */
const MAY_STAY_ZERO = new Set<MetricId>([
  // The workload's steady background (a throttled archive transfer, a catch-up backlog) keeps these
  // above 0 once the cluster is warm, about 15 s in: too late to require in an 18 s run.
  'resourceTransfersActive',
  'bufferedBytes',
  'bufferedMessages',
  'poolUtilization', // connections lent out for one request
  'connectionsIdle',
]);

const RUN_MS = 18_000;
const SCRAPE_EVERY_MS = 2_000;

/** Per metric, the largest cluster-wide value seen in one scrape round, and whether it was reported. */
interface Seen {
  reported: boolean;
  max: number;
}

function clusterValue(bodies: Sample[][], id: MetricId): { reported: boolean; value: number } {
  const { name, instrument } = METRICS[id];
  const series = instrument === 'histogram' ? `${name}_count` : name;
  const reported = bodies.some((samples) => select(samples, series).length > 0);
  const value = bodies.reduce((total, samples) => total + select(samples, series).reduce((s, x) => s + Math.abs(x.value), 0), 0);
  return { reported, value };
}

describe('examples/iroh-cluster: pnpm demo', () => {
  let demo: Demo | undefined;

  afterEach(async () => {
    await demo?.stop(); // kills every node process, even when an assertion failed
    demo = undefined;
  });

  it('runs five Iroh nodes in their own processes and feeds every metric through faults', async () => {
    const lines: string[] = [];
    const t0 = Date.now();
    demo = await runDemo({ nodes: 5, basePort: 0, durationMs: RUN_MS, tableEveryMs: 3_000, log: (line) => lines.push(line) });
    const { cluster } = demo;
    const startedAfterMs = Date.now() - t0;

    expect(cluster.nodes).toHaveLength(5);
    const pids = cluster.nodes.map((n) => n.pid);
    expect(new Set(pids).size).toBe(5);
    expect(pids).not.toContain(process.pid);
    for (const node of cluster.nodes) {
      expect(node.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(node.metricsUrl).not.toMatch(/:0\//);
      expect(lines.join('\n')).toContain(node.metricsUrl);
    }

    const seen = new Map<MetricId, Seen>(METRIC_IDS.map((id) => [id, { reported: false, max: 0 }]));
    const totals = { breakersOpen: 0, diameter: 0, rejected: 0 };
    const lastBodies: Sample[][] = [];
    const finishedAt = Date.now() + RUN_MS;
    while (Date.now() < finishedAt - 500) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(SCRAPE_EVERY_MS, finishedAt - 500 - Date.now())));
      const bodies = (await Promise.all(cluster.nodes.filter((n) => n.status === 'up').map((n) => scrape(n.metricsUrl ?? '', 1_500).then(parseSamples, () => undefined)))).filter(
        (b): b is Sample[] => b !== undefined,
      );
      for (const id of METRIC_IDS) {
        const { reported, value } = clusterValue(bodies, id);
        const s = seen.get(id) as Seen;
        s.reported ||= reported;
        s.max = Math.max(s.max, value);
      }
      totals.breakersOpen = Math.max(
        totals.breakersOpen,
        bodies.reduce((t, b) => t + sum(b, 'p2p_circuit_breaker_state', { state: 'open' }), 0),
      );
      totals.diameter = Math.max(totals.diameter, ...bodies.map((b) => sum(b, 'p2p_cluster_diameter_hops')));
      totals.rejected = Math.max(
        totals.rejected,
        bodies.reduce((t, b) => t + sum(b, 'p2p_monitor_rejected_records_total'), 0),
      );
      lastBodies.splice(0, lastBodies.length, ...bodies);
    }

    const withoutData = METRIC_IDS.filter((id) => {
      if (id in NOT_FED_YET || id === 'rejectedRecords') return false;
      const s = seen.get(id) as Seen;
      return !s.reported || (!MAY_STAY_ZERO.has(id) && s.max <= 0);
    }).map((id) => METRICS[id].name);
    expect(withoutData).toEqual([]);
    // Listed as not fed: if one starts carrying data, take it off the list.
    const fedAfterAll = (Object.keys(NOT_FED_YET) as MetricId[]).filter((id) => (seen.get(id) as Seen).max > 0).map((id) => METRICS[id].name);
    expect(fedAfterAll).toEqual([]);

    // The P2P layer gives the monitor valid input only.
    expect((seen.get('rejectedRecords') as Seen).reported).toBe(true);
    expect(totals.rejected).toBe(0);

    // The faults happened, and show where they should.
    const cluster_ = (name: string, match: Record<string, string> = {}): number => lastBodies.reduce((t, b) => t + sum(b, name, match), 0);
    for (const type of ['raft', 'gossip', 'sync', 'ping']) expect(cluster_('p2p_messages_sent_total', { message_type: type })).toBeGreaterThan(0);
    expect(cluster_('p2p_connection_attempts_total', { result: 'success' })).toBeGreaterThan(0);
    expect(cluster_('p2p_connection_attempts_total', { result: 'failed' })).toBeGreaterThan(0); // refused, breaker open
    expect(cluster_('p2p_connection_errors_total', { error_type: 'refused' })).toBeGreaterThan(0);
    expect(totals.breakersOpen).toBeGreaterThan(0);
    expect(cluster_('p2p_message_buffer_overflows_total')).toBeGreaterThan(0);
    expect(cluster_('p2p_resource_sync_failures_total', { reason: 'corrupt' })).toBeGreaterThan(0);
    expect(cluster_('p2p_discovered_peers_total', { discovery_method: 'static' })).toBeGreaterThan(0);
    expect(totals.diameter).toBeGreaterThanOrEqual(2); // a ring of five
    expect(cluster.nodes.some((n) => n.restarts > 0)).toBe(true);
    expect(lines.some((l) => /breaker for node-\d open/.test(l))).toBe(true);
    expect(lines.some((l) => /node-\d+ +up/.test(l))).toBe(true); // the table was printed

    await demo.finished;
    await demo.stop();
    demo = undefined;
    // No orphans: every node process is gone, restarted ones included.
    for (const node of cluster.nodes) {
      expect(node.pid).toBeDefined();
      expect(() => process.kill(node.pid as number, 0)).toThrow();
    }
    for (const pid of pids) expect(() => process.kill(pid as number, 0)).toThrow();
    expect(startedAfterMs).toBeLessThan(20_000);
  }, 60_000);
});
