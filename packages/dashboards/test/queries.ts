/** Every query the package ships: dashboard targets, variable selectors, rule expressions. */
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard } from '../src/dashboard';
import { parsePromql } from '../src/promql-lint';
import { loadRuleGroups, recordingRules } from '../src/rules';

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
  return loadRuleGroups().flatMap((g) =>
    g.rules.map((r) => ({ where: `rule ${'alert' in r ? r.alert : r.record}`, query: r.expr })),
  );
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
