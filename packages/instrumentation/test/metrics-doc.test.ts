/** docs/metrics.md is generated from the schema; this keeps the committed file in step. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderMetricsDoc } from '../scripts/metrics-doc.js';
import { METRICS, METRIC_IDS } from '../src/schema/metrics.js';
import { REJECT_REASONS } from '../src/schema/label-values.js';
import { RECORD_METHODS } from '../src/monitor/types.js';
import type { MetricDefinition } from '../src/schema/types.js';

const DOC_PATH = resolve(__dirname, '../../../docs/metrics.md');

describe('docs/metrics.md', () => {
  const rendered = renderMetricsDoc();

  it('is up to date with the schema', () => {
    const committed = existsSync(DOC_PATH) ? readFileSync(DOC_PATH, 'utf8') : '';
    if (committed !== rendered) {
      throw new Error('docs/metrics.md differs from what the schema renders: run `pnpm docs:metrics` and commit the result');
    }
  });

  it('renders the same text every time', () => {
    expect(renderMetricsDoc()).toBe(rendered);
  });

  it('documents every metric, design name, decision, record method and reject reason', () => {
    for (const id of METRIC_IDS) {
      const d = METRICS[id] as MetricDefinition;
      expect(rendered).toContain(`| \`${d.name}\` |`);
      if (d.designName !== undefined) expect(rendered).toContain(`\`${d.designName}\``);
      if (d.decision !== undefined) expect(rendered).toContain(d.decision);
    }
    for (const method of Object.keys(RECORD_METHODS)) expect(rendered).toContain(`| \`${method}\` |`);
    for (const reason of REJECT_REASONS) expect(rendered).toContain(`| \`${reason}\` |`);
  });

  it('has every section the table of contents links to', () => {
    for (const m of rendered.matchAll(/\]\(#([a-z0-9-]+)\)/g)) {
      const slugs = [...rendered.matchAll(/^#+ (.+)$/gm)].map((h) =>
        (h[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      );
      expect(slugs).toContain(m[1]);
    }
  });
});
