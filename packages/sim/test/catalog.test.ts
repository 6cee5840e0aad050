import { catalog, histogram, points, simulate, value, type NodeSnapshot, type SimEvent } from '@p2p-otel/sim';

/**
 * Catalog scenarios with exact expected values. Links are 20 ms one way with no jitter, a gossip
 * message is 1,000 bytes (1 ms on a 1 MB/s wire), traffic and health rounds have no jitter: every
 * number below follows from the scenario, as the comments derive.
 */
const breakerLog = (events: SimEvent[], node: string, peer: string): string[] =>
  events.filter((e) => e.node === node && e.peer === peer && e.kind.startsWith('breaker_')).map((e) => `${e.t} ${e.kind.slice(8)}`);

const stateOf = (n: NodeSnapshot, peer: string): string[] =>
  points(n, 'p2p_circuit_breaker_state', { peer_id: peer })
    .filter((p) => p.value === 1)
    .map((p) => String(p.attributes.state));

describe('healthy cluster (5 nodes, full mesh, 60 s)', () => {
  let snapshot: Record<string, NodeSnapshot>;
  beforeAll(async () => {
    ({ snapshot } = await simulate(catalog.healthyCluster(), { seed: 1 }));
  });

  test.each(['n0', 'n1', 'n2', 'n3', 'n4'])('%s', (id) => {
    const n = snapshot[id]!;
    const peers = ['n0', 'n1', 'n2', 'n3', 'n4'].filter((p) => p !== id);
    expect([n.startTimeMs, n.endTimeMs, n.up, n.incarnation]).toEqual([0, 60_000, true, 1]);
    for (const peer of peers) {
      // One dial per peer: two 20 ms flights.
      expect(value(n, 'p2p_connection_attempts', { peer_id: peer, result: 'success' })).toBe(1);
      expect(histogram(n, 'p2p_handshake_duration_milliseconds', { peer_id: peer })).toEqual({ count: 1, sum: 40, min: 40, max: 40 });
      // Gossip rounds at 1 s, 2 s, … 60 s; the 60 s one has not arrived when the run ends.
      expect(value(n, 'p2p_messages_sent', { peer_id: peer, message_type: 'gossip' })).toBe(59);
      expect(value(n, 'p2p_bytes_sent', { peer_id: peer })).toBe(59_000);
      expect(value(n, 'p2p_messages_received', { peer_id: peer, message_type: 'gossip' })).toBe(59);
      // Health rounds start at 5 s and every 5 s after the previous round's 40 ms: 5000 + k × 5040 ≤ 59,960.
      expect(histogram(n, 'p2p_rtt_milliseconds', { peer_id: peer })).toEqual({ count: 11, sum: 440, min: 40, max: 40 });
      expect(stateOf(n, peer)).toEqual(['closed']);
    }
    expect(value(n, 'p2p_connection_errors')).toBe(0);
    expect(value(n, 'p2p_connections_active', { state: 'connected' })).toBe(4);
    expect(value(n, 'p2p_connections_pooled')).toBe(4);
    expect(value(n, 'p2p_connections_idle')).toBe(0);
    expect(value(n, 'p2p_known_peers')).toBe(4);
    expect(value(n, 'p2p_cluster_diameter_hops')).toBe(1);
    expect(points(n, 'p2p_peer_distance_hops').map((p) => p.value)).toEqual([1, 1, 1, 1]);
    expect(value(n, 'p2p_message_buffer_overflows')).toBe(0);
    expect(value(n, 'p2p_monitor_rejected_records')).toBe(0);
  });

  test('n0: one queue, four messages a round: the k-th waits k-1 ms and arrives after k + 20 ms', () => {
    const n0 = snapshot.n0!;
    expect(['n1', 'n2', 'n3', 'n4'].map((peer) => histogram(n0, 'p2p_message_latency_milliseconds', { peer_id: peer }))).toEqual([
      { count: 59, sum: 59 * 21, min: 21, max: 21 },
      { count: 59, sum: 59 * 22, min: 22, max: 22 },
      { count: 59, sum: 59 * 23, min: 23, max: 23 },
      { count: 59, sum: 59 * 24, min: 24, max: 24 },
    ]);
    // The 60 s round: n1's message left at once, the other three still wait when the run ends.
    expect(['n1', 'n2', 'n3', 'n4'].map((peer) => histogram(n0, 'p2p_message_delivery_delay_milliseconds', { peer_id: peer }))).toEqual([
      { count: 60, sum: 0, min: 0, max: 0 },
      { count: 59, sum: 59, min: 1, max: 1 },
      { count: 59, sum: 118, min: 2, max: 2 },
      { count: 59, sum: 177, min: 3, max: 3 },
    ]);
    expect(['n1', 'n2', 'n3', 'n4'].map((peer) => value(n0, 'p2p_buffered_messages', { peer_id: peer }))).toEqual([0, 1, 1, 1]);
  });
});

