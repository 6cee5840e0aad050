import * as fs from 'node:fs';
import { parse } from 'yaml';
import type { Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, DASHBOARD_UID, DESIGN_PANELS, EXTRA_ROW } from '../src/dashboard';
import { DASHBOARD_FILE, DASHBOARD_PROVIDER_FILE, DATASOURCE_FILE } from '../src/paths';
import { GRAFANA_DASHBOARDS_PATH, provisioningFiles, relativeToPackage } from '../src/provisioning';
import { allPanels, targetsOf } from './queries';

const dashboard = buildDashboard();

/** The visualisation the design names for each of its panels, as a Grafana panel type (+ check). */
const DESIGN_VIZ: Record<string, { type: string; check?: (p: Panel) => boolean }> = {
  'Active Connections by State': { type: 'timeseries', check: (p) => p.fieldConfig?.defaults?.custom?.stacking?.mode === 'normal' && p.fieldConfig.defaults.custom.fillOpacity > 0 },
  'Connection Success Rate': { type: 'gauge', check: (p) => p.fieldConfig?.defaults?.unit === 'percentunit' },
  'Average Connection Duration': { type: 'bargauge', check: (p) => targetsOf(p)[0]?.format === 'heatmap' },
  'Connection Attempts per Minute': { type: 'timeseries', check: (p) => p.fieldConfig?.defaults?.custom?.drawStyle !== 'bars' },
  'P2P Latency Heatmap': { type: 'heatmap' },
  'Bandwidth Usage per Peer': { type: 'timeseries', check: (p) => p.fieldConfig?.defaults?.custom?.drawStyle === 'bars' && p.fieldConfig.defaults.custom.stacking?.mode === 'normal' },
  'Message Volume by Type': { type: 'piechart' },
  'Top 10 Peers by Traffic': { type: 'table', check: (p) => /topk\(10,/.test(String(targetsOf(p)[0]?.expr)) },
  'Connection Errors by Type': { type: 'timeseries' },
  'Circuit Breaker States': { type: 'state-timeline', check: (p) => (p.fieldConfig?.defaults?.mappings?.length ?? 0) > 0 },
  'Failed Connection Attempts': { type: 'heatmap' },
  'Error Rate by Peer': { type: 'barchart', check: (p) => (p.transformations ?? []).some((t) => t.id === 'sortBy') },
  'Peer Connectivity Graph': { type: 'nodeGraph' },
  'Discovery Success Rate by Method': { type: 'gauge' },
  'Cluster Diameter Over Time': { type: 'timeseries' },
  'Peer Churn Rate': { type: 'timeseries' },
};

describe('dashboard', () => {
  it('has a stable uid, title and Grafana 12 schema', () => {
    expect(dashboard.uid).toBe(DASHBOARD_UID);
    expect(dashboard.title).toBe('P2P Connection Monitoring');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(41);
  });

  it("has the design's four rows with its 16 panels, in order, with the visualisations it names", () => {
    const top = dashboard.panels ?? [];
    const rows: { title: string; panels: Panel[] }[] = [];
    for (const p of top) {
      if (p.type === 'row') rows.push({ title: p.title ?? '', panels: [...((p as RowPanel).panels ?? [])] });
      else rows[rows.length - 1]!.panels.push(p as Panel);
    }
    expect(rows.map((r) => r.title)).toEqual([...Object.keys(DESIGN_PANELS), EXTRA_ROW]);
    let n = 0;
    for (const [rowTitle, panels] of Object.entries(DESIGN_PANELS)) {
      const row = rows.find((r) => r.title === rowTitle)!;
      expect(row.panels.map((p) => p.title)).toEqual(Object.values(panels));
      for (const [designTitle, ourTitle] of Object.entries(panels)) {
        const p = row.panels.find((x) => x.title === ourTitle)!;
        const viz = DESIGN_VIZ[designTitle]!;
        expect({ panel: designTitle, type: p.type, ok: viz.check ? viz.check(p) : true }).toEqual({ panel: designTitle, type: viz.type, ok: true });
        n++;
      }
    }
    expect(n).toBe(16);
    const extra = top.find((p) => p.title === EXTRA_ROW) as RowPanel;
    expect(extra.collapsed).toBe(true);
    expect(extra.panels?.length).toBeGreaterThan(0);
  });

  it('every panel has a gridPos inside the 24-column grid, and none overlap', () => {
    const all = [...(dashboard.panels ?? []), ...allPanels(dashboard).filter((p) => !(dashboard.panels ?? []).includes(p))];
    const boxes = all.map((p) => ({ t: p.title, ...p.gridPos! }));
    for (const b of boxes) {
      expect(b).toEqual(expect.objectContaining({ x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) }));
      expect(b.x + b.w).toBeLessThanOrEqual(24);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect({ a: a.t, b: b.t, overlap }).toEqual({ a: a.t, b: b.t, overlap: false });
      }
    }
  });

  it('ids are unique', () => {
    const ids = [...(dashboard.panels ?? []), ...allPanels(dashboard)].map((p) => p.id);
    expect(new Set(ids).size).toBe(new Set([...(dashboard.panels ?? []), ...allPanels(dashboard)]).size);
  });

  it.each(allPanels(dashboard).map((p) => [p.title, p] as const))('%s: targets, data source, unit, thresholds', (_t, p) => {
    expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    const targets = targetsOf(p);
    expect(targets.length).toBeGreaterThan(0);
    const refIds = targets.map((t) => t.refId);
    expect(refIds.every((r) => typeof r === 'string' && r.length > 0)).toBe(true);
    expect(new Set(refIds).size).toBe(refIds.length);
    for (const t of targets) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    if (p.type === 'nodeGraph') {
      expect(p.options?.nodes?.mainStatUnit).toBeDefined();
    } else {
      expect(p.fieldConfig?.defaults?.unit).toEqual(expect.any(String));
    }
    if (p.type !== 'heatmap' && p.type !== 'nodeGraph') {
      expect(p.fieldConfig?.defaults?.thresholds?.steps?.length).toBeGreaterThan(0);
    }
  });

  it('has the datasource, instance and peer variables, and every query filters by instance', () => {
    const vars = dashboard.templating?.list ?? [];
    expect(vars.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['instance', 'query'],
      ['peer', 'query'],
    ]);
    for (const v of vars.filter((x) => x.type === 'query')) {
      expect(v).toEqual(expect.objectContaining({ includeAll: true, multi: true, allValue: '.*' }));
    }
    for (const p of allPanels(dashboard)) {
      for (const t of targetsOf(p)) expect({ p: p.title, expr: t.expr }).toEqual({ p: p.title, expr: expect.stringContaining('instance=~"$instance"') });
    }
  });

  it('needs no import wizard: no __inputs, no ${DS_...} placeholders', () => {
    const json = JSON.stringify(dashboard);
    expect(json).not.toContain('__inputs');
    expect(json).not.toMatch(/\$\{DS_/);
  });
});

describe('generated files', () => {
  it.each([...provisioningFiles()].map(([f, c]) => [relativeToPackage(f), f, c] as const))('%s is up to date (run scripts/generate.ts)', (rel, file, content) => {
    expect(fs.existsSync(file)).toBe(true);
    const committed = fs.readFileSync(file, 'utf8');
    if (committed !== content) {
      throw new Error(`${rel} is stale: run \`npx tsx packages/dashboards/scripts/generate.ts\` and commit the result`);
    }
  });

  it('the committed JSON is the built dashboard', () => {
    expect(JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });

  it('the dashboard provider serves the folder the docs tell users to copy the JSON to', () => {
    const provider = parse(fs.readFileSync(DASHBOARD_PROVIDER_FILE, 'utf8'));
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: GRAFANA_DASHBOARDS_PATH }) })]);
  });

  it('the example data source is a default Prometheus one', () => {
    const ds = parse(fs.readFileSync(DATASOURCE_FILE, 'utf8'));
    expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', isDefault: true, access: 'proxy' })]);
  });
});
