/**
 * When the demo injects which fault. The plan repeats every 30 s with the victims rotating over
 * the followers (node 0, the raft leader, is never a victim). Times are from the start of a cycle;
 * the first cycle starts once every node is up.
 *
 *   1 s  burst    the leader sends 16 x 512 KiB raft messages at once to victim A (QUIC congestion)
 *   2 s  refuse   victim B refuses connections for 6 s: breakers open, half-open, close again
 *   3 s  slow     victim C reads each message 500 ms late for 6 s: send buffers overflow
 *   4 s  corrupt  victim D serves damaged resources for 8 s: syncs fail as corrupt
 *   6 s  crash    victim A is killed (SIGKILL) and restarted 3 s later with the same id and ports
 *
 * With `partition` (`pnpm demo --partition`), one more:
 *
 *  12 s  isolate  victim D is cut off from the network for 12 s: it holds no connection, its peers'
 *                 breakers for it stay open or half-open (what P2pPeerDisconnected and
 *                 P2pCircuitBreakerOpen alert on)
 *
 * With five nodes, A..D are the four followers; with fewer, victims share the faults.
 */
import type { Cluster } from './cluster.js';

export const CYCLE_MS = 30_000;

export interface PlannedFault {
  atMs: number;
  describe: string;
  run(cluster: Cluster): void | Promise<void>;
}

export interface PlanOptions {
  /** Adds the `isolate` fault at 12 s of each cycle (default false: the plan above). */
  partition?: boolean;
}

export function faultPlan(nodeCount: number, cycle: number, options: PlanOptions = {}): PlannedFault[] {
  if (nodeCount < 2) return [];
  const victim = (role: number): number => 1 + ((role + cycle) % (nodeCount - 1));
  const [a, b, c, d] = [victim(0), victim(1), victim(2), victim(3)];
  const plan: PlannedFault[] = [
    {
      atMs: 1_000,
      describe: `burst: node-0 sends 16 x 512 KiB to node-${a}`,
      run: (cluster) => {
        const peerId = cluster.nodes[a]?.id;
        if (peerId) cluster.fault(0, { kind: 'burst', peerId, count: 16, bytes: 512 * 1024 });
      },
    },
    { atMs: 2_000, describe: `node-${b} refuses connections for 6 s`, run: (cluster) => cluster.fault(b, { kind: 'refuse', durationMs: 6_000 }) },
    { atMs: 3_000, describe: `node-${c} becomes a slow consumer for 6 s`, run: (cluster) => cluster.fault(c, { kind: 'slow', durationMs: 6_000, delayMs: 500 }) },
    { atMs: 4_000, describe: `node-${d} serves corrupt resources for 8 s`, run: (cluster) => cluster.fault(d, { kind: 'corrupt', durationMs: 8_000 }) },
    { atMs: 6_000, describe: `node-${a} crashes, restarts 3 s later`, run: (cluster) => cluster.restart(a, 3_000, 'SIGKILL') },
  ];
  if (options.partition === true) {
    plan.push({ atMs: 12_000, describe: `node-${d} is cut off from the network for 12 s`, run: (cluster) => cluster.fault(d, { kind: 'isolate', durationMs: 12_000 }) });
  }
  return plan;
}

/** Runs the plan cycle after cycle until stopped. */
export class FaultSchedule {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly log: (line: string) => void,
    private readonly options: PlanOptions = {},
  ) {}

  start(cycle = 0): void {
    if (this.stopped) return;
    for (const fault of faultPlan(this.cluster.nodes.length, cycle, this.options)) {
      this.at(fault.atMs, () => {
        this.log(`fault: ${fault.describe}`);
        Promise.resolve(fault.run(this.cluster)).catch((error: unknown) => this.log(`fault failed: ${String(error)}`));
      });
    }
    this.at(CYCLE_MS, () => this.start(cycle + 1));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private at(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(timer);
  }
}
