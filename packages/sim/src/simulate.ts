import type { DiscoveryFailureReason, DiscoveryMethod } from '@p2p-otel/instrumentation';
import { Network, type LinkSpec } from './network.js';
import { DEFAULT_BEHAVIOUR, NodeProcess, type ChurnOptions, type NodeBehaviour, type WorldLink } from './node.js';
import { createRandom, type Random } from './random.js';
import { collectNode, type NodeSnapshot, type Snapshot } from './snapshot.js';
import type { SimTransport } from './transport.js';
import { withVirtualTime, type VirtualClock } from './virtual-time.js';

/** A node by index (0-based) or id (`n0`, `n1`, …). */
export type NodeRef = number | string;

/** One entry of the event log. `t` is virtual ms since the start of the run. */
export interface SimEvent {
  t: number;
  node?: string;
  kind: string;
  [detail: string]: unknown;
}

/** Scripted changes to the world, each at a virtual time (ms since start). */
export type Step =
  | { at: number; do: 'partition'; groups: NodeRef[][] }
  | { at: number; do: 'heal' }
  | { at: number; do: 'crash'; node: NodeRef }
  | { at: number; do: 'restart'; node: NodeRef }
  | { at: number; do: 'link'; between?: [NodeRef, NodeRef]; set: Partial<LinkSpec> }
  | { at: number; do: 'slow'; node: NodeRef; processingMs: number }
  | { at: number; do: 'failDiscovery'; node?: NodeRef; method: DiscoveryMethod; reason: DiscoveryFailureReason | null }
  | { at: number; do: 'sync'; node: NodeRef; from: NodeRef; resourceType: string; bytes: number; chunkBytes?: number }
  | { at: number; do: 'send'; node: NodeRef; to: NodeRef; type?: string; bytes: number; count?: number }
  | ({ at: number; do: 'churn'; node: NodeRef } & ChurnOptions)
  | { at: number; do: (world: World) => void };

export interface Scenario {
  name?: string;
  /** Number of nodes, named n0 … n{N-1}. */
  nodes: number;
  /** The overlay: who dials whom (default full mesh). Pairs are undirected: both ends dial. */
  links?: 'full-mesh' | 'ring' | 'star' | [number, number][];
  /** Every link's latency, jitter, loss and bandwidth (see LinkSpec). */
  link?: Partial<LinkSpec>;
  /** Every node's behaviour over the defaults (DEFAULT_BEHAVIOUR). */
  behaviour?: Partial<NodeBehaviour>;
  /** Per node index, over `behaviour`. */
  nodeBehaviour?: Record<number, Partial<NodeBehaviour>>;
  /** Length of the run, virtual ms. */
  durationMs: number;
  /** Scripted changes. */
  steps?: Step[];
  /** Called once at time 0, after the nodes started: schedule anything with world.at(). */
  script?: (world: World) => void;
  /**
   * Called each time a node's process starts (and restarts), after its own loops started: add
   * application behaviour with the process's `every`, `after`, `send`, or its connector,
   * transport and manager. Its timers stop when the process crashes.
   */
  onStart?: (process: NodeProcess, world: World) => void;
}

export interface SimulateOptions {
  seed: number;
  /** Keep the event log (default true). */
  events?: boolean;
}

export interface SimulationResult {
  /** Per node id: the exported metric snapshot at the end of the run. */
  snapshot: Snapshot;
  events: SimEvent[];
  /** Virtual ms simulated. */
  durationMs: number;
  /** Virtual timers fired during the run (every timeout, interval round and immediate): its events, for throughput figures. */
  timersFired: number;
}

