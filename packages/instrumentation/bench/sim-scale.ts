/**
 * Simulation at scale: how long @p2p-otel/sim takes to run a large network for a simulated hour.
 *
 * The scenario is `catalog.scale(nodes)` (see packages/sim/src/catalog.ts and docs/simulation.md):
 * a ring plus one random chord per node (4 connections per node on average), each node gossiping
 * 1 kB to each peer every 4 s, health-checking each peer every 30 s, discovering every 60 s, every
 * node instrumented by the real P2pInstrumentation. A round is one whole `simulate()` call: starting
 * the nodes, the simulated hour, collecting every node's snapshot. Rounds are sequential (a
 * 1,000-node round takes about a minute: one round by default, `--rounds N` for more).
 *
 * Reported per size: wall seconds per simulated hour (the headline; the median over rounds), its
 * split into start / run / collect, process CPU seconds, virtual timers fired per wall second (the
 * simulator's events: every timeout, interval round and immediate), messages per simulated second,
 * and the live heap the run holds at its end (after a full GC, taken while every node is still up,
 * less the heap before the run; the GC is not timed).
 */
import { loadavg } from 'node:os';
import { catalog, simulate, type SimulationResult } from '@p2p-otel/sim';
import { fmt, formatTable, fullGc, median, type Check, type ResultRow, type Section, type SectionContext, type SectionReport } from './harness.js';

export const SIM_SCALE_TARGETS = { simScale1000NodeHourWallS: 60 } as const;

const HOUR_MS = 3_600_000;
const SEED = 1;

/** Real clocks, taken before any simulation replaces `performance` with the virtual one. */
const realNow = performance.now.bind(performance);

interface Size {
  readonly nodes: number;
  readonly durationMs: number;
  readonly rounds: number;
}

export interface SimScaleParams {
  quick: boolean;
  sizes: readonly Size[];
  /** An untimed run first (JIT warm-up): nodes and simulated ms. */
  warmup: { nodes: number; durationMs: number };
  seed: number;
}

export function simScaleParams(ctx: Pick<SectionContext, 'quick' | 'rounds' | 'cases'>): SimScaleParams {
  const all: Size[] = ctx.quick
    ? [{ nodes: 100, durationMs: 300_000, rounds: ctx.rounds ?? 3 }]
    : [
        { nodes: 100, durationMs: HOUR_MS, rounds: ctx.rounds ?? 3 },
        { nodes: 1_000, durationMs: HOUR_MS, rounds: ctx.rounds ?? 1 },
      ];
  const sizes = all.filter((s) => ctx.cases === undefined || ctx.cases.includes(String(s.nodes)));
  return { quick: ctx.quick, sizes, warmup: { nodes: 100, durationMs: ctx.quick ? 30_000 : 60_000 }, seed: SEED };
}

interface RoundResult {
  wallS: number;
  startS: number;
  runS: number;
  collectS: number;
  cpuS: number;
  timers: number;
  messages: number;
  heapMiB: number;
}

/** One simulate() call, timed in real time; the end-of-run GC and heap reading are not counted. */
async function runOnce(nodes: number, durationMs: number, seed: number, measureHeap: boolean): Promise<RoundResult> {
  const gc = fullGc();
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let started = 0;
  let ended = 0;
  let gcMs = 0;
  let heapBytes = NaN;
  const cpu0 = process.cpuUsage();
  const t0 = realNow();
  const result: SimulationResult = await simulate(
    {
      ...catalog.scale(nodes, durationMs),
      script: (world) => {
        started = realNow(); // every node started (script runs at virtual time 0, after them)
        world.at(durationMs, () => {
          ended = realNow();
          if (measureHeap && gc !== undefined) {
            gc();
            heapBytes = process.memoryUsage().heapUsed - heapBefore;
          }
          gcMs = realNow() - ended;
        });
      },
    },
    { seed, events: false },
  );
  const t1 = realNow();
  const cpu = process.cpuUsage(cpu0);
  let messages = 0;
  for (const node of Object.values(result.snapshot)) for (const p of node.metrics.p2p_messages_sent ?? []) messages += p.value as number;
  const wallMs = t1 - t0 - gcMs;
  return {
    wallS: wallMs / 1_000,
    startS: (started - t0) / 1_000,
    runS: (ended - started) / 1_000,
    collectS: (t1 - ended - gcMs) / 1_000,
    cpuS: (cpu.user + cpu.system) / 1e6 - gcMs / 1_000,
    timers: result.timersFired,
    messages,
    heapMiB: heapBytes / 2 ** 20,
  };
}

