/**
 * `pnpm bench [--quick] [--rounds N] [--only a,b] [--cases x,y] [--json FILE]`
 *
 * Runs the benchmark sections in order and prints one report per section. Benchmarks are reports:
 * a missed target prints MISS, it never fails the process.
 *
 * Adding a section: write `bench/<name>.ts` exporting a `Section` (see harness.ts; hot-path.ts is
 * the model), then append it to SECTIONS below.
 *
 * The sections run the built packages (`pnpm bench` builds them first; tsconfig.bench.json maps
 * the package names to dist/cjs). When several sections run, each runs in a process of its own:
 * what one leaves behind (the memory section's heap after a million churned peers, JIT state,
 * Iroh's threads) must not slow the next.
 *
 * Profiling one case: `pnpm build && TSX_TSCONFIG_PATH=tsconfig.bench.json node --import tsx
 * --cpu-prof --cpu-prof-dir /tmp/prof packages/instrumentation/bench/index.ts --only hot-path
 * --cases ours --rounds 300`. The profile then names the functions of dist/cjs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJsonReport, formatChecks, formatTable, machineInfo, writeJson, type Section, type SectionContext, type SectionReport } from './harness.js';
import { hotPathSection } from './hot-path.js';
import { wrappedSendSection } from './wrapped-send.js';
import { irohEchoSection } from './iroh-echo.js';
import { collectionCostSection } from './collection-cost.js';
import { memorySection } from './memory.js';
import { tcpThroughputSection } from './tcp-throughput.js';
import { simScaleSection } from './sim-scale.js';

const SECTIONS: readonly Section[] = [hotPathSection, wrappedSendSection, tcpThroughputSection, irohEchoSection, collectionCostSection, memorySection, simScaleSection];

interface Cli {
  quick: boolean;
  rounds: number | undefined;
  json: string | undefined;
  only: string[] | undefined;
  cases: string[] | undefined;
  /** Internal: run the sections and write their reports to this file (a section's own process). */
  report: string | undefined;
}

const USAGE = `usage: pnpm bench [options]
  --quick          few rounds, small inputs (seconds; what CI runs)
  --rounds N       measured rounds per case (default per section)
  --only a,b       run only these sections: ${SECTIONS.map((s) => s.name).join(', ')}
  --cases x,y      run only these cases of a section (e.g. --cases ours, for profiling)
  --json FILE      also write the results as JSON`;

function parseArgs(argv: readonly string[]): Cli {
  const cli: Cli = { quick: false, rounds: undefined, json: undefined, only: undefined, cases: undefined, report: undefined };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const take = (): string => inline ?? value(i++, flag);
    switch (flag) {
      case '--': // `pnpm bench -- --quick`
        break;
      case '--quick':
        cli.quick = true;
        break;
      case '--rounds': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 1) throw new Error('--rounds needs a positive integer');
        cli.rounds = n;
        break;
      }
      case '--json':
        cli.json = take();
        break;
      case '--only':
        cli.only = take().split(',');
        break;
      case '--cases':
        cli.cases = take().split(',');
        break;
      case '--report':
        cli.report = take();
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return cli;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cli = parseArgs(argv);
  const sections = SECTIONS.filter((s) => cli.only === undefined || cli.only.includes(s.name));
  if (sections.length === 0) throw new Error(`--only ${cli.only?.join(',')}: no such section (${SECTIONS.map((s) => s.name).join(', ')})`);
  const ctx: SectionContext = {
    quick: cli.quick,
    rounds: cli.rounds,
    cases: cli.cases,
    log: (message) => process.stderr.write(`${message}\n`),
  };
  if (cli.report !== undefined) {
    const reports: SectionReport[] = [];
    for (const section of sections) reports.push(await section.run(ctx));
    writeFileSync(cli.report, JSON.stringify(reports));
    return;
  }
  const m = machineInfo();
  process.stdout.write(`p2p-otel bench: node ${m.node}, ${m.cpus} cpus (${m.cpuModel})${cli.quick ? ', --quick' : ''}\n`);
  const reports: SectionReport[] = [];
  for (const section of sections) {
    const report = sections.length === 1 ? await section.run(ctx) : await runInOwnProcess(section, cli);
    reports.push(report);
    process.stdout.write(`\n## ${report.title}\n\n${report.text}\n`);
    if (report.checks.length > 0) process.stdout.write(`\n${formatChecks(report.checks)}\n`);
  }
  // One table of every target, so a run reads at a glance (each section's table above has the detail).
  const checks = reports.flatMap((r) => r.checks.map((c) => [r.title, c.label, c.detail, c.pass ? 'PASS' : 'MISS']));
  if (checks.length > 0) {
    process.stdout.write(
      `\n## Summary\n\n${formatTable(
        [
          { header: 'section', align: 'left' },
          { header: 'target', align: 'left' },
          { header: 'measured', align: 'left' },
          { header: '', align: 'left' },
        ],
        checks,
      )}\n`,
    );
  }
  if (cli.json !== undefined) {
    writeJson(cli.json, buildJsonReport(reports, argv));
    process.stdout.write(`\nwrote ${cli.json}\n`);
  }
}

/** Runs one section in a child process (this script, the same loader and flags) and returns its report. */
async function runInOwnProcess(section: Section, cli: Cli): Promise<SectionReport> {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-otel-bench-'));
  const file = join(dir, 'report.json');
  try {
    const args = ['--only', section.name, '--report', file];
    if (cli.quick) args.push('--quick');
    if (cli.rounds !== undefined) args.push('--rounds', String(cli.rounds));
    if (cli.cases !== undefined) args.push('--cases', cli.cases.join(','));
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    const [code, signal] = (await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    })) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`section ${section.name} failed (${signal ?? `exit code ${code}`})`);
    const [report] = JSON.parse(readFileSync(file, 'utf8')) as SectionReport[];
    if (report === undefined) throw new Error(`section ${section.name} wrote no report`);
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
