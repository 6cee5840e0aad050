import { createRandom } from './random.js';
import type { Scenario } from './simulate.js';

/**
 * Ready-made scenarios. Jitter is off in their node behaviour (traffic and health rounds on exact
 * periods) and links have no latency jitter unless the scenario is about it, so that their
 * metrics can be predicted by hand; see packages/sim/test/catalog.test.ts for the derivations.
 */
const exact = { trafficJitter: 0, healthJitter: 0 } as const;

export const catalog = {
  /** Five nodes, full mesh, 20 ms links: every node gossips 1 kB to every peer each second. */
  healthyCluster: (durationMs = 60_000): Scenario => ({ name: 'healthy cluster', nodes: 5, durationMs, behaviour: exact }),

  /** n0,n1 | n2,n3,n4 from 10 s to 40 s: sends time out, breakers open, the cluster heals. */
  partitionAndHeal: (): Scenario => ({
    name: 'partition and heal',
    nodes: 5,
    durationMs: 60_000,
    behaviour: exact,
    steps: [
      {
        at: 10_000,
        do: 'partition',
        groups: [
          [0, 1],
          [2, 3, 4],
        ],
      },
      { at: 40_000, do: 'heal' },
    ],
  }),

  /** n2 crashes at 10 s and comes back at 35 s: its peers' breakers open, half-open, reopen, close. */
  flappingPeer: (): Scenario => ({
    name: 'flapping peer',
    nodes: 3,
    durationMs: 60_000,
    behaviour: exact,
    steps: [
      { at: 10_000, do: 'crash', node: 2 },
      { at: 35_000, do: 'restart', node: 2 },
    ],
  }),

  /** n2 takes 500 ms per message: its senders' 16-message queues back up and overflow. */
  slowConsumer: (): Scenario => ({
    name: 'slow consumer',
    nodes: 3,
    durationMs: 10_000,
    behaviour: { ...exact, trafficIntervalMs: 200, queueCapacity: 16 },
    nodeBehaviour: { 2: { processingMs: 500 } },
  }),

  /** 5 % packet loss on every link: retransmissions show in latency; sends still succeed. */
  lossyLinks: (loss = 0.05): Scenario => ({ name: `${loss * 100} % loss`, nodes: 3, durationMs: 60_000, behaviour: exact, link: { loss } }),

  /** mDNS times out everywhere for 30 s, DNS never finds anything on n0; static discovery carries on. */
  discoveryFailing: (): Scenario => ({
    name: 'discovery failing per method',
    nodes: 3,
    durationMs: 60_000,
    behaviour: { ...exact, discoveryMethods: ['mdns', 'dns', 'static'], discoveryIntervalMs: 10_000 },
    steps: [
      { at: 0, do: 'failDiscovery', method: 'mdns', reason: 'timeout' },
      { at: 0, do: 'failDiscovery', method: 'dns', reason: 'not_found', node: 0 },
      { at: 30_000, do: 'failDiscovery', method: 'mdns', reason: null },
    ],
  }),

  /** n0 pulls 1 MB from n1 (completes), then 1 MB from n2, which crashes half-way. */
  resourceSync: (): Scenario => ({
    name: 'resource sync',
    nodes: 3,
    durationMs: 60_000,
    behaviour: { ...exact, trafficIntervalMs: 0, healthIntervalMs: 0 },
    steps: [
      { at: 1_000, do: 'sync', node: 0, from: 1, resourceType: 'blob', bytes: 1_000_000, chunkBytes: 100_000 },
      { at: 5_000, do: 'sync', node: 0, from: 2, resourceType: 'blob', bytes: 1_000_000, chunkBytes: 100_000 },
      { at: 5_500, do: 'crash', node: 2 },
    ],
  }),

  /** A ring of six: diameter 3; n3 crashes at 30 s, the ring becomes a path and the diameter 4. */
  ringLosesANode: (): Scenario => ({
    name: 'ring loses a node',
    nodes: 6,
    links: 'ring',
    durationMs: 60_000,
    behaviour: { ...exact, trafficIntervalMs: 0, healthIntervalMs: 0 },
    steps: [{ at: 30_000, do: 'crash', node: 3 }],
  }),

  /**
   * Relay-only peers: n3 and n4 sit behind NAT and can only be reached through the relay n0,
   * which they find by `relay` discovery. The relay is down from 30 s to 40 s: n3 and n4 are cut
   * off, the diameter n1 sees shrinks from 2 to 1, then grows back once everyone reconnected.
   */
  relayOnlyPeers: (): Scenario => ({
    name: 'relay-only peers',
    nodes: 5,
    links: [
      [0, 1],
      [0, 2],
      [1, 2],
      [0, 3],
      [0, 4],
    ],
    durationMs: 60_000,
    behaviour: { ...exact, healthIntervalMs: 0 },
    nodeBehaviour: { 3: { discoveryMethods: ['relay'] }, 4: { discoveryMethods: ['relay'] } },
    steps: [
      { at: 30_000, do: 'crash', node: 0 },
      { at: 40_000, do: 'restart', node: 0 },
    ],
  }),

  /**
   * A large network in steady state, for throughput: the `sim-scale` benchmark runs it with 1,000
   * nodes for a simulated hour. The overlay is `scaleOverlay(nodes)`, a ring plus one random chord
   * per node (4 connections per node on average, a small random gossip mesh). Each node gossips
   * 1 kB to each connected peer every 4 s ±10 % (about one message sent and one received per node
   * per second: 1,000 messages a simulated second at 1,000 nodes), health-checks each peer every
   * 30 s, repeats static discovery every 60 s and redials missing neighbours every second (as
   * every scenario does); links are 20 ms + up to 10 ms of jitter. Only n0 publishes the overlay
   * it sees (every 60 s), as a monitoring node would: that snapshot names every node, and each
   * publisher would keep a graph of the whole network and compute its diameter (nodes × links).
   */
  scale: (nodes = 1_000, durationMs = 3_600_000): Scenario => ({
    name: `scale ${nodes}`,
    nodes,
    links: scaleOverlay(nodes),
    durationMs,
    link: { latencyMs: 20, jitterMs: 10 },
    behaviour: { trafficIntervalMs: 4_000, healthIntervalMs: 30_000, discoveryIntervalMs: 60_000, topologyIntervalMs: 0 },
    nodeBehaviour: { 0: { topologyIntervalMs: 60_000 } },
  }),

  /** 100,000 short-lived peers (100 every 100 ms, each known for 5 s, one message each) at n0. */
  cardinalityStorm: (peers = 100_000): Scenario => ({
    name: 'cardinality storm',
    nodes: 2,
    durationMs: Math.ceil(peers / 100) * 100 + 10_000,
    behaviour: { ...exact, trafficIntervalMs: 0, healthIntervalMs: 0 },
    steps: [{ at: 1_000, do: 'churn', node: 0, peers, batch: 100, everyMs: 100, lifetimeMs: 5_000 }],
  }),
} as const;

/**
 * The overlay of `catalog.scale`: a ring (n{i} - n{i+1}) plus, from each node, one chord to a node
 * drawn at random (the same for the same size) that it is not linked to yet. Every node has two
 * ring links and about two chords: a connected graph whose diameter grows like log(nodes).
 */
export function scaleOverlay(nodes: number): [number, number][] {
  const random = createRandom(nodes).fork('overlay');
  const pairs: [number, number][] = [];
  const linked = new Set<string>();
  const add = (a: number, b: number): boolean => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || linked.has(key)) return false;
    linked.add(key);
    pairs.push([a, b]);
    return true;
  };
  for (let i = 0; i < nodes && nodes > 1; i++) add(i, (i + 1) % nodes);
  if (nodes > 3) for (let i = 0; i < nodes; i++) for (let tries = 0; tries < 10 && !add(i, Math.floor(random() * nodes)); tries++);
  return pairs;
}