export interface SimScaleRow extends ResultRow {
  readonly nodes: number;
  readonly simulatedS: number;
  /** Headline: median wall seconds of a round, scaled to one simulated hour (exact for hour-long rounds). */
  readonly wallSPerSimHour: number;
  readonly wallS: number;
  readonly wallSMin: number;
  readonly wallSMax: number;
  readonly startS: number;
  readonly runS: number;
  readonly collectS: number;
  readonly cpuS: number;
  readonly timersFired: number;
  readonly eventsPerWallS: number;
  readonly messagesPerSimS: number;
  readonly heapMiB: number;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

export const simScaleSection: Section = {
  name: 'sim-scale',
  async run(ctx: SectionContext): Promise<SectionReport> {
    const params = simScaleParams(ctx);
    if (params.sizes.length === 0) throw new Error(`bench sim-scale: no size matches --cases ${ctx.cases?.join(',')} (100, 1000)`);
    const loadBefore = load();
    ctx.log(`sim-scale: warm-up ${params.warmup.nodes} nodes x ${params.warmup.durationMs / 1_000} s; load average ${loadBefore}`);
    await runOnce(params.warmup.nodes, params.warmup.durationMs, params.seed, false);

    const results: SimScaleRow[] = [];
    for (const size of params.sizes) {
      const rounds: RoundResult[] = [];
      for (let r = 0; r < size.rounds; r++) {
        ctx.log(`sim-scale: ${size.nodes} nodes x ${size.durationMs / 1_000} s, round ${r + 1}/${size.rounds}`);
        const round = await runOnce(size.nodes, size.durationMs, params.seed, r === 0);
        ctx.log(`  ${fmt(round.wallS)} s wall (start ${fmt(round.startS)}, run ${fmt(round.runS)}, collect ${fmt(round.collectS)}), ${round.timers.toLocaleString('en-US')} timers`);
        rounds.push(round);
      }
      const wall = rounds.map((r) => r.wallS);
      const mid = (pick: (r: RoundResult) => number): number => median(rounds.map(pick));
      const simulatedS = size.durationMs / 1_000;
      results.push({
        name: `${size.nodes} nodes`,
        rounds: rounds.length,
        nodes: size.nodes,
        simulatedS,
        wallSPerSimHour: (median(wall) * HOUR_MS) / size.durationMs,
        wallS: median(wall),
        wallSMin: Math.min(...wall),
        wallSMax: Math.max(...wall),
        startS: mid((r) => r.startS),
        runS: mid((r) => r.runS),
        collectS: mid((r) => r.collectS),
        cpuS: mid((r) => r.cpuS),
        timersFired: rounds[0]?.timers ?? 0,
        eventsPerWallS: mid((r) => r.timers / r.wallS),
        messagesPerSimS: (rounds[0]?.messages ?? 0) / simulatedS,
        heapMiB: rounds[0]?.heapMiB ?? NaN,
      });
    }
    const loadAfter = load();

    const table = formatTable(
      [
        { header: 'nodes', align: 'left' },
        { header: 'simulated' },
        { header: 'rounds' },
        { header: 'wall s per simulated hour' },
        { header: 'wall s (min-max)' },
        { header: 'start / run / collect s' },
        { header: 'CPU s' },
        { header: 'events per wall s' },
        { header: 'messages per simulated s' },
        { header: 'heap MiB' },
      ],
      results.map((r) => [
        r.name,
        r.simulatedS >= 3_600 ? `${fmt(r.simulatedS / 3_600)} h` : `${fmt(r.simulatedS / 60)} min`,
        String(r.rounds),
        fmt(r.wallSPerSimHour) + (r.simulatedS < 3_600 ? ' (scaled)' : ''),
        `${fmt(r.wallS)} (${fmt(r.wallSMin)}-${fmt(r.wallSMax)})`,
        `${fmt(r.startS)} / ${fmt(r.runS)} / ${fmt(r.collectS)}`,
        fmt(r.cpuS),
        Math.round(r.eventsPerWallS).toLocaleString('en-US'),
        fmt(r.messagesPerSimS),
        fmt(r.heapMiB),
      ]),
    );
    const text = [
      `catalog.scale(nodes): ring + one random chord per node (~4 connections each), gossip 1 kB per connection every 4 s,`,
      `health checks every 30 s, static discovery every 60 s, 20 ms + 0-10 ms links; every node instrumented by P2pInstrumentation.`,
      `A round is one simulate() call (seed ${params.seed}, no event log): start the nodes, run, collect every snapshot. Wall figures are`,
      `medians over sequential rounds (rounds = 1: that round); events are virtual timers fired; heap: what the run holds live at its end`,
      `(full GC, untimed; first round). Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}. On a shared machine the`,
      `wall figures move with the load: compare runs taken under similar load.`,
      '',
      table,
    ].join('\n');

    const checks: Check[] = [];
    const big = results.find((r) => r.nodes === 1_000 && r.simulatedS === HOUR_MS / 1_000);
    if (big !== undefined) {
      checks.push({
        label: `1,000-node simulated hour < ${SIM_SCALE_TARGETS.simScale1000NodeHourWallS} s wall`,
        pass: big.wallS < SIM_SCALE_TARGETS.simScale1000NodeHourWallS,
        detail: `${fmt(big.wallS)} s (${big.rounds === 1 ? '1 round' : `median of ${big.rounds} rounds`}; CPU ${fmt(big.cpuS)} s; load average before ${loadBefore}, after ${loadAfter})`,
      });
    }
    return {
      id: 'simScale',
      title: 'Simulation at scale: wall time per simulated hour (@p2p-otel/sim, catalog.scale)',
      params: { ...params, loadBefore, loadAfter },
      results,
      targets: { ...SIM_SCALE_TARGETS },
      checks,
      text: params.quick ? `${text}\n[--quick: 100 nodes x 5 simulated min, scaled to an hour; the 1,000-node hour (and its check) runs without --quick]` : text,
    };
  },
};
