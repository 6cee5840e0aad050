/**
 * PromQL lint for the dashboard and the rule files: every query must parse (Prometheus grammar, via
 * @prometheus-io/lezer-promql) once Grafana's macros and variables are substituted, and every metric
 * it names must exist in the schema (histograms through their `_bucket`, `_sum`, `_count` series)
 * or be a recording rule we define.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { METRICS, type MetricDefinition } from '@p2p-otel/instrumentation';

/** Grafana's time macros: each becomes a duration Prometheus accepts. */
const DURATION_MACROS = ['$__rate_interval', '$__interval', '$__range', '${__rate_interval}', '${__interval}', '${__range}'];
/** Grafana's numeric macros. */
const NUMBER_MACROS = ['$__interval_ms', '$__range_s', '$__range_ms', '${__interval_ms}', '${__range_s}', '${__range_ms}'];

/** Replaces Grafana macros by a duration or number and dashboard variables by a plain label value. */
export function substituteGrafanaMacros(query: string): string {
  let q = query;
  // Longest first, so `$__interval_ms` is not read as `$__interval` + `_ms`.
  for (const m of [...NUMBER_MACROS].sort((a, b) => b.length - a.length)) q = q.split(m).join('60');
  for (const m of [...DURATION_MACROS].sort((a, b) => b.length - a.length)) q = q.split(m).join('5m');
  return q
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\}/g, 'var') // ${var} and ${var:format}
    .replace(/\[\[[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\]\]/g, 'var') // [[var]] (deprecated syntax)
    .replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, 'var'); // $var
}

export interface ParsedQuery {
  /** The query as written (with Grafana macros). */
  query: string;
  /** The query as parsed. */
  substituted: string;
  /** Parse errors: positions in `substituted`. */
  errors: string[];
  /** Metric names of every vector selector, in order of appearance. */
  metrics: string[];
  /** Selectors that match on `__name__`: the lint cannot check their metric. */
  nameMatchers: string[];
}

export function parsePromql(query: string): ParsedQuery {
  const substituted = substituteGrafanaMacros(query);
  const tree = parser.parse(substituted);
  const errors: string[] = [];
  const metrics: string[] = [];
  const nameMatchers: string[] = [];
  let inVectorSelector = 0;
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(`syntax error at ${node.from}: ...${JSON.stringify(substituted.slice(Math.max(0, node.from - 20), node.from + 20))}`);
      }
      if (node.name === 'VectorSelector') inVectorSelector++;
      if (node.name === 'Identifier' && inVectorSelector > 0) metrics.push(substituted.slice(node.from, node.to));
      if (node.name === 'LabelName' && inVectorSelector > 0 && substituted.slice(node.from, node.to) === '__name__') {
        nameMatchers.push(substituted.slice(node.from, node.to));
      }
    },
    leave(node) {
      if (node.name === 'VectorSelector') inVectorSelector--;
    },
  });
  if (substituted.trim() === '') errors.push('empty query');
  return { query, substituted, errors, metrics, nameMatchers };
}

/** Prometheus series names each schema metric is queried by, mapped to the schema metric name. */
export function schemaSeriesNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of Object.values(METRICS) as MetricDefinition[]) {
    if (m.instrument === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.set(m.name + suffix, m.name);
    } else {
      names.set(m.name, m.name);
    }
  }
  return names;
}

export interface LintProblem {
  where: string;
  query: string;
  problem: string;
}

/**
 * Lints queries. `recorded` holds the names of recording rules (they are series too); `where` names
 * each query in messages. Returns the problems and the schema metrics the queries use (a recording
 * rule counts through the series its own expression reads, given in `recorded`).
 */
export function lintQueries(queries: readonly { where: string; query: string }[], recorded: ReadonlyMap<string, readonly string[]> = new Map()): { problems: LintProblem[]; used: Set<string> } {
  const series = schemaSeriesNames();
  const problems: LintProblem[] = [];
  const used = new Set<string>();
  for (const { where, query } of queries) {
    const parsed = parsePromql(query);
    for (const e of parsed.errors) problems.push({ where, query, problem: e });
    if (parsed.nameMatchers.length > 0) problems.push({ where, query, problem: 'matches on __name__: name metrics explicitly so the lint can check them' });
    if (parsed.metrics.length === 0 && parsed.errors.length === 0) problems.push({ where, query, problem: 'names no metric' });
    for (const name of parsed.metrics) {
      const schemaName = series.get(name);
      if (schemaName !== undefined) {
        used.add(schemaName);
      } else if (recorded.has(name)) {
        for (const u of recorded.get(name) ?? []) used.add(series.get(u) ?? u);
      } else {
        const hint = name.includes(':') ? 'no recording rule defines it' : 'not in the schema (packages/instrumentation/src/schema/metrics.ts)';
        problems.push({ where, query, problem: `unknown metric ${name}: ${hint}` });
      }
    }
  }
  return { problems, used };
}
