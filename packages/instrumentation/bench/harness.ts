/**
 * Benchmark harness shared by every section of `pnpm bench`: interleaved timed rounds, robust
 * statistics, a plain-text table and the JSON report.
 *
 * A section is a `Section` (see below): it runs its cases with `runInterleaved`, then returns a
 * `SectionReport` whose rows, params, targets and checks index.ts prints and merges into the JSON.
 */
import { cpus, arch, platform, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRandom } from '@p2p-otel/sim';

// ---- sections ---------------------------------------------------------------------------------

/** What index.ts passes to every section, from the command line. */
export interface SectionContext {
  /** Few rounds, small inputs: CI runs this so the benchmark cannot rot. Must take seconds. */
  readonly quick: boolean;
  /** `--rounds N`: measured rounds per case (each section picks its own default). */
  readonly rounds: number | undefined;
  /** `--cases a,b`: run only these cases (by name) where a section supports it (profiling). */
  readonly cases: readonly string[] | undefined;
  /** Progress output (stderr), so stdout stays the report. */
  log(message: string): void;
}

/** One result row; sections add their own numeric or string fields. */
export interface ResultRow {
  readonly name: string;
  readonly rounds: number;
  readonly [field: string]: unknown;
}

/** A pass/fail line under a section's table. Informational: benchmarks do not fail the process. */
export interface Check {
  readonly label: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface SectionReport {
  /** Key under `params` in the JSON report, e.g. `hotPath`. */
  readonly id: string;
  readonly title: string;
  readonly params: Record<string, unknown>;
  readonly results: readonly ResultRow[];
  /** Merged into the report's top-level `targets`: keys must be unique across sections. */
  readonly targets: Record<string, number>;
  readonly checks: readonly Check[];
  /** What to print for this section (table and notes), without the checks. */
  readonly text: string;
}

export interface Section {
  /** Command-line name, for `--only`. */
  readonly name: string;
  run(ctx: SectionContext): Promise<SectionReport>;
}

// ---- timing -----------------------------------------------------------------------------------

/** One timed step of a case's round. Only `counted` phases add up to the round's total. */
export interface Phase {
  readonly name: string;
  /** Synchronous, or a promise that is awaited inside the timed region. */
  readonly run: () => unknown;
  /** Default true. Uncounted phases run after the counted ones, for information only. */
  readonly counted?: boolean;
}

export interface BenchCase {
  readonly name: string;
  readonly phases: readonly Phase[];
}

export interface RunOptions {
  readonly rounds: number;
  readonly warmupRounds: number;
  /** Run a full GC (untimed) before each case's round, so one case's garbage does not bill the next. */
  readonly gcBetweenCases?: boolean;
  /**
   * The order of the cases within a round. `rotate` (default): shifted by one each round.
   * `shuffle`: a new order each round, from a fixed-seed PRNG (the same orders every run), so
   * that each case follows each other case about equally often. Under rotation case i follows case
   * i - 1 in all but one round in n: whatever a case leaves behind (garbage, evicted caches,
   * socket state) is then billed mostly to one other case.
   */
  readonly order?: 'rotate' | 'shuffle';
  readonly log?: (message: string) => void;
}

export interface CaseTimings {
  readonly name: string;
  /** Nanoseconds per measured round, per phase name. */
  readonly phases: Readonly<Record<string, readonly number[]>>;
  /** Nanoseconds per measured round, counted phases summed. */
  readonly totals: readonly number[];
}

/**
 * Runs every case `warmupRounds + rounds` times. Rounds are interleaved (each round runs each case
 * once) and the order changes per round (RunOptions.order), so drift of the machine (thermal,
 * other tenants, JIT tiers) spreads over all cases instead of landing on one.
 */
export async function runInterleaved(cases: readonly BenchCase[], options: RunOptions): Promise<CaseTimings[]> {
  const gc = options.gcBetweenCases === false ? undefined : fullGc();
  const samples = cases.map((c) => ({
    name: c.name,
    phases: Object.fromEntries(c.phases.map((p) => [p.name, [] as number[]])) as Record<string, number[]>,
    totals: [] as number[],
  }));
  const total = options.warmupRounds + options.rounds;
  const order = cases.map((_, i) => i);
  const random = createRandom(1);
  for (let round = 0; round < total; round++) {
    const measured = round >= options.warmupRounds;
    if (options.order === 'shuffle') {
      for (let j = order.length - 1; j > 0; j--) {
        const r = Math.floor(random() * (j + 1));
        [order[j], order[r]] = [order[r] as number, order[j] as number];
      }
    }
    for (let k = 0; k < cases.length; k++) {
      const i = options.order === 'shuffle' ? (order[k] as number) : (k + round) % cases.length;
      const c = cases[i] as BenchCase;
      const s = samples[i] as (typeof samples)[number];
      gc?.();
      let sum = 0;
      for (const phase of c.phases) {
        const ns = await timeOnce(phase.run);
        if (!measured) continue;
        (s.phases[phase.name] as number[]).push(ns);
        if (phase.counted !== false) sum += ns;
      }
      if (measured) s.totals.push(sum);
    }
    if (options.log !== undefined && (round + 1) % 5 === 0) {
      options.log(`  round ${round + 1}/${total}${measured ? '' : ' (warm-up)'}`);
    }
  }
  return samples;
}

/**
 * How often a throughput section charges its instrumented case a collection: once per second of
 * traffic, 15 times the default Prometheus scrape rate. Such a case collects after every round
 * (so what it stages is flushed as it is live), but a round is 10-100 ms of traffic: counting each
 * collection whole would charge it tens to thousands of times as often as any deployment pays it
 * (the collection section measures its cost by itself).
 */
export const CHARGED_COLLECTION_INTERVAL_NS = 1e9;

/**
 * A case's round totals with its uncounted `collect` phase charged at CHARGED_COLLECTION_INTERVAL_NS:
 * round + collection × round / interval. Cases without that phase: their totals.
 */
export function withChargedCollection(t: CaseTimings): number[] {
  const collect = t.phases.collect;
  if (collect === undefined) return [...t.totals];
  return t.totals.map((ns, i) => ns + ((collect[i] as number) * ns) / CHARGED_COLLECTION_INTERVAL_NS);
}

/** Nanoseconds of one call (awaiting it when it returns a promise). */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = fn();
  if (isPromise(r)) await r;
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0);
}

