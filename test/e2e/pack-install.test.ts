import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

/**
 * What a user installs: every publishable package packed with `pnpm pack` (its prepack builds the
 * ES module and CommonJS outputs), the tarballs installed with npm into a fresh project outside
 * the workspace (dependencies from the registry), and each package README's example run there
 * twice, as an ES module and as CommonJS: compiled by tsc against the installed declarations,
 * then run by node. The example is the first ```ts block after the README's `<!-- example -->` marker.
 * The Iroh example is run but not type-checked: @number0/iroh 1.1.0 names a declaration file it does
 * not ship. Examples serve metrics on a port the test picks (their env), and print a p2p_ line.
 */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const PACKAGES = ['instrumentation', 'sdk', 'instrumentation-iroh', 'sim'] as const;
const TSC = require.resolve('typescript/bin/tsc', { paths: [ROOT] });

function readmeExample(readme: string): string | undefined {
  const at = readme.indexOf('<!-- example -->');
  if (at < 0) return undefined;
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  return block?.[1];
}

/** The example as a CommonJS module: imports stay on top, the rest runs in an async function (no top-level await in CJS). */
function asCommonJs(example: string): string {
  const lines = example.split('\n');
  const imports = lines.filter((l) => /^import\s/.test(l));
  const body = lines.filter((l) => !/^import\s/.test(l));
  return [...imports, 'void (async () => {', ...body, '})();', ''].join('\n');
}

/**
 * The environment of a user's shell: without the npm_* variables the runner (npx, pnpm) exported
 * for its own invocation. Inherited, they changed this install (optional dependencies such as
 * @number0/iroh's native binding were left out).
 */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p2p-otel-pack-'));
  const tarballs = join(dir, 'tarballs');
  await mkdir(tarballs);
  for (const p of PACKAGES) await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(ROOT, 'packages', p), timeout: 120_000 });
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-install-app', version: '0.0.0', private: true }));
  const files = (await readdir(tarballs)).map((f) => join(tarballs, f));
  // npm, not pnpm: a plain user project. The api is the peer users bring; the SDK and exporter are what the
  // instrumentation README's own-MeterProvider example imports (npm picks the line that suits this Node).
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, '@opentelemetry/api@^1.9.0', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus', '@number0/iroh@^1.1.0'],
    { cwd: app, timeout: 240_000, env: userEnv() },
  );
}, 400_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it('packs every package with both builds, declarations and exports, and nothing else of the source tree', async () => {
  const tarballs = await readdir(join(dir, 'tarballs'));
  expect(tarballs).toHaveLength(PACKAGES.length);
  for (const p of PACKAGES) {
    const installed = join(dir, 'app', 'node_modules', '@p2p-otel', p);
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; dependencies?: Record<string, string> };
    expect(Object.values(manifest.dependencies ?? {}).filter((v) => v.startsWith('workspace:'))).toEqual([]);
    const files = (await readdir(join(installed, 'dist', 'esm'))).concat(await readdir(join(installed, 'dist', 'cjs')));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'package.json']));
    expect(await readdir(installed)).not.toContain('src');
  }
});

describe.each(PACKAGES)('@p2p-otel/%s README example, installed from its tarball', (p) => {
  it('type-checks, and runs as an ES module and as CommonJS', async () => {
    const readme = await readFile(join(ROOT, 'packages', p, 'README.md'), 'utf8');
    const example = readmeExample(readme);
    if (example === undefined) throw new Error(`packages/${p}/README.md has no <!-- example --> followed by a ts block`);
    const app = join(dir, 'app');
    for (const ext of ['mts', 'cts'] as const) {
      const file = join(app, `${p}-example.${ext}`);
      await writeFile(file, ext === 'mts' ? example : asCommonJs(example));
      // Compiled by tsc as a user's build would (type-checked, except Iroh's, see above), then run by plain node.
      const out = join(app, 'out');
      const check = p === 'instrumentation-iroh' ? ['--noCheck'] : [];
      const tscArgs = [
        TSC,
        ...check,
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        '--outDir',
        out,
        file,
      ];
      await run(process.execPath, tscArgs, { cwd: app, timeout: 120_000 }).catch((e: { stdout?: string }) => {
        throw new Error(`${p}-example.${ext} does not compile against the installed package:\n${e.stdout ?? String(e)}`);
      });
      const port = String(await freePort());
      const compiled = join(out, `${p}-example.${ext === 'mts' ? 'mjs' : 'cjs'}`);
      const { stdout, stderr } = await run(process.execPath, ['--no-deprecation', compiled], {
        cwd: app,
        timeout: 60_000,
        env: { ...userEnv(), RUST_BACKTRACE: '0', METRICS_PORT: port, OTEL_EXPORTER_PROMETHEUS_PORT: port },
      });
      expect(stderr).not.toMatch(/Error/);
      expect(stdout).toMatch(/^p2p_\w+(\{[^}]*\})? [1-9]/m); // a recorded value, read back from the scrape or the snapshot
    }
  }, 200_000);
});
