import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { METRICS, type MetricDefinition } from '@p2p-otel/instrumentation';
import { OFF_DASHBOARD } from '../src/dashboard';
import { lintQueries, parsePromql, schemaSeriesNames, substituteGrafanaMacros } from '../src/promql-lint';
import { dashboardQueries, recordedSeries, ruleQueries, variableQueries } from './queries';
import { describeWithTool, run } from './tools';

const SCHEMA_NAMES = (Object.values(METRICS) as MetricDefinition[]).map((m) => m.name);

describe('Grafana macro substitution', () => {
  it.each([
    ['rate(x[$__rate_interval])', 'rate(x[5m])'],
    ['rate(x[${__rate_interval}])', 'rate(x[5m])'],
    ['increase(x[$__range])', 'increase(x[5m])'],
    ['rate(x[$__interval]) * $__interval_ms', 'rate(x[5m]) * 60'],
    ['x{a=~"$instance", b=~"${peer}", c="${peer:regex}", d="[[old]]"}', 'x{a=~"var", b=~"var", c="var", d="var"}'],
  ])('%s', (q, expected) => expect(substituteGrafanaMacros(q)).toBe(expected));
});

describe('the lint catches what it must', () => {
  const problems = (q: string) => lintQueries([{ where: 't', query: q }], recordedSeries()).problems.map((p) => p.problem);

  it("the design's P2pHighLatency expression: a histogram named without _bucket", () => {
    expect(problems('histogram_quantile(0.95, p2p_rtt_milliseconds) > 100')).toEqual([expect.stringContaining('unknown metric p2p_rtt_milliseconds')]);
  });
  it("the design's P2pMessageBufferHigh expression: the design name of a renamed metric", () => {
    expect(problems('p2p_buffered_messages_total > 1000')).toEqual([expect.stringContaining('unknown metric p2p_buffered_messages_total')]);
  });
  it('a syntax error', () => {
    expect(problems('sum(rate(p2p_bytes_sent_total[$__rate_interval])').length).toBeGreaterThan(0);
  });
  it('an undefined recording rule', () => {
    expect(problems('p2p:nope:rate5m')).toEqual([expect.stringContaining('no recording rule defines it')]);
  });
  it('a __name__ matcher it cannot check', () => {
    expect(problems('{__name__=~"p2p_.*"}').some((p) => p.includes('__name__'))).toBe(true);
  });
  it('accepts histogram series and recording rules', () => {
    expect(problems('sum(rate(p2p_rtt_milliseconds_bucket[5m])) + sum(rate(p2p_rtt_milliseconds_sum[5m])) + sum(rate(p2p_rtt_milliseconds_count[5m]))')).toEqual([]);
    expect(problems('p2p:rtt_milliseconds:p95_5m > 1')).toEqual([]);
    expect(schemaSeriesNames().get('p2p_rtt_milliseconds_bucket')).toBe('p2p_rtt_milliseconds');
  });
});

describe('every shipped query', () => {
  const recorded = recordedSeries();

  it('dashboard targets parse and name only schema metrics or our recording rules', () => {
    const qs = dashboardQueries();
    expect(qs.length).toBeGreaterThanOrEqual(16);
    expect(lintQueries(qs, recorded).problems).toEqual([]);
  });

  it('variable queries parse and name only schema metrics', () => {
    const qs = variableQueries();
    expect(qs.map((q) => q.where)).toEqual(['variable $instance', 'variable $peer']);
    expect(lintQueries(qs, recorded).problems).toEqual([]);
  });

  it('rule expressions parse and name only schema metrics or our recording rules', () => {
    expect(lintQueries(ruleQueries(), recorded).problems).toEqual([]);
  });

  it('every schema metric is on the dashboard or deliberately off it, and not both', () => {
    const { used } = lintQueries(dashboardQueries(), recorded);
    const missing = SCHEMA_NAMES.filter((n) => !used.has(n) && !(n in OFF_DASHBOARD));
    expect(missing).toEqual([]);
    const bothOnAndOff = Object.keys(OFF_DASHBOARD).filter((n) => used.has(n));
    expect(bothOnAndOff).toEqual([]);
    const notInSchema = Object.keys(OFF_DASHBOARD).filter((n) => !SCHEMA_NAMES.includes(n));
    expect(notInSchema).toEqual([]);
  });

  it('every metric an alert reads is in the schema', () => {
    const { used } = lintQueries(ruleQueries(), recorded);
    expect([...used].every((n) => SCHEMA_NAMES.includes(n))).toBe(true);
    for (const n of [
      'p2p_connection_attempts_total',
      'p2p_connections_active',
      'p2p_circuit_breaker_state',
      'p2p_rtt_milliseconds',
      'p2p_buffered_messages',
      'p2p_peer_distance_hops',
      'p2p_monitor_rejected_records_total',
    ]) {
      expect(used).toContain(n);
    }
  });
});

// Prometheus 2.42 itself type-checks the dashboard queries: each becomes a recording rule.
describeWithTool('promtool', 'dashboard queries under promtool (Prometheus 2.42 grammar and types)', (promtool) => {
  it('promtool check rules accepts every dashboard query', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2p-dash-'));
    try {
      const qs = [...dashboardQueries(), ...variableQueries()];
      const rules = qs.map((q, i) => ({ record: `dashboard_query_${i}`, expr: substituteGrafanaMacros(q.query) }));
      const file = path.join(dir, 'dashboard-queries.yml');
      fs.writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = run(promtool, ['check', 'rules', file]);
      if (r.status !== 0) {
        throw new Error(`${r.output}\n${qs.map((q, i) => `dashboard_query_${i}: ${q.where}`).join('\n')}`);
      }
      expect(r.output).toContain(`SUCCESS: ${qs.length} rules found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('promtool rejects a broken query (the check can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2p-dash-'));
    try {
      const file = path.join(dir, 'bad.yml');
      fs.writeFileSync(file, stringify({ groups: [{ name: 'g', rules: [{ record: 'bad', expr: 'rate(p2p_connections_active)' }] }] }));
      expect(run(promtool, ['check', 'rules', file]).status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

it('parsePromql reports metric names in order', () => {
  expect(parsePromql('a_total / on (x) b').metrics).toEqual(['a_total', 'b']);
});