/** The world as a script sees it. */
export interface World {
  /** Virtual ms since the start. */
  readonly now: number;
  readonly nodeIds: readonly string[];
  readonly random: Random;
  /** Runs `fn` at virtual time `ms` since the start (or now, when that is past). */
  at(ms: number, fn: () => void): void;
  partition(groups: NodeRef[][]): void;
  heal(): void;
  crash(node: NodeRef): void;
  restart(node: NodeRef): void;
  /** Changes the link between two nodes, or every link. */
  setLink(set: Partial<LinkSpec>, between?: [NodeRef, NodeRef]): void;
  /** Sets a node's per-message processing time (a slow consumer). */
  slow(node: NodeRef, processingMs: number): void;
  /** Makes `method` lookups fail with `reason` (null: succeed again), on one node or all. */
  failDiscovery(method: DiscoveryMethod, reason: DiscoveryFailureReason | null, node?: NodeRef): void;
  /** `node` pulls `bytes` of `resourceType` from `from`. */
  sync(node: NodeRef, from: NodeRef, resourceType: string, bytes: number, chunkBytes?: number): void;
  /** `node` sends `count` messages of `bytes` to `to`. */
  send(node: NodeRef, to: NodeRef, bytes: number, type?: string, count?: number): void;
  /** Short-lived peers appear at `node` (see ChurnOptions). */
  churn(node: NodeRef, options: ChurnOptions): void;
  /** The running process of a node (undefined while it is down): its instrumentation, connector, transport, manager. */
  process(node: NodeRef): NodeProcess | undefined;
  /** The node's metric snapshot now. */
  collect(node: NodeRef): NodeSnapshot;
  log(kind: string, details?: Record<string, unknown>, node?: NodeRef): void;
}

interface SimNode {
  id: string;
  index: number;
  neighbours: string[];
  behaviour: NodeBehaviour;
  process: NodeProcess | undefined;
  incarnation: number;
  /** Taken when the process crashed. */
  last: NodeSnapshot | undefined;
}

function overlay(n: number, links: Scenario['links']): [number, number][] {
  const pairs: [number, number][] = [];
  if (links === undefined || links === 'full-mesh') for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) pairs.push([a, b]);
  else if (links === 'ring') for (let a = 0; a < n && n > 1; a++) pairs.push([a, (a + 1) % n]);
  else if (links === 'star') for (let b = 1; b < n; b++) pairs.push([0, b]);
  else pairs.push(...links);
  return pairs;
}

class SimWorld implements World, WorldLink {
  readonly net: Network;
  readonly nodes: SimNode[];
  readonly events: SimEvent[] = [];
  private readonly epochMs: number;
  private readonly byId = new Map<string, SimNode>();
  private readonly failures = new Map<string, DiscoveryFailureReason>();
  private readonly processing = new Map<string, number>();
  /** Bumped whenever a process starts or crashes or a connection is made or dropped. */
  private overlayVersion = 0;
  /** connectedAdjacency() as of overlayVersion: neighbour lists, sorted. */
  private overlay: { version: number; adjacency: Map<string, readonly string[]> } | undefined;

  constructor(
    private readonly scenario: Scenario,
    readonly random: Random,
    /** The virtual clock (its `now` is what Date.now() returns, read without going through Date). */
    private readonly time: VirtualClock,
    private readonly keepEvents: boolean,
  ) {
    this.epochMs = time.now;
    this.net = new Network(scenario.link ?? {}, random.fork('network'));
    const ids = Array.from({ length: scenario.nodes }, (_, i) => `n${i}`);
    const neighbours = ids.map(() => new Set<string>());
    for (const [a, b] of overlay(scenario.nodes, scenario.links)) {
      if (a === b || ids[a] === undefined || ids[b] === undefined) throw new RangeError(`bad link [${a}, ${b}]`);
      neighbours[a]!.add(ids[b]!);
      neighbours[b]!.add(ids[a]!);
    }
    this.nodes = ids.map((id, index) => {
      const behaviour = { ...DEFAULT_BEHAVIOUR, ...scenario.behaviour, ...scenario.nodeBehaviour?.[index] };
      this.processing.set(id, behaviour.processingMs);
      return { id, index, neighbours: [...neighbours[index]!], behaviour, process: undefined, incarnation: 0, last: undefined };
    });
    for (const node of this.nodes) this.byId.set(node.id, node);
  }

