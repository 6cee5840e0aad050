/**
 * Writes docs/metrics.md from the metric schema (`pnpm docs:metrics`).
 * `--check` writes nothing and exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderMetricsDoc } from './metrics-doc.js';

const METRICS_DOC_PATH = resolve(__dirname, '../../../docs/metrics.md');

function main(): void {
  const rendered = renderMetricsDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(METRICS_DOC_PATH, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current !== rendered) {
      console.error(`${METRICS_DOC_PATH} is out of date: run \`pnpm docs:metrics\``);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(METRICS_DOC_PATH, rendered);
  console.log(`wrote ${METRICS_DOC_PATH}`);
}

main();
