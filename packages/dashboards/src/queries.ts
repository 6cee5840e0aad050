/**
 * Every query the package ships (dashboard targets, variable selectors, rule expressions), and the
 * substitution that turns a dashboard query into one Prometheus' HTTP API runs. Used by the lint
 * tests, the live test (test/live.test.ts) and scripts/check-live.ts.
 */
import * as fs from 'node:fs';
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard } from './dashboard.js';
import { DASHBOARD_FILE } from './paths.js';
import { parsePromql } from './promql-lint.js';
import { loadRuleGroups, recordingRules } from './rules.js';

export interface Located {
  where: string;
  query: string;
}

/** A Prometheus target as it appears in the dashboard JSON. */
export interface PromTarget {
  refId?: string;
  expr?: string;
  format?: string;
  datasource?: unknown;
}

export const targetsOf = (p: Panel): PromTarget[] => (p.targets ?? []) as unknown as PromTarget[];

/** The committed dashboard JSON (grafana/p2p-otel.json), as Grafana loads it. */
export function loadDashboardFile(file: string = DASHBOARD_FILE): Dashboard {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Dashboard;
}

export function allPanels(d: Dashboard = buildDashboard()): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
    else out.push(p as Panel);
  }
  return out;
}

export function dashboardQueries(d: Dashboard = buildDashboard()): Located[] {
  const out: Located[] = [];
  for (const p of allPanels(d)) {
    for (const t of targetsOf(p)) {
      out.push({ where: `panel "${p.title}" ${t.refId}`, query: typeof t.expr === 'string' ? t.expr : '' });
    }
  }
  return out;
}

/** `label_values(<selector>, label)` variable queries: their selector. */
export function variableQueries(d: Dashboard = buildDashboard()): Located[] {
  const out: Located[] = [];
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : '';
    const m = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(q);
    out.push({ where: `variable $${v.name}`, query: m ? m[1]! : q });
  }
  return out;
}

export function ruleQueries(): Located[] {
  return loadRuleGroups().flatMap((g) => g.rules.map((r) => ({ where: `rule ${'alert' in r ? r.alert : r.record}`, query: r.expr })));
}

/** Recording rule name -> the schema series its expression (recursively) reads. */
export function recordedSeries(): Map<string, string[]> {
  const rules = recordingRules();
  const direct = new Map(rules.map((r) => [r.record, parsePromql(r.expr).metrics]));
  const resolve = (name: string, seen: Set<string>): string[] => {
    if (seen.has(name)) return [];
    seen.add(name);
    return (direct.get(name) ?? []).flatMap((m) => (direct.has(m) ? resolve(m, seen) : [m]));
  };
  return new Map([...direct.keys()].map((k) => [k, resolve(k, new Set())]));
}

export interface LiveWindows {
  /** What `$__rate_interval` and `$__interval` become (default 1m). */
  rateInterval?: string;
  /** What `$__range` becomes (default 5m). */
  range?: string;
}

/**
 * A dashboard query as Grafana would send it with every variable set to *All*: the time macros
 * become the given windows and every `$var` / `${var}` the regex `.*` (all our variables are used
 * in `=~` matchers). Unlike `substituteGrafanaMacros` (for parsing), the result selects live data.
 */
export function liveQuery(query: string, windows: LiveWindows = {}): string {
  const rate = windows.rateInterval ?? '1m';
  const range = windows.range ?? '5m';
  return query
    .replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, rate)
    .replace(/\$__interval\b|\$\{__interval\}/g, rate)
    .replace(/\$__range\b|\$\{__range\}/g, range)
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '.*');
}