  get now(): number {
    return this.time.now - this.epochMs;
  }

  get nodeIds(): readonly string[] {
    return this.nodes.map((n) => n.id);
  }

  node(ref: NodeRef): SimNode {
    const node = typeof ref === 'number' ? this.nodes[ref] : this.byId.get(ref);
    if (node === undefined) throw new RangeError(`no node ${String(ref)}`);
    return node;
  }

  // WorldLink
  clock(): number {
    return this.time.now;
  }

  logNode(node: string, kind: string, details: Record<string, unknown> = {}): void {
    this.log(kind, details, node);
  }

  log(kind: string, details: Record<string, unknown> = {}, node?: NodeRef): void {
    if (!this.keepEvents) return;
    const id = node === undefined ? undefined : typeof node === 'string' ? node : this.node(node).id;
    this.events.push(id === undefined ? { t: this.now, kind, ...details } : { t: this.now, node: id, kind, ...details });
  }

  transportOf(id: string): SimTransport | undefined {
    return this.byId.get(id)?.process?.transport;
  }

  processingMsOf(id: string): number {
    return this.processing.get(id) ?? 0;
  }

  discoveryFailure(id: string, method: DiscoveryMethod): DiscoveryFailureReason | undefined {
    return this.failures.get(`${id}/${method}`) ?? this.failures.get(`*/${method}`);
  }

  overlayChanged(): void {
    this.overlayVersion++;
  }

  connectedAdjacency(): ReadonlyMap<string, readonly string[]> {
    // Rebuilt only after a change: every node publishing its view every few seconds would
    // otherwise cost nodes × links each time.
    if (this.overlay?.version === this.overlayVersion) return this.overlay.adjacency;
    const sets = new Map<string, Set<string>>();
    const add = (a: string, b: string): void => {
      let set = sets.get(a);
      if (set === undefined) sets.set(a, (set = new Set()));
      set.add(b);
    };
    for (const node of this.nodes) {
      for (const peer of node.process?.connections.keys() ?? []) {
        if (this.transportOf(peer) === undefined) continue;
        add(node.id, peer);
        add(peer, node.id);
      }
    }
    const adjacency = new Map<string, readonly string[]>();
    for (const [id, set] of sets) adjacency.set(id, [...set].sort());
    this.overlay = { version: this.overlayVersion, adjacency };
    return adjacency;
  }

  // World
  at(ms: number, fn: () => void): void {
    setTimeout(fn, Math.max(0, ms - this.now));
  }

  partition(groups: NodeRef[][]): void {
    const ids = groups.map((g) => g.map((r) => this.node(r).id));
    this.net.partition(ids);
    this.log('partition', { groups: ids });
  }

  heal(): void {
    this.net.heal();
    this.log('heal');
  }

  start(node: SimNode): void {
    node.incarnation++;
    node.process = new NodeProcess(node.id, node.incarnation, node.neighbours, node.behaviour, this, this.random.fork(`${node.id}#${node.incarnation}`));
    this.overlayChanged();
    node.process.start();
    this.scenario.onStart?.(node.process, this);
  }

  crash(ref: NodeRef): void {
    const node = this.node(ref);
    if (node.process === undefined) return;
    node.last = collectNode(node.process.producer, this.epochMs, false, node.incarnation);
    node.process.crash();
    node.process = undefined;
    this.overlayChanged();
    this.log('crash', {}, node.id);
  }

  restart(ref: NodeRef): void {
    const node = this.node(ref);
    if (node.process !== undefined) return;
    this.log('restart', {}, node.id);
    this.start(node);
  }

  setLink(set: Partial<LinkSpec>, between?: [NodeRef, NodeRef]): void {
    if (between === undefined) this.net.setLink(set);
    else this.net.setLink(set, this.node(between[0]).id, this.node(between[1]).id);
    this.log('link', { ...set, ...(between === undefined ? {} : { between: between.map((r) => this.node(r).id) }) });
  }

