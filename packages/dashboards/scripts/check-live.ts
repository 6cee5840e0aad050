/**
 * Runs every dashboard query and rule expression against a live Prometheus and reports which return
 * data. Not part of the unit tests: it needs a Prometheus scraping real nodes, for example
 *   pnpm demo --base-port 19464        # 5 Iroh nodes
 *   prometheus --config.file=...       # scraping them, with prometheus/alerts.yml loaded
 *   npx tsx packages/dashboards/scripts/check-live.ts http://127.0.0.1:9090 [rate-window]
 * It reads the committed grafana/p2p-otel.json. Dashboard variables become `.*` (All);
 * `$__rate_interval` the given window (default 1m) and `$__range` 5m (src/queries.ts, liveQuery).
 * Exits 1 when a query fails to execute; empty results are reported, not failures (a healthy
 * cluster has no failed attempts, for example). test/live.test.ts runs the same queries in Jest,
 * against the demo and a Prometheus it starts itself, and requires data from every one.
 */
import { dashboardQueries, liveQuery, loadDashboardFile, ruleQueries, variableQueries } from '../src/queries.js';

const base = process.argv[2] ?? 'http://127.0.0.1:9090';
const rateWindow = process.argv[3] ?? '1m';

interface Result {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

async function query(q: string): Promise<Result> {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: q }),
  });
  return (await res.json()) as Result;
}

async function main(): Promise<void> {
  const dashboard = loadDashboardFile();
  const items = [...dashboardQueries(dashboard), ...variableQueries(dashboard)]
    .map(({ where, query: q }) => ({ where, q: liveQuery(q, { rateInterval: rateWindow, range: '5m' }) }))
    .concat(ruleQueries().map(({ where, query: q }) => ({ where, q })));

  let failed = 0;
  for (const { where, q } of items) {
    const r = await query(q);
    if (r.status !== 'success') {
      failed++;
      console.log(`ERROR  ${where}: ${r.error}`);
    } else {
      const n = r.data?.result.length ?? 0;
      console.log(`${n > 0 ? 'ok    ' : 'empty '} ${String(n).padStart(4)} series  ${where}`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