describe('healthy cluster, one simulated hour', () => {
  test('n0 after 3,600 s', async () => {
    const { snapshot } = await simulate(catalog.healthyCluster(3_600_000), { seed: 1, events: false });
    const n0 = snapshot.n0!;
    for (const peer of ['n1', 'n2', 'n3', 'n4']) {
      expect(value(n0, 'p2p_messages_sent', { peer_id: peer })).toBe(3_599);
      expect(value(n0, 'p2p_messages_received', { peer_id: peer })).toBe(3_599);
      // 5000 + k × 5040 ≤ 3,599,960: k = 0 … 713.
      expect(histogram(n0, 'p2p_rtt_milliseconds', { peer_id: peer })).toEqual({ count: 714, sum: 714 * 40, min: 40, max: 40 });
      expect(value(n0, 'p2p_connection_attempts', { peer_id: peer })).toBe(1);
    }
    // Static discovery every 60 s: rounds at 0, 60, … 3,600 s (instant lookups) find the same 4 peers.
    expect(value(n0, 'p2p_discovered_peers', { discovery_method: 'static' })).toBe(61 * 4);
    expect(value(n0, 'p2p_known_peers')).toBe(4);
    expect(n0.endTimeMs).toBe(3_600_000);
  });
});

describe('partition and heal (n0,n1 | n2,n3,n4 from 10 s to 40 s)', () => {
  test('n0 towards n2: timeouts, breaker open / half-open / open / half-open / closed, reconnection', async () => {
    const { snapshot, events } = await simulate(catalog.partitionAndHeal(), { seed: 1 });
    const n0 = snapshot.n0!;
    for (const peer of ['n2', 'n3', 'n4']) {
      // The 10 s message (queued 1-3 ms behind others) is lost and resent after 200, 400, 800 and
      // 1600 ms: ETIMEDOUT at 13,00x ms, the connection is dropped (one pool `error` eviction).
      // Messages of 10, 11, 12 and 13 s time out; the health round of 10.04 s times out once.
      // Dials at 14, 16 and 18 s each time out after opossum's 2 s: the third failure opens the
      // breaker (20 s). Every reconnect tick while open (20-29 s, 32-41 s) is refused; the
      // half-open trial at 30 s times out (32 s); the one at 42 s succeeds after the heal (42.04 s).
      expect(value(n0, 'p2p_connection_attempts', { peer_id: peer, result: 'success' })).toBe(2);
      expect(value(n0, 'p2p_connection_attempts', { peer_id: peer, result: 'timeout' })).toBe(4);
      expect(value(n0, 'p2p_connection_attempts', { peer_id: peer, result: 'failed' })).toBe(20);
      expect(value(n0, 'p2p_connection_errors', { peer_id: peer, error_type: 'timeout' })).toBe(4 + 4 + 1);
      expect(value(n0, 'p2p_connection_errors', { peer_id: peer, error_type: 'refused' })).toBe(20);
      expect(value(n0, 'p2p_circuit_breaker_failures', { peer_id: peer })).toBe(4);
      expect(stateOf(n0, peer)).toEqual(['closed']);
      // 9 messages before the partition (1-9 s), 17 after reconnecting (43-59 s).
      expect(value(n0, 'p2p_messages_sent', { peer_id: peer })).toBe(26);
      expect(breakerLog(events, 'n0', peer)).toEqual(['20000 open', '30000 halfOpen', '32000 open', '42000 halfOpen', '42040 close']);
    }
    expect(value(n0, 'p2p_connection_pool_evictions', { reason: 'error' })).toBe(3);
    expect(value(n0, 'p2p_messages_sent', { peer_id: 'n1' })).toBe(59);
    expect(value(n0, 'p2p_connections_active', { state: 'connected' })).toBe(4);
    expect(events.filter((e) => e.node === 'n0' && e.kind === 'peer_link_down').map((e) => `${e.t} ${e.to}`)).toEqual(['13002 n2', '13003 n3', '13004 n4']);
  });

  test('mid-partition, n0 sees a two-node cluster', async () => {
    let mid: NodeSnapshot | undefined;
    await simulate({ ...catalog.partitionAndHeal(), script: (world) => world.at(35_000, () => (mid = world.collect(0))) }, { seed: 1 });
    // Topology published at 30 s: only n0 - n1 is established.
    expect(value(mid!, 'p2p_cluster_diameter_hops')).toBe(1);
    expect(points(mid!, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value])).toEqual([['n1', 1]]);
    expect(stateOf(mid!, 'n2')).toEqual(['open']);
    expect(value(mid!, 'p2p_connections_active', { state: 'connected' })).toBe(1);
  });
});