function isPromise(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

let cachedGc: (() => void) | undefined | null = null;

/** global.gc, enabled at run time when node was not started with --expose-gc. */
export function fullGc(): (() => void) | undefined {
  if (cachedGc !== null) return cachedGc;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (cachedGc = g);
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    cachedGc = typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    cachedGc = undefined;
  }
  return cachedGc;
}

/** Keeps results alive so the JIT cannot drop the work that produced them. */
export const blackhole = { value: 0 as unknown, sum: 0 };

// ---- statistics -------------------------------------------------------------------------------

export interface Summary {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Linear-interpolated quantile of unsorted samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** Summary of samples, each divided by `per` (e.g. messages per round, for ns per message). */
export function summarize(samples: readonly number[], per = 1): Summary {
  const v = samples.map((x) => x / per);
  return {
    median: median(v),
    p25: quantile(v, 0.25),
    p75: quantile(v, 0.75),
    min: v.length === 0 ? NaN : Math.min(...v),
    max: v.length === 0 ? NaN : Math.max(...v),
    n: v.length,
  };
}

// ---- output -----------------------------------------------------------------------------------

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** A Markdown table (pasteable into issues), padded for the terminal. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number): string => {
    const w = widths[i] as number;
    return columns[i]?.align === 'left' ? text.padEnd(w) : text.padStart(w);
  };
  const line = (cells: readonly string[]): string => `| ${cells.map((t, i) => cell(t, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i]?.align === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(columns.map((c) => c.header)), rule, ...rows.map(line)].join('\n');
}

/** Fixed decimals scaled to the magnitude: 3.42, 34.2, 342, 3,420. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${fmt(x)}x` : '-';
}

export function formatChecks(checks: readonly Check[]): string {
  return checks.map((c) => `${c.pass ? 'PASS' : 'MISS'}  ${c.label}: ${c.detail}`).join('\n');
}

export interface MachineInfo {
  readonly node: string;
  readonly v8: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly platform: string;
  readonly arch: string;
  readonly totalMemMiB: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    platform: platform(),
    arch: arch(),
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
  };
}

export interface JsonReport {
  readonly machine: MachineInfo;
  readonly generatedAt: string;
  readonly argv: readonly string[];
  /** Per section id. */
  readonly params: Record<string, Record<string, unknown>>;
  /** Every section's rows, each tagged with its section id. */
  readonly results: readonly ResultRow[];
  readonly targets: Record<string, number>;
  readonly checks: readonly (Check & { section: string })[];
}

/** Merges section reports into the JSON document written by `--json FILE`. */
export function buildJsonReport(reports: readonly SectionReport[], argv: readonly string[]): JsonReport {
  const params: Record<string, Record<string, unknown>> = {};
  const targets: Record<string, number> = {};
  const results: ResultRow[] = [];
  const checks: (Check & { section: string })[] = [];
  for (const r of reports) {
    params[r.id] = r.params;
    for (const [k, v] of Object.entries(r.targets)) {
      if (k in targets) throw new Error(`bench: target ${k} defined by two sections`);
      targets[k] = v;
    }
    for (const row of r.results) results.push({ section: r.id, ...row });
    for (const c of r.checks) checks.push({ section: r.id, ...c });
  }
  return { machine: machineInfo(), generatedAt: new Date().toISOString(), argv, params, results, targets, checks };
}

export function writeJson(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}
