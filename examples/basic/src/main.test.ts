import { get } from 'node:http';
import { METRICS, METRIC_IDS } from '@p2p-otel/instrumentation';
import { runDemo, type Demo } from './main.js';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** GET over real HTTP, as Prometheus scrapes. */
function scrape(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Samples of one series name in the Prometheus text format. */
function samples(body: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
function total(body: string, name: string, match: Record<string, string> = {}): number {
  return samples(body, name)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('examples/basic', () => {
  let demo: Demo | undefined;

  afterEach(async () => {
    await demo?.stop(); // closes the metrics server even when an assertion failed
    demo = undefined;
  });

  it('serves every metric of the schema with data after two seconds of simulated traffic', async () => {
    const lines: string[] = [];
    demo = await runDemo({ port: 0, durationMs: 2_000, reportEveryMs: 1_000, log: (line) => lines.push(line) });
    expect(demo.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(demo.metricsUrl).not.toMatch(/:0\//); // the port actually bound, not the one asked for
    expect(lines[0]).toContain(demo.metricsUrl);

    await demo.finished;
    expect(demo.stats.elapsedMs).toBeGreaterThanOrEqual(1_500); // the scenario's events all happened

    const { status, body } = await scrape(demo.metricsUrl);
    expect(status).toBe(200);

    const missing = METRIC_IDS.map((id) => METRICS[id].name).filter((name) => samples(body, name).length === 0 && samples(body, `${name}_count`).length === 0);
    expect(missing).toEqual([]);

    for (const type of ['raft', 'gossip', 'ping']) {
      expect(total(body, 'p2p_messages_sent_total', { message_type: type })).toBeGreaterThan(0);
    }
    expect(total(body, 'p2p_messages_received_total', { message_type: 'sync' })).toBeGreaterThan(0);
    expect(total(body, 'p2p_bytes_sent_total')).toBeGreaterThan(0);
    for (const result of ['success', 'failed', 'timeout']) {
      expect(total(body, 'p2p_connection_attempts_total', { result })).toBeGreaterThan(0);
    }
    expect(total(body, 'p2p_circuit_breaker_failures_total')).toBe(3);
    expect(total(body, 'p2p_connection_errors_total', { error_type: 'reset' })).toBe(1);
    expect(total(body, 'p2p_connection_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(total(body, 'p2p_message_buffer_overflows_total')).toBeGreaterThan(0);
    expect(total(body, 'p2p_resource_sync_failures_total', { reason: 'timeout' })).toBeGreaterThan(0);
    expect(total(body, 'p2p_resource_sync_duration_milliseconds_count')).toBeGreaterThan(0);
    expect(total(body, 'p2p_connections_active', { state: 'connected' })).toBe(4);
    expect(total(body, 'p2p_peer_distance_hops')).toBeGreaterThan(0);
    expect(total(body, 'p2p_cluster_diameter_hops')).toBeGreaterThan(0);
    // The demo feeds the monitor valid input only.
    expect(total(body, 'p2p_monitor_rejected_records_total')).toBe(0);

    expect(lines.some((line) => /\d+ messages/.test(line))).toBe(true);

    const url = demo.metricsUrl;
    await demo.stop();
    await expect(scrape(url)).rejects.toThrow(); // the endpoint is closed
  });
});
