import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The API reference (`pnpm docs:api`, TypeDoc over every published package) builds without a
 * warning: typedoc.json sets treatWarningsAsErrors, so a public type that is not exported, a broken
 * {@link} or a README link to a missing file fails here.
 */
const ROOT = join(__dirname, '..', '..');

it('TypeDoc builds the API reference of every package without warnings', async () => {
  // The bin script through package.json: typedoc's `exports` map does not list bin/typedoc, so
  // resolving 'typedoc/bin/typedoc' itself fails.
  const pkg = require.resolve('typedoc/package.json', { paths: [ROOT] });
  const typedoc = join(dirname(pkg), (require(pkg) as { bin: { typedoc: string } }).bin.typedoc);
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [typedoc, '--emit', 'none'], { cwd: ROOT, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string }) => {
    throw new Error(`typedoc failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  });
  expect(`${stdout}${stderr}`).not.toMatch(/\[warning\]|\[error\]/);
}, 150_000);
