import { catalog, histogram, points, scaleOverlay, simulate, value, type NodeSnapshot, type Scenario } from '@p2p-otel/sim';

/**
 * The scale scenario the `sim-scale` benchmark runs (1,000 nodes, a simulated hour), at 50 nodes
 * for 5 simulated minutes: what it must show, as exact values where the scenario fixes them and
 * as invariants where the seeded jitter decides (never timing).
 */
const NODES = 50;
const DURATION_MS = 300_000;

/** Breadth-first hop counts from `from` over an undirected edge list. */
function hops(adjacency: Map<number, number[]>, from: number): Map<number, number> {
  const dist = new Map([[from, 0]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const next of adjacency.get(node) ?? []) {
      if (!dist.has(next)) {
        dist.set(next, dist.get(node)! + 1);
        queue.push(next);
      }
    }
  }
  return dist;
}

describe('scaleOverlay', () => {
  test.each([50, 1_000])('%i nodes: a ring plus about one chord per node, no duplicates, connected', (n) => {
    const pairs = scaleOverlay(n);
    const keys = new Set(pairs.map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`)));
    expect(keys.size).toBe(pairs.length);
    expect(pairs.every(([a, b]) => a !== b && a >= 0 && b >= 0 && a < n && b < n)).toBe(true);
    for (let i = 0; i < n; i++) expect(keys.has(i < (i + 1) % n ? `${i}-${(i + 1) % n}` : `${(i + 1) % n}-${i}`)).toBe(true);
    // One chord attempt per node; a draw that hits an existing link is redrawn (10 tries).
    expect(pairs.length).toBe(2 * n);
    const adjacency = new Map<number, number[]>();
    for (const [a, b] of pairs) {
      adjacency.set(a, [...(adjacency.get(a) ?? []), b]);
      adjacency.set(b, [...(adjacency.get(b) ?? []), a]);
    }
    expect(hops(adjacency, 0).size).toBe(n);
    expect(scaleOverlay(n)).toEqual(pairs); // the same for the same size
  });
});

describe(`scale scenario at ${NODES} nodes, ${DURATION_MS / 60_000} simulated minutes`, () => {
  const scenario: Scenario = catalog.scale(NODES, DURATION_MS);
  const b = scenario.behaviour!;
  const pairs = scaleOverlay(NODES);
  const neighbours = new Map<number, number[]>();
  for (const [x, y] of pairs) {
    neighbours.set(x, [...(neighbours.get(x) ?? []), y]);
    neighbours.set(y, [...(neighbours.get(y) ?? []), x]);
  }
  const id = (i: number): string => `n${i}`;
  let snapshot: Record<string, NodeSnapshot>;
  let timersFired: number;

  beforeAll(async () => {
    ({ snapshot, timersFired } = await simulate(scenario, { seed: 1, events: false }));
  });

  test('every node: connected to each neighbour once, breakers closed, no errors, nothing dropped', () => {
    for (let i = 0; i < NODES; i++) {
      const n = snapshot[id(i)]!;
      const peers = neighbours.get(i)!.map(id);
      expect([n.up, n.incarnation, n.startTimeMs, n.endTimeMs]).toEqual([true, 1, 0, DURATION_MS]);
      for (const peer of peers) {
        expect(value(n, 'p2p_connection_attempts', { peer_id: peer, result: 'success' })).toBe(1);
        expect(
          points(n, 'p2p_circuit_breaker_state', { peer_id: peer })
            .filter((p) => p.value === 1)
            .map((p) => p.attributes.state),
        ).toEqual(['closed']);
      }
      expect(value(n, 'p2p_connection_attempts')).toBe(peers.length);
      expect(value(n, 'p2p_connection_errors')).toBe(0);
      expect(value(n, 'p2p_connections_active', { state: 'connected' })).toBe(peers.length);
      expect(value(n, 'p2p_known_peers')).toBe(peers.length);
      expect(value(n, 'p2p_message_buffer_overflows')).toBe(0);
      expect(value(n, 'p2p_monitor_rejected_records')).toBe(0);
      // Static discovery rounds at 0, 60, … 300 s, each finding every neighbour.
      expect(value(n, 'p2p_discovered_peers', { discovery_method: 'static' })).toBe((DURATION_MS / b.discoveryIntervalMs! + 1) * peers.length);
    }
  });

  test('every message sent over a link was received at the other end; gossip rounds every period ±10 %', () => {
    const period = b.trafficIntervalMs!;
    // Gaps of period × [0.9, 1.1), the first round within the first period; a round's messages
    // still in flight at the end are neither sent nor received yet.
    const fewest = Math.floor((DURATION_MS - period) / (1.1 * period));
    const most = Math.ceil(DURATION_MS / (0.9 * period)) + 1;
    let total = 0;
    for (const [x, y] of pairs) {
      for (const [from, to] of [
        [x, y],
        [y, x],
      ] as const) {
        const sent = value(snapshot[id(from)]!, 'p2p_messages_sent', { peer_id: id(to), message_type: 'gossip' });
        expect(value(snapshot[id(to)]!, 'p2p_messages_received', { peer_id: id(from), message_type: 'gossip' })).toBe(sent);
        expect(value(snapshot[id(from)]!, 'p2p_bytes_sent', { peer_id: id(to) })).toBe(sent * 1_000);
        expect(sent).toBeGreaterThanOrEqual(fewest);
        expect(sent).toBeLessThanOrEqual(most);
        total += sent;
      }
    }
    // About (connections / period) messages per simulated second over the whole network.
    const perSecond = total / (DURATION_MS / 1_000);
    expect(perSecond).toBeGreaterThan(((2 * pairs.length) / (period / 1_000)) * 0.95);
    expect(perSecond).toBeLessThan(((2 * pairs.length) / (period / 1_000)) * 1.05);
  });

  test('latency: 20 ms + jitter below 10 ms + 1 ms on the wire + queueing behind the round’s other messages', () => {
    for (let i = 0; i < NODES; i++) {
      const n = snapshot[id(i)]!;
      const degree = neighbours.get(i)!.length;
      const latency = histogram(n, 'p2p_message_latency_milliseconds');
      expect(latency.min).toBeGreaterThanOrEqual(21);
      expect(latency.max).toBeLessThan(20 + 10 + degree);
      const rtt = histogram(n, 'p2p_rtt_milliseconds');
      expect(rtt.min).toBeGreaterThanOrEqual(40);
      expect(rtt.max).toBeLessThan(60);
      // Health rounds every period ±10 %, each pinging every neighbour.
      const rounds = rtt.count / degree;
      expect(Number.isInteger(rounds)).toBe(true);
      expect(rounds).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / (1.1 * b.healthIntervalMs!)) - 1);
      expect(rounds).toBeLessThanOrEqual(Math.ceil(DURATION_MS / (0.9 * b.healthIntervalMs!)));
    }
  });

  test('only n0 publishes the overlay: its distances and diameter are those of the overlay; the others see their own links', () => {
    const adjacency = new Map([...neighbours].map(([k, v]) => [k, v]));
    const fromN0 = hops(adjacency, 0);
    let diameter = 0;
    for (let i = 0; i < NODES; i++) for (const d of hops(adjacency, i).values()) diameter = Math.max(diameter, d);
    const n0 = snapshot.n0!;
    expect(value(n0, 'p2p_cluster_diameter_hops')).toBe(diameter);
    expect(Object.fromEntries(points(n0, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value]))).toEqual(
      Object.fromEntries([...fromN0].filter(([node]) => node !== 0).map(([node, d]) => [id(node), d])),
    );
    // The others know only their own links (peer_link_up): a star around themselves.
    for (let i = 1; i < NODES; i++) {
      const n = snapshot[id(i)]!;
      expect(Object.fromEntries(points(n, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value]))).toEqual(Object.fromEntries(neighbours.get(i)!.map((p) => [id(p), 1])));
      expect(value(n, 'p2p_cluster_diameter_hops')).toBe(2);
    }
  });

  test('the run fired its timers in virtual time', () => {
    // Per node and simulated second, at least: a reconnect tick, a breaker window rotation per peer.
    expect(timersFired).toBeGreaterThan(NODES * (DURATION_MS / 1_000) * 3);
  });
});
