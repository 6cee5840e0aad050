/**
 * Writes grafana/p2p-otel.json and the provisioning YAML from src/. Run after changing the dashboard:
 *   pnpm --filter @p2p-otel/dashboards generate   (or: npx tsx packages/dashboards/scripts/generate.ts)
 * test/dashboard.test.ts fails when the committed files are stale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { provisioningFiles, relativeToPackage } from '../src/provisioning.js';

for (const [file, content] of provisioningFiles()) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  fs.writeFileSync(file, content);
  console.log(`${before === content ? 'unchanged' : 'wrote'} ${relativeToPackage(file)}`);
}
