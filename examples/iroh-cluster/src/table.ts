/**
 * The live terminal table: every few seconds each node's /metrics is scraped, as Prometheus would,
 * and summarised per node. Rates and RTT quantiles are over the interval since the previous scrape.
 */
import type { NodeInfo } from './cluster.js';
import { bucketDelta, buckets, parseSamples, quantile, scrape, select, sum, type Sample } from './prom-text.js';

export interface NodeRow {
  name: string;
  status: string;
  knownPeers?: number;
  connected?: number;
  rttP50?: number;
  rttP95?: number;
  messagesPerSecond?: number;
  errors?: number;
  overflows?: number;
  syncs?: number;
  syncFailures?: number;
  /** Peers whose breaker is not closed, as "node-2 open". */
  breakers: string[];
}

interface Previous {
  at: number;
  messages: number;
  rtt: [number, number][];
}

export class ClusterTable {
  private readonly previous = new Map<string, Previous>();

  /** Scrapes every node that is up; a node that does not answer gets a row saying so. */
  async rows(nodes: readonly NodeInfo[], names: Map<string, string>): Promise<NodeRow[]> {
    return Promise.all(
      nodes.map(async (node): Promise<NodeRow> => {
        if (node.status !== 'up' || node.metricsUrl === undefined) {
          return { name: node.name, status: node.metricsUrl === undefined && node.status === 'up' ? 'up (otlp)' : node.status, breakers: [] };
        }
        try {
          return this.row(node, parseSamples(await scrape(node.metricsUrl, 1_500)), names);
        } catch {
          return { name: node.name, status: 'no scrape', breakers: [] };
        }
      }),
    );
  }

  private row(node: NodeInfo, samples: Sample[], names: Map<string, string>): NodeRow {
    const now = performance.now();
    const messages = sum(samples, 'p2p_messages_sent_total') + sum(samples, 'p2p_messages_received_total');
    const rtt = buckets(samples, 'p2p_rtt_milliseconds');
    const before = this.previous.get(node.name);
    this.previous.set(node.name, { at: now, messages, rtt });
    const window = before === undefined ? rtt : bucketDelta(rtt, before.rtt);
    const seconds = before === undefined ? undefined : (now - before.at) / 1000;
    const breakers = select(samples, 'p2p_circuit_breaker_state')
      .filter((s) => s.value === 1 && s.labels.state !== 'closed')
      .map((s) => `${names.get(s.labels.peer_id ?? '') ?? s.labels.peer_id} ${s.labels.state === 'half_open' ? 'half-open' : s.labels.state}`)
      .sort();
    return {
      name: node.name,
      status: node.restarts > 0 ? `up (${node.restarts} restart${node.restarts > 1 ? 's' : ''})` : 'up',
      knownPeers: sum(samples, 'p2p_known_peers'),
      connected: sum(samples, 'p2p_connections_active', { state: 'connected' }),
      rttP50: quantile(0.5, window),
      rttP95: quantile(0.95, window),
      messagesPerSecond: seconds === undefined || messages < (before?.messages ?? 0) ? undefined : (messages - (before?.messages ?? 0)) / seconds,
      errors: sum(samples, 'p2p_connection_errors_total'),
      overflows: sum(samples, 'p2p_message_buffer_overflows_total'),
      syncs: sum(samples, 'p2p_resource_sync_duration_milliseconds_count'),
      syncFailures: sum(samples, 'p2p_resource_sync_failures_total'),
      breakers,
    };
  }
}

const COLUMNS: [string, number][] = [
  ['node', 7],
  ['status', 14],
  ['peers', 5],
  ['conns', 5],
  ['rtt p50/p95 ms', 15],
  ['msg/s', 7],
  ['errors', 6],
  ['overflows', 9],
  ['syncs ok/fail', 13],
  ['breakers not closed', 0],
];

const n = (value: number | undefined, digits = 0): string => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));

export function renderTable(rows: readonly NodeRow[]): string[] {
  const cells = rows.map((r) => [
    r.name,
    r.status,
    n(r.knownPeers),
    n(r.connected),
    r.rttP50 === undefined ? '-' : `${n(r.rttP50, 1)} / ${n(r.rttP95, 1)}`,
    n(r.messagesPerSecond, 0),
    n(r.errors),
    n(r.overflows),
    r.syncs === undefined ? '-' : `${n(r.syncs)} / ${n(r.syncFailures)}`,
    r.breakers.length === 0 ? (r.knownPeers === undefined ? '-' : 'none') : r.breakers.join(', '),
  ]);
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(COLUMNS[i]?.[1] ?? 0))).join('  ');
  return [line(COLUMNS.map(([title]) => title)), ...cells.map(line)];
}
