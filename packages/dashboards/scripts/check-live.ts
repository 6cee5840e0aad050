/**
 * Runs every dashboard query and rule expression against a live Prometheus and reports which return
 * data. Not part of the unit tests: it needs a Prometheus scraping real nodes, for example
 *   pnpm demo --base-port 19464        # 5 Iroh nodes
 *   prometheus --config.file=...       # scraping them, with prometheus/alerts.yml loaded
 *   npx tsx packages/dashboards/scripts/check-live.ts http://127.0.0.1:9090 [rate-window]
 * Dashboard variables become `.*` (All); `$__rate_interval` the given window (default 1m) and
 * `$__range` 5m. Exits 1 when a query fails to execute; empty results are reported, not failures
 * (a healthy cluster has no failed attempts, for example).
 */
import { buildDashboard } from '../src/dashboard.js';
import { loadRuleGroups } from '../src/rules.js';

const base = process.argv[2] ?? 'http://127.0.0.1:9090';
const rateWindow = process.argv[3] ?? '1m';

function substitute(q: string): string {
  return q
    .split('$__rate_interval').join(rateWindow)
    .split('$__interval').join(rateWindow)
    .split('$__range').join('5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}

interface Result { status: string; error?: string; data?: { result: unknown[] } }

async function query(q: string): Promise<Result> {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: q }),
  });
  return (await res.json()) as Result;
}

async function main(): Promise<void> {
  const items: { where: string; q: string }[] = [];
  const d = buildDashboard();
  for (const p of d.panels ?? []) {
    const panels = p.type === 'row' ? ((p as { panels?: typeof d.panels }).panels ?? []) : [p];
    for (const x of panels) {
      for (const t of ((x as { targets?: { refId?: string; expr?: string }[] }).targets ?? [])) {
        items.push({ where: `${x.title} [${t.refId}]`, q: substitute(t.expr ?? '') });
      }
    }
  }
  for (const g of loadRuleGroups()) for (const r of g.rules) items.push({ where: `rule ${'alert' in r ? r.alert : r.record}`, q: r.expr });

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
