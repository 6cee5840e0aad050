/** Finds promtool/amtool; a missing tool skips loudly locally and fails under CI. */
import { spawnSync } from 'node:child_process';

export function findTool(name: string): string | undefined {
  for (const candidate of [process.env[`${name.toUpperCase()}_BIN`], name, `/usr/bin/${name}`]) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** `describe` when the tool exists; otherwise a failing test under CI and a loud skip elsewhere. */
export function describeWithTool(tool: string, title: string, body: (bin: string) => void): void {
  const bin = findTool(tool);
  if (bin !== undefined) {
    describe(title, () => body(bin));
    return;
  }
  if (process.env.CI) {
    describe(title, () => {
      it(`needs ${tool}`, () => {
        throw new Error(`${tool} not found on PATH (set ${tool.toUpperCase()}_BIN); it is required when CI is set`);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`\n*** SKIPPING "${title}": ${tool} not found on PATH. Install it (Debian: prometheus / prometheus-alertmanager). ***\n`);
  describe.skip(title, () => body(tool));
}

export function run(bin: string, args: string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