describe('flapping peer (n2 down from 10 s to 35 s)', () => {
  test("n0's breaker for n2 opens, half-opens, reopens, closes", async () => {
    const { snapshot, events } = await simulate(catalog.flappingPeer(), { seed: 1 });
    const n0 = snapshot.n0!;
    // The 10 s message meets a dead peer after 20 ms: ECONNRESET, connection dropped at 10,022 ms.
    // Dials at 11, 12 and 13 s are refused after 20 ms; the third opens the breaker (13,020 ms).
    // Ticks 14-23 s are refused by the open breaker (10), the half-open trial at 24 s is refused
    // (reopens at 24,020 ms), ticks 25-34 s refused (10), the trial at 35 s finds n2 back.
    expect(breakerLog(events, 'n0', 'n2')).toEqual(['13020 open', '23020 halfOpen', '24020 open', '34020 halfOpen', '35040 close']);
    expect(value(n0, 'p2p_connection_errors', { peer_id: 'n2', error_type: 'reset' })).toBe(1);
    expect(value(n0, 'p2p_connection_errors', { peer_id: 'n2', error_type: 'refused' })).toBe(3 + 10 + 1 + 10);
    expect(value(n0, 'p2p_connection_attempts', { peer_id: 'n2', result: 'failed' })).toBe(24);
    expect(value(n0, 'p2p_connection_attempts', { peer_id: 'n2', result: 'success' })).toBe(2);
    expect(value(n0, 'p2p_circuit_breaker_failures', { peer_id: 'n2' })).toBe(4);
    expect(stateOf(n0, 'n2')).toEqual(['closed']);
    // n2 restarted: a fresh process with fresh metrics since 35 s.
    const n2 = snapshot.n2!;
    expect([n2.up, n2.incarnation, n2.startTimeMs]).toEqual([true, 2, 35_000]);
    expect(value(n2, 'p2p_connection_attempts', { result: 'success' })).toBe(2);
  });

  test('a node down at the end shows the metrics collected when it crashed', async () => {
    const { snapshot } = await simulate({ ...catalog.flappingPeer(), steps: [{ at: 10_000, do: 'crash', node: 2 }] }, { seed: 1 });
    expect([snapshot.n2!.up, snapshot.n2!.endTimeMs]).toEqual([false, 10_000]);
    expect(value(snapshot.n2!, 'p2p_messages_sent')).toBe(2 * 9);
  });
});