  slow(ref: NodeRef, processingMs: number): void {
    const node = this.node(ref);
    this.processing.set(node.id, processingMs);
    this.log('slow', { processingMs }, node.id);
  }

  failDiscovery(method: DiscoveryMethod, reason: DiscoveryFailureReason | null, ref?: NodeRef): void {
    const key = `${ref === undefined ? '*' : this.node(ref).id}/${method}`;
    if (reason === null) this.failures.delete(key);
    else this.failures.set(key, reason);
    this.log('fail_discovery', { method, reason, ...(ref === undefined ? {} : { target: this.node(ref).id }) });
  }

  sync(ref: NodeRef, from: NodeRef, resourceType: string, bytes: number, chunkBytes = 65_536): void {
    void this.node(ref).process?.sync(this.node(from).id, resourceType, bytes, chunkBytes);
  }

  send(ref: NodeRef, to: NodeRef, bytes: number, type = 'gossip', count = 1): void {
    const p = this.node(ref).process;
    for (let i = 0; i < count; i++) p?.send(this.node(to).id, type, bytes);
  }

  churn(ref: NodeRef, options: ChurnOptions): void {
    const node = this.node(ref);
    this.log('churn', { peers: options.peers }, node.id);
    node.process?.churn(options);
  }

  process(ref: NodeRef): NodeProcess | undefined {
    return this.node(ref).process;
  }

  collect(ref: NodeRef): NodeSnapshot {
    const node = this.node(ref);
    if (node.process === undefined) return node.last ?? { up: false, incarnation: node.incarnation, startTimeMs: 0, endTimeMs: 0, metrics: {}, errors: [] };
    return collectNode(node.process.producer, this.epochMs, true, node.incarnation);
  }

  apply(step: Step): void {
    switch (step.do) {
      case 'partition':
        return this.partition(step.groups);
      case 'heal':
        return this.heal();
      case 'crash':
        return this.crash(step.node);
      case 'restart':
        return this.restart(step.node);
      case 'link':
        return this.setLink(step.set, step.between);
      case 'slow':
        return this.slow(step.node, step.processingMs);
      case 'failDiscovery':
        return this.failDiscovery(step.method, step.reason, step.node);
      case 'sync':
        return this.sync(step.node, step.from, step.resourceType, step.bytes, step.chunkBytes);
      case 'send':
        return this.send(step.node, step.to, step.bytes, step.type, step.count);
      case 'churn': {
        const { at: _at, do: _do, node, ...options } = step;
        return this.churn(node, options);
      }
      default:
        return step.do(this);
    }
  }
}

/**
 * Runs `scenario` in virtual time with `seed`: the same scenario and seed give the same snapshot
 * and event log, byte for byte. Every timer, Date.now() and performance.now() seen by the
 * simulated nodes and their instrumentation is virtual for the duration of the call.
 */
export async function simulate(scenario: Scenario, options: SimulateOptions): Promise<SimulationResult> {
  return withVirtualTime(async (clock) => {
    const world = new SimWorld(scenario, createRandom(options.seed), clock, options.events ?? true);
    try {
      for (const node of world.nodes) world.start(node);
      const steps = [...(scenario.steps ?? [])].sort((a, b) => a.at - b.at);
      for (const step of steps) world.at(step.at, () => world.apply(step));
      scenario.script?.(world);
      await clock.tickAsync(scenario.durationMs);
      const snapshot: Snapshot = {};
      for (const node of world.nodes) snapshot[node.id] = world.collect(node.id);
      return { snapshot, events: world.events, durationMs: scenario.durationMs, timersFired: clock.fired };
    } finally {
      for (const node of world.nodes) {
        node.process?.stop();
        node.process?.p2p.disable();
      }
      // Let promise chains still in flight see the stopped processes while time is still virtual.
      for (let i = 0; i < 100; i++) await Promise.resolve();
    }
  });
}