describe('slow consumer (n2 takes 500 ms per message; queues of 16; gossip every 200 ms)', () => {
  test("n0's queue backs up and overflows", async () => {
    const { snapshot } = await simulate(catalog.slowConsumer(), { seed: 1 });
    const n0 = snapshot.n0!;
    // 50 rounds (0.2-10 s) × one message per peer. The single FIFO is held 500 ms by every
    // message to n2, so messages to n1 wait behind them too.
    const fate = (peer: string): number[] => [
      value(n0, 'p2p_messages_sent', { peer_id: peer }),
      value(n0, 'p2p_message_buffer_overflows', { peer_id: peer }),
      value(n0, 'p2p_buffered_messages', { peer_id: peer }),
    ];
    expect(fate('n1')).toEqual([20, 22, 8]); // 20 + 22 + 8 = 50
    expect(fate('n2')).toEqual([19, 22, 8]); // + 1 on the wire = 50
    expect(value(n0, 'p2p_buffered_messages')).toBe(16);
    // A refused enqueue is a failed send (ENOBUFS, classified `other`).
    expect(value(n0, 'p2p_connection_errors', { error_type: 'other' })).toBe(44);
    expect(histogram(n0, 'p2p_message_delivery_delay_milliseconds', { peer_id: 'n2' }).max).toBe(3_920);
    // n1 sends to n2 as well and backs up the same way; n2 sends only to fast consumers.
    expect(value(snapshot.n1!, 'p2p_message_buffer_overflows', { peer_id: 'n2' })).toBe(22);
    expect(value(snapshot.n2!, 'p2p_message_buffer_overflows')).toBe(0);
    expect(value(snapshot.n2!, 'p2p_messages_sent')).toBe(2 * 49);
  });
});

describe('5 % loss', () => {
  test('every send still succeeds; each retransmission adds 200 ms to a latency', async () => {
    const { snapshot } = await simulate(catalog.lossyLinks(), { seed: 1 });
    const n0 = snapshot.n0!;
    for (const [peer, base, retransmissions] of [
      ['n1', 21, 2],
      ['n2', 22, 1],
    ] as const) {
      expect(value(n0, 'p2p_messages_sent', { peer_id: peer })).toBe(59);
      const latency = histogram(n0, 'p2p_message_latency_milliseconds', { peer_id: peer });
      expect(latency).toEqual({ count: 59, sum: 59 * base + 200 * retransmissions, min: base, max: base + 200 });
    }
    // One health ping to n1 was lost: a 2 s timeout.
    expect(value(n0, 'p2p_connection_errors')).toBe(1);
    expect(histogram(n0, 'p2p_rtt_milliseconds', { peer_id: 'n1' }).count).toBe(10);
  });
});

describe('discovery failing per method (mdns times out until 30 s; dns never finds anything on n0)', () => {
  test('failures per method and reason, durations, static discovery unaffected', async () => {
    const { snapshot } = await simulate(catalog.discoveryFailing(), { seed: 1 });
    const n0 = snapshot.n0!;
    // Rounds at 0, 10, … 50 s: mdns (100 ms), then dns (50 ms), then static (instant).
    expect(value(n0, 'p2p_discovery_failures', { discovery_method: 'mdns', reason: 'timeout' })).toBe(3);
    expect(value(n0, 'p2p_discovery_failures', { discovery_method: 'dns', reason: 'not_found' })).toBe(6);
    expect(value(n0, 'p2p_discovered_peers', { discovery_method: 'mdns' })).toBe(3 * 2);
    expect(value(n0, 'p2p_discovered_peers', { discovery_method: 'static' })).toBe(6 * 2);
    expect(histogram(n0, 'p2p_discovery_duration_milliseconds', { discovery_method: 'mdns' })).toEqual({ count: 9, sum: 900, min: 100, max: 100 });
    expect(histogram(n0, 'p2p_discovery_duration_milliseconds', { discovery_method: 'dns' })).toEqual({ count: 6, sum: 300, min: 50, max: 50 });
    expect(value(n0, 'p2p_known_peers')).toBe(2);
    // dns fails on n0 only.
    expect(value(snapshot.n1!, 'p2p_discovery_failures', { discovery_method: 'dns' })).toBe(0);
    expect(value(snapshot.n1!, 'p2p_discovered_peers', { discovery_method: 'dns' })).toBe(6 * 2);
  });
});

describe('resource sync', () => {
  test('one completed transfer, one failed when the source crashes', async () => {
    const { snapshot } = await simulate(catalog.resourceSync(), { seed: 1 });
    const n0 = snapshot.n0!;
    // 10 chunks of 100 kB, each 100 ms on the wire + 20 ms: 1,200 ms.
    expect(histogram(n0, 'p2p_resource_sync_duration_milliseconds', { resource_type: 'blob' })).toEqual({ count: 1, sum: 1_200, min: 1_200, max: 1_200 });
    expect(value(n0, 'p2p_resource_transfer_bytes', { peer_id: 'n1' })).toBe(1_000_000);
    // From n2: chunks arrive at 5.12, 5.24, 5.36, 5.48 s; n2 dies at 5.5 s, the fifth never arrives.
    expect(value(n0, 'p2p_resource_transfer_bytes', { peer_id: 'n2' })).toBe(400_000);
    expect(value(n0, 'p2p_resource_sync_failures', { peer_id: 'n2', reason: 'unreachable' })).toBe(1);
    expect(value(n0, 'p2p_resource_transfers_active')).toBe(0);
  });
});

describe('ring of six loses a node', () => {
  test('diameter 3, then 4 once the ring is a path', async () => {
    let before: NodeSnapshot | undefined;
    const { snapshot } = await simulate({ ...catalog.ringLosesANode(), script: (w) => w.at(25_000, () => (before = w.collect(0))) }, { seed: 1 });
    expect(value(before!, 'p2p_cluster_diameter_hops')).toBe(3);
    expect(Object.fromEntries(points(before!, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value]))).toEqual({ n1: 1, n5: 1, n2: 2, n4: 2, n3: 3 });
    const n0 = snapshot.n0!;
    expect(value(n0, 'p2p_cluster_diameter_hops')).toBe(4);
    expect(Object.fromEntries(points(n0, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value]))).toEqual({ n1: 1, n5: 1, n2: 2, n4: 2 });
    expect(value(n0, 'p2p_known_peers')).toBe(2);
  });
});

describe('relay-only peers (n3, n4 reachable only through n0, which is down from 30 s to 40 s)', () => {
  test('distances and diameter as the relay goes and comes back', async () => {
    const at: Record<string, NodeSnapshot> = {};
    const { snapshot, events } = await simulate(
      {
        ...catalog.relayOnlyPeers(),
        script: (w) => {
          w.at(25_000, () => ((at.n1before = w.collect(1)), (at.n3before = w.collect(3))));
          w.at(35_000, () => ((at.n1during = w.collect(1)), (at.n3during = w.collect(3))));
        },
      },
      { seed: 1 },
    );
    const distances = (n: NodeSnapshot): Record<string, unknown> => Object.fromEntries(points(n, 'p2p_peer_distance_hops').map((p) => [p.attributes.peer_id, p.value]));
    // Before: n0 is the hub; n1 - n2 are also linked. n3 to n4 is two hops through the relay.
    expect(value(at.n1before!, 'p2p_cluster_diameter_hops')).toBe(2);
    expect(distances(at.n1before!)).toEqual({ n0: 1, n2: 1, n3: 2, n4: 2 });
    expect(distances(at.n3before!)).toEqual({ n0: 1, n1: 2, n2: 2, n4: 2 });
    expect(value(at.n3before!, 'p2p_discovered_peers', { discovery_method: 'relay' })).toBe(1);
    // During: n1 sees n1 - n2 only; n3 is alone.
    expect(value(at.n1during!, 'p2p_cluster_diameter_hops')).toBe(1);
    expect(distances(at.n1during!)).toEqual({ n2: 1 });
    expect(value(at.n3during!, 'p2p_cluster_diameter_hops')).toBe(0);
    expect(distances(at.n3during!)).toEqual({});
    // n3: its 30 s message meets the dead relay (reset, 30,021 ms); dials at 31-33 s are refused
    // and open the breaker; the half-open trial at 44 s reaches the restarted relay.
    expect(breakerLog(events, 'n3', 'n0')).toEqual(['33020 open', '43020 halfOpen', '44040 close']);
    expect(value(snapshot.n3!, 'p2p_connection_attempts', { result: 'failed' })).toBe(3 + 10);
    // After: the same graph as before.
    expect(value(snapshot.n1!, 'p2p_cluster_diameter_hops')).toBe(2);
    expect(distances(snapshot.n3!)).toEqual({ n0: 1, n1: 2, n2: 2, n4: 2 });
  });
});

describe('cardinality storm (100,000 short-lived peers at n0: 100 every 100 ms from 1 s, each known 5 s)', () => {
  test('labels stay bounded, totals stay exact', async () => {
    let mid: NodeSnapshot | undefined;
    const { snapshot } = await simulate({ ...catalog.cardinalityStorm(), script: (w) => w.at(50_050, () => (mid = w.collect(0))) }, { seed: 1, events: false });
    const n0 = snapshot.n0!;
    expect(value(n0, 'p2p_discovered_peers', { discovery_method: 'relay' })).toBe(100_000);
    expect(value(n0, 'p2p_messages_received')).toBe(100_000);
    expect(value(n0, 'p2p_bytes_received')).toBe(10_000_000);
    // 256 peer labels (DEFAULT_MAX_PEERS): n1 took one, e0 … e254 the rest; everyone else is `other`.
    const received = points(n0, 'p2p_messages_received');
    expect(received).toHaveLength(256);
    expect(value(n0, 'p2p_messages_received', { peer_id: 'other' })).toBe(100_000 - 255);
    expect(value(n0, 'p2p_monitor_rejected_records')).toBe(0);
    // At 50.05 s: arrivals 1 s … 50 s (491 batches) minus those lost by then (1 s … 45 s, 441), plus n1.
    expect(value(mid!, 'p2p_known_peers')).toBe(50 * 100 + 1);
    expect(value(n0, 'p2p_known_peers')).toBe(1);
  });
});

describe('onStart: application behaviour of your own', () => {
  test('n0 also sends a 10 kB `sync` message to n1 every 5 s, in every incarnation', async () => {
    const { snapshot } = await simulate(
      {
        ...catalog.healthyCluster(),
        behaviour: { trafficJitter: 0, healthJitter: 0, messageTypes: ['gossip', 'sync'] },
        steps: [
          { at: 20_000, do: 'crash', node: 0 },
          { at: 30_000, do: 'restart', node: 0 },
        ],
        onStart: (process) => {
          if (process.id === 'n0') process.every(5_000, 0, () => process.send('n1', 'sync', 10_000));
        },
      },
      { seed: 1 },
    );
    // Incarnation 2 starts at 30 s: sends at 35, 40, … 60 s; the 60 s one is still on its way.
    const n0 = snapshot.n0!;
    expect(n0.incarnation).toBe(2);
    expect(value(n0, 'p2p_messages_sent', { peer_id: 'n1', message_type: 'sync' })).toBe(5);
    expect(value(n0, 'p2p_bytes_sent', { peer_id: 'n1' })).toBe(5 * 10_000 + value(n0, 'p2p_messages_sent', { peer_id: 'n1', message_type: 'gossip' }) * 1_000);
  });
});
