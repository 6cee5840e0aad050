import { DESIGN_METRIC_IDS, METRICS, P2pHealthChecker, REJECT_REASONS, type MetricId, type PingFunction } from '@p2p-otel/instrumentation';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { ReferenceConnector, type FakeConnection } from '../../packages/instrumentation/test/support/reference-connector';
import { LookupError, ReferenceManager, SyncError } from '../../packages/instrumentation/test/support/reference-manager';
import { InProcessNetwork, message, type ReferenceTransport } from '../../packages/instrumentation/test/support/reference-transport';
import { parsePrometheusText, type PromFamily, type PromSample } from '../support/prometheus-text';

/**
 * Acceptance test of the wrappers: an application's connector, transport and P2P manager (the
 * reference implementations, written as a user would, with real opossum breakers and real
 * generic-pool pools) are wrapped by ONE `telemetry.monitor.instrument(...)` call, a health
 * checker pings over the reference transport, and a scripted scenario must show every metric a
 * wrapper or the health checker is responsible for on a real HTTP scrape of the Prometheus
 * endpoint: exact values wherever the script fixes them, "moved" where only wall-clock time does.
 *
 * Clocks: the manager (discovery and sync durations) and the in-process wire (queue delays, ping
 * RTTs) run on manual clocks the script advances, so those values are exact. The monitor runs on
 * the real clock (handshakes, message latency, pool wait and connection lifetimes are measured
 * for real and asserted as moved), shifted forward by 5 s before the final scrape so that the
 * bandwidth gauge, which samples at most once per second of monitor time, takes a sample.
 */

// Peer ids in `full` label mode, so the labels read as the roles below.
const LOCAL = 'node-local';
const HEALTHY = 'peer-healthy'; // answers everything, quickly
const REFUSING = 'peer-refusing'; // refuses dials until its breaker opens; recovers once it half-opens
const SLOW = 'peer-slow'; // its first dial times out; drops pings; a slow consumer; loses its connection
const STALE = 'peer-stale'; // a stale DNS record: discovered, then lost; a send to it is refused
const FAR = 'peer-far'; // known only from a gossiped topology: two hops away, behind REFUSING
const FARTHER = 'peer-farther'; // three hops away, behind FAR

const MESSAGE_TYPES = ['gossip', 'block', 'ping', 'pong'] as const;
const RESOURCE_TYPES = ['blob', 'snapshot'] as const;
const PING_BYTES = 16;
const QUEUE_CAPACITY = 8;
/** Wire time a ping spends at each peer before its pong leaves (the peer's distance, in effect). */
const PONG_DELAY_MS = { [HEALTHY]: 2, [REFUSING]: 5 } as const;
/** How far the monitor clock jumps before the final scrape (bandwidth samples need ≥ 1 s). */
const BANDWIDTH_STEP_MS = 5_000;

/**
 * Metrics only Iroh-level instrumentation feeds (QUIC connection stats and the negotiated ALPN).
 * No wrapper of a connector, transport or manager and no health check records them
 * (recordQuicStreamOpened/Closed, recordQuicRetransmissions, recordQuicPacketLoss and
 * recordProtocolVersion have no caller in packages/instrumentation/src/instrumentation or
 * src/health), and the reference implementations have no QUIC layer to read them from.
 */
const IROH_ONLY: readonly MetricId[] = ['quicStreams', 'quicRetransmissions', 'quicPacketLoss', 'protocolVersion'];

/** What the scenario covers, by the part that feeds it. */
const COVERED = {
  connector: [
    'connectionStateTransitions',
    'connectionAttempts',
    'connectionDuration',
    'connectionsActive',
    'connectionsPooled',
    'connectionsIdle',
    'connectionErrors', // also fed by failed sends and failed health pings
    'circuitBreakerState',
    'circuitBreakerFailures',
    'handshakeDuration',
    'poolUtilization',
    'poolEvictions',
    'poolWaitTime',
    'connectionReuses',
  ],
  transport: [
    'messageLatency',
    'bytesSent',
    'bytesReceived',
    'messagesSent',
    'messagesReceived',
    'bandwidth', // derived at collection from the byte counters
    'messageSize',
    'bufferedMessages',
    'bufferedBytes',
    'bufferOverflows',
    'deliveryDelay',
  ],
  manager: [
    'discoveredPeers',
    'discoveryDuration',
    'discoveryFailures',
    'knownPeers',
    'peerDistance',
    'clusterDiameter',
    'resourceSyncDuration',
    'resourceTransfersActive',
    'resourceTransferBytes',
    'resourceSyncFailures',
  ],
  health: ['rtt', 'pingLatency', 'connectivityScore'],
} as const satisfies Record<string, readonly MetricId[]>;

// ---- scrapes ----------------------------------------------------------------------------------

type Suffix = '' | '_count' | '_sum';

/** One parsed scrape, read by schema id: names come from METRICS, never typed here. */
class Scrape {
  private constructor(private readonly families: Map<string, PromFamily>) {}

  static async of(url: string): Promise<Scrape> {
    const response = await fetch(url);
    if (response.status !== 200) throw new Error(`scrape of ${url}: HTTP ${response.status}`);
    return new Scrape(parsePrometheusText(await response.text()));
  }

  /** The samples of a metric (`_count`/`_sum` for a histogram's series). */
  samples(id: MetricId, suffix: Suffix = ''): PromSample[] {
    const { name } = METRICS[id];
    return this.families.get(name)?.samples.filter((s) => s.name === name + suffix) ?? [];
  }

  /**
   * Every sample of a metric nested by its label values, in the schema's label order unless `keys`
   * says otherwise: `{ [peer]: { [result]: n } }`. A metric without labels gives its value.
   * Comparing a whole table also proves that no series beyond the expected ones exists.
   */
  table(id: MetricId, options: { suffix?: Suffix; keys?: readonly string[] } = {}): unknown {
    const samples = this.samples(id, options.suffix);
    const keys = options.keys ?? METRICS[id].labels.map((l) => l.key);
    if (keys.length === 0) {
      if (samples.length > 1) throw new Error(`${METRICS[id].name}: ${samples.length} samples, expected one`);
      return samples[0]?.value;
    }
    const root: Record<string, unknown> = {};
    for (const s of samples) {
      let node = root;
      for (const key of keys.slice(0, -1)) node = (node[s.labels[key] ?? '?'] ??= {}) as Record<string, unknown>;
      const leaf = s.labels[keys[keys.length - 1] as string] ?? '?';
      if (leaf in node) throw new Error(`${s.name}: two samples at ${JSON.stringify(s.labels)}`);
      node[leaf] = s.value;
    }
    return root;
  }

  /** Sum over every series of a histogram's `_sum` (or `_count`). */
  total(id: MetricId, suffix: '_count' | '_sum'): number {
    return this.samples(id, suffix).reduce((sum, s) => sum + s.value, 0);
  }

  /** Carries at least one sample that moved: a histogram count > 0, any other value ≠ 0. */
  moved(id: MetricId): boolean {
    return METRICS[id].instrument === 'histogram' ? this.samples(id, '_count').some((s) => s.value > 0) : this.samples(id).some((s) => s.value !== 0);
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The documented score of a peer whose pings all succeeded at `rttMs` (nothing fed): weights 0.4 and 0.3. */
const scoreOfPerfectPeer = (rttMs: number): number => (0.4 * 1 + 0.3 * (1 / (1 + rttMs / 100))) / 0.7;

// ---- the scenario -------------------------------------------------------------------------------

let telemetry: P2pTelemetry | undefined;
let connector: ReferenceConnector | undefined;
let network: InProcessNetwork | undefined;
let checker: P2pHealthChecker | undefined;
let finishInflightSync: (() => void) | undefined;
let inflightSync: Promise<unknown> | undefined;

const scrapes: { breakerOpen?: Scrape; breakerHalfOpen?: Scrape; final?: Scrape } = {};
const final = (): Scrape => {
  if (scrapes.final === undefined) throw new Error('the scenario did not get to its final scrape');
  return scrapes.final;
};

beforeAll(async () => {
  let skewMs = 0;
  telemetry = await startP2pTelemetry({
    exporter: 'prometheus',
    prometheus: { host: '127.0.0.1', port: 0 },
    registerGlobal: false,
    monitor: {
      localPeerId: LOCAL,
      peerId: { mode: 'full' },
      messageTypes: MESSAGE_TYPES,
      resourceTypes: RESOURCE_TYPES,
      clock: () => performance.timeOrigin + performance.now() + skewMs,
    },
  });
  const metricsUrl = telemetry.metricsUrl as string;

  // The application: an in-process network (this node and three peers), a connector with a
  // breaker and a pool per peer, and a P2P manager. `volumeThreshold: 2` is the user's choice:
  // a peer's breaker opens on its second failure in a row, not on a single timeout. The breaker
  // stays open 300 ms (reference default 100 ms): room for the fail-fast dial and a scrape while
  // it is open, even on a loaded machine.
  const wire = manualClock();
  network = new InProcessNetwork({ clock: wire.now, autoDeliver: false, queueCapacity: QUEUE_CAPACITY });
  const net = network;
  const flush = (): void => {
    while (net.deliverAll() > 0);
  };
  const local = network.join(LOCAL);
  const peers = { [HEALTHY]: network.join(HEALTHY), [REFUSING]: network.join(REFUSING), [SLOW]: network.join(SLOW) };
  connector = new ReferenceConnector({ breaker: { volumeThreshold: 2, resetTimeout: 300 } });
  const conn = connector;
  const managerClock = manualClock();
  const manager = new ReferenceManager(LOCAL, managerClock.now);

  // ONE call wraps all three; the monitor is the telemetry's P2pInstrumentation.
  telemetry.monitor.instrument({ connector, transport: local, manager });

  // Handlers, registered after instrumenting (as the docs require). The peers are other
  // processes in a real deployment: their transports are not instrumented.
  const pongWaiters = new Map<string, (atMs: number) => void>();
  const inbox: { from: string; type: string }[] = [];
  local.onMessage((from, m) => {
    const waiter = m.type === 'pong' && m.ackOf !== undefined ? pongWaiters.get(m.ackOf) : undefined;
    if (waiter !== undefined) waiter(wire.now());
    else inbox.push({ from, type: m.type });
  });
  const answerPings = (node: ReferenceTransport, delayMs: number): void => {
    node.onMessage((from, m) => {
      if (m.type !== 'ping' || m.id === undefined) return;
      wire.advance(delayMs);
      void node.sendToPeer(from, { type: 'pong', ackOf: m.id, payload: new Uint8Array(PING_BYTES) });
    });
  };
  answerPings(peers[HEALTHY], PONG_DELAY_MS[HEALTHY]);
  answerPings(peers[REFUSING], PONG_DELAY_MS[REFUSING]);
  const slowInbox: string[] = [];
  peers[SLOW].onMessage((_from, m) => void slowInbox.push(m.type)); // drops pings: never answers

  // 1. Discovery, by four methods, one lookup failing; the stale peer is found, then lost.
  await manager.discover('static', async () => (managerClock.advance(1), [HEALTHY]));
  await manager.discover('mdns', async () => (managerClock.advance(12), [REFUSING, SLOW]));
  await expect(
    manager.discover('dns', async () => {
      managerClock.advance(40);
      throw new LookupError('no TXT record for _p2p.example', 'not_found');
    }),
  ).rejects.toBeInstanceOf(LookupError);
  await manager.discover('dns', async () => (managerClock.advance(8), [STALE]));
  await manager.discover('relay', async () => (managerClock.advance(25), [SLOW])); // found again: not a new known peer
  manager.forget(STALE);

  // 2. Connecting. HEALTHY at once; SLOW's first dial hangs until opossum's 50 ms timeout, the
  // retry connects; REFUSING refuses twice (its breaker opens), is then refused by the open
  // breaker itself, and connects once the breaker half-opens.
  const connected = new Map<string, FakeConnection>();
  connected.set(HEALTHY, await conn.connectToPeer(HEALTHY));
  conn.failures.set(SLOW, 'timeout');
  await expect(conn.connectToPeer(SLOW)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  conn.failures.delete(SLOW);
  connected.set(SLOW, await conn.connectToPeer(SLOW));
  conn.failures.set(REFUSING, 'refuse');
  for (let i = 0; i < 2; i++) await expect(conn.connectToPeer(REFUSING)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await expect(conn.connectToPeer(REFUSING)).rejects.toMatchObject({ code: 'EOPENBREAKER' });
  scrapes.breakerOpen = await Scrape.of(metricsUrl);
  await until(() => conn.breakers.get(REFUSING)?.halfOpen === true, "REFUSING's breaker to half-open");
  scrapes.breakerHalfOpen = await Scrape.of(metricsUrl);
  conn.failures.delete(REFUSING);
  connected.set(REFUSING, await conn.connectToPeer(REFUSING));
  for (const peer of [HEALTHY, REFUSING, SLOW]) manager.connect(LOCAL, peer);

  // 3. Typed messages both ways (one of a type outside messageTypes), then a send to the lost peer.
  const exchange = [
    ...[100, 100, 100].map((bytes) => local.sendToPeer(HEALTHY, message('gossip', bytes))),
    local.sendToPeer(HEALTHY, message('block', 4096)),
    local.sendToPeer(HEALTHY, message('chat', 10)), // not in messageTypes: counted as `other`
    local.sendToPeer(REFUSING, message('gossip', 100)),
    peers[HEALTHY].sendToPeer(LOCAL, message('gossip', 60)),
    peers[HEALTHY].sendToPeer(LOCAL, message('gossip', 60)),
    peers[REFUSING].sendToPeer(LOCAL, message('block', 2048)),
  ];
  wire.advance(3); // everything waits 3 ms in its queue
  flush();
  await Promise.all(exchange);
  expect(inbox.map((m) => `${m.from}:${m.type}`).sort()).toEqual([`${HEALTHY}:gossip`, `${HEALTHY}:gossip`, `${REFUSING}:block`]);
  await expect(local.sendToPeer(STALE, message('gossip', 100))).rejects.toMatchObject({ code: 'ECONNREFUSED' });

  // 4. A burst the slow consumer cannot take: the queue holds 8, the last two overflow; the 8
  // leave 20 ms later.
  const burst = Promise.allSettled(Array.from({ length: QUEUE_CAPACITY + 2 }, () => local.sendToPeer(SLOW, message('block', 512))));
  wire.advance(20);
  flush();
  const burstOutcomes = (await burst).map((o) => (o.status === 'fulfilled' ? 'delivered' : (o.reason as { code?: string }).code));
  expect(burstOutcomes).toEqual([...Array<string>(QUEUE_CAPACITY).fill('delivered'), 'ENOBUFS', 'ENOBUFS']);

  // 5. Resource syncs: one completes, one fails on a corrupt chunk, one is still running at the end.
  await manager.syncResource(
    'blob',
    HEALTHY,
    (function* () {
      managerClock.advance(4);
      yield new Uint8Array(1000);
      managerClock.advance(6);
      yield new Uint8Array(3000);
    })(),
  );
  await expect(
    manager.syncResource(
      'snapshot',
      SLOW,
      (function* () {
        managerClock.advance(7);
        yield new Uint8Array(512);
        throw new SyncError('checksum mismatch', 'corrupt');
      })(),
    ),
  ).rejects.toBeInstanceOf(SyncError);
  const gate = new Promise<void>((resolve) => (finishInflightSync = resolve));
  inflightSync = manager.syncResource(
    'blob',
    REFUSING,
    (async function* () {
      yield new Uint8Array(2048);
      await gate;
    })(),
  );
  await nextMacrotask(); // its first chunk is in

  // 6. Topology learned by gossip: REFUSING links to FAR, FAR to FARTHER.
  manager.setTopology({ [LOCAL]: [HEALTHY, REFUSING, SLOW], [REFUSING]: [FAR], [FAR]: [FARTHER] });

  // 7. Two health-check rounds over the reference transport: a ping message, answered by a pong;
  // the RTT is the wire time between them. SLOW drops pings: both of its pings time out.
  let pings = 0;
  const ping: PingFunction = (peerId, signal) =>
    new Promise<number>((resolve, reject) => {
      const id = `ping-${++pings}`;
      const sentAt = wire.now();
      pongWaiters.set(id, (at) => {
        pongWaiters.delete(id);
        resolve(at - sentAt);
      });
      signal.addEventListener('abort', () => {
        pongWaiters.delete(id);
        reject(signal.reason);
      });
      local.sendToPeer(peerId, message('ping', PING_BYTES, id)).catch(reject);
      flush();
    });
  checker = new P2pHealthChecker({ monitor: telemetry.monitor, peers: () => connected.keys(), ping, timeoutMs: 40, jitter: 0 });
  await checker.checkNow();
  await checker.checkNow();
  expect(slowInbox.filter((t) => t === 'ping')).toHaveLength(2);

  // 8. HEALTHY's connection goes back to its pool and comes straight out again: a reuse.
  await conn.disconnectFromPeer(HEALTHY);
  expect(await conn.connectToPeer(HEALTHY)).toBe(connected.get(HEALTHY));

  // 9. Three more messages for SLOW sit in the queue; then SLOW's connection is lost (closed by
  // the peer) and the application discards it from the pool; REFUSING's goes back to its pool.
  for (let i = 0; i < 3; i++) void local.sendToPeer(SLOW, message('block', 512)); // settled at cleanup
  const lost = connected.get(SLOW) as FakeConnection;
  connected.delete(SLOW);
  lost.close('connection lost');
  await (conn.pools.get(SLOW) as NonNullable<ReturnType<typeof conn.pools.get>>).destroy(lost);
  manager.disconnect(LOCAL, SLOW);
  await conn.disconnectFromPeer(REFUSING);
  await nextMacrotask();

  skewMs += BANDWIDTH_STEP_MS;
  scrapes.final = await Scrape.of(metricsUrl);
});

afterAll(async () => {
  const problems: unknown[] = [];
  const step = async (fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      problems.push(e);
    }
  };
  await step(() => checker?.stop());
  await step(() => telemetry?.shutdown()); // first: unwraps everything, so closing below records nothing
  await step(async () => {
    finishInflightSync?.();
    await inflightSync;
  });
  await step(() => network?.deliverAll()); // settles the sends still queued for SLOW
  await step(() => connector?.close()); // breakers shut down, pools drained and cleared
  if (problems.length > 0) throw new AggregateError(problems, 'cleanup failed');
});

// ---- assertions -----------------------------------------------------------------------------------

const breakerStates = (closed: number, open: number, halfOpen: number) => ({ closed, open, half_open: halfOpen });

describe('connector: attempts, transitions, breakers, pools', () => {
  it('the breaker state set moves closed → open → half_open → closed as the dials dictate', () => {
    const byPeer = { keys: ['peer_id', 'state'] };
    expect(scrapes.breakerOpen?.table('circuitBreakerState', byPeer)).toEqual({
      [HEALTHY]: breakerStates(1, 0, 0),
      [SLOW]: breakerStates(1, 0, 0), // one timeout of one dial: under volumeThreshold
      [REFUSING]: breakerStates(0, 1, 0),
    });
    expect(scrapes.breakerOpen?.table('circuitBreakerFailures')).toEqual({ [SLOW]: 1, [REFUSING]: 2 });
    // Two refusals and one fail-fast rejection of the open breaker (refused, not a breaker failure).
    expect(scrapes.breakerOpen?.table('connectionAttempts')).toMatchObject({ [REFUSING]: { failed: 3 } });
    expect(scrapes.breakerHalfOpen?.table('circuitBreakerState', byPeer)).toMatchObject({ [REFUSING]: breakerStates(0, 0, 1) });
    expect(final().table('circuitBreakerState', byPeer)).toEqual({
      [HEALTHY]: breakerStates(1, 0, 0),
      [SLOW]: breakerStates(1, 0, 0),
      [REFUSING]: breakerStates(1, 0, 0), // the half-open trial dial succeeded
    });
    expect(final().table('circuitBreakerFailures')).toEqual({ [SLOW]: 1, [REFUSING]: 2 });
  });

  it('counts attempts by result, transitions, reuses and errors exactly', () => {
    expect(final().table('connectionAttempts')).toEqual({
      [HEALTHY]: { success: 1 }, // its later reuse is not an attempt
      [SLOW]: { timeout: 1, success: 1 },
      [REFUSING]: { failed: 3, success: 1 },
    });
    expect(final().table('connectionStateTransitions', { keys: ['peer_id', 'from_state', 'to_state'] })).toEqual({
      [HEALTHY]: { disconnected: { connecting: 1 }, connecting: { connected: 1 } },
      [SLOW]: {
        disconnected: { connecting: 2 },
        connecting: { failed: 1, connected: 1 },
        connected: { disconnecting: 1 },
        disconnecting: { disconnected: 1 },
      },
      [REFUSING]: { disconnected: { connecting: 4 }, connecting: { failed: 3, connected: 1 } },
    });
    // HEALTHY's and REFUSING's pooled connections are still open (one in use, one idle).
    expect(final().table('connectionsActive')).toEqual({ connecting: 0, connected: 2, disconnecting: 0 });
    expect(final().table('connectionReuses')).toEqual({ [HEALTHY]: 1 });
    expect(final().table('connectionErrors')).toEqual({
      [REFUSING]: { refused: 3 }, // two ECONNREFUSED dials, one EOPENBREAKER
      [SLOW]: {
        timeout: 3, // the dial opossum timed out, and two health pings
        other: 2, // the two sends refused by the full queue (ENOBUFS)
      },
      [STALE]: { refused: 1 }, // the send to the lost peer
    });
  });

  it('reports the pools: size, idle, utilisation, evictions, and the timed acquires', () => {
    // HEALTHY: one connection in use; REFUSING: one idle; SLOW: its only connection destroyed.
    expect(final().table('connectionsPooled')).toBe(2);
    expect(final().table('connectionsIdle')).toBe(1);
    expect(final().table('poolUtilization')).toBe(0.5);
    expect(final().table('poolEvictions')).toEqual({ error: 1 });
    // Each peer's first acquire creates its pool inside the dial, before the pool is discovered;
    // the reuse is the one acquire the wrapped pool times.
    expect(final().table('poolWaitTime', { suffix: '_count' })).toBe(1);
  });

  it('times handshakes and connection lifetimes (wall clock: counts exact, values moved)', () => {
    expect(final().table('handshakeDuration', { suffix: '_count' })).toEqual({ [HEALTHY]: 1, [SLOW]: 1, [REFUSING]: 1 });
    for (const sum of Object.values(final().table('handshakeDuration', { suffix: '_sum' }) as Record<string, number>)) {
      expect(sum).toBeGreaterThan(0); // a dial takes the reference's 2 ms at least
    }
    expect(final().table('connectionDuration', { suffix: '_count' })).toEqual({ [SLOW]: 1 });
    expect(final().table('connectionDuration', { suffix: '_sum' })).toEqual({ [SLOW]: expect.any(Number) });
    expect(final().total('connectionDuration', '_sum')).toBeGreaterThan(0);
  });
});

describe('transport: messages, bytes, queue', () => {
  it('counts messages by peer, type and direction, and their bytes, exactly', () => {
    expect(final().table('messagesSent')).toEqual({
      [HEALTHY]: { gossip: 3, block: 1, other: 1, ping: 2 },
      [REFUSING]: { gossip: 1, ping: 2 },
      [SLOW]: { block: QUEUE_CAPACITY, ping: 2 }, // not the 2 overflowed, not the 3 still queued
    });
    expect(final().table('messagesReceived')).toEqual({
      [HEALTHY]: { gossip: 2, pong: 2 },
      [REFUSING]: { block: 1, pong: 2 },
    });
    expect(final().table('bytesSent')).toEqual({
      [HEALTHY]: 3 * 100 + 4096 + 10 + 2 * PING_BYTES,
      [REFUSING]: 100 + 2 * PING_BYTES,
      [SLOW]: QUEUE_CAPACITY * 512 + 2 * PING_BYTES,
    });
    expect(final().table('bytesReceived')).toEqual({
      [HEALTHY]: 2 * 60 + 2 * PING_BYTES,
      [REFUSING]: 2048 + 2 * PING_BYTES,
    });
    // Sizes of sent and received messages alike.
    expect(final().table('messageSize', { suffix: '_count' })).toEqual({
      [HEALTHY]: { gossip: 3 + 2, block: 1, other: 1, ping: 2, pong: 2 },
      [REFUSING]: { gossip: 1, block: 1, ping: 2, pong: 2 },
      [SLOW]: { block: QUEUE_CAPACITY, ping: 2 },
    });
    expect(final().table('messageSize', { suffix: '_sum' })).toEqual({
      [HEALTHY]: { gossip: 3 * 100 + 2 * 60, block: 4096, other: 10, ping: 2 * PING_BYTES, pong: 2 * PING_BYTES },
      [REFUSING]: { gossip: 100, block: 2048, ping: 2 * PING_BYTES, pong: 2 * PING_BYTES },
      [SLOW]: { block: QUEUE_CAPACITY * 512, ping: 2 * PING_BYTES },
    });
  });

  it('times every delivered send (wall clock: counts exact, values moved)', () => {
    expect(final().table('messageLatency', { suffix: '_count' })).toEqual(final().table('messagesSent'));
    expect(final().total('messageLatency', '_sum')).toBeGreaterThan(0);
  });

  it('follows the send queue: delivery delays, overflows and the backlog left for the slow peer', () => {
    // Wire clock: the exchange waited 3 ms, the burst 20 ms, pings 0 ms.
    expect(final().table('deliveryDelay', { suffix: '_count' })).toEqual({ [HEALTHY]: 5 + 2, [REFUSING]: 1 + 2, [SLOW]: QUEUE_CAPACITY + 2 });
    expect(final().table('deliveryDelay', { suffix: '_sum' })).toEqual({ [HEALTHY]: 5 * 3, [REFUSING]: 3, [SLOW]: QUEUE_CAPACITY * 20 });
    expect(final().table('bufferOverflows')).toEqual({ [SLOW]: 2 });
    expect(final().table('bufferedMessages')).toEqual({ [HEALTHY]: 0, [REFUSING]: 0, [SLOW]: 3 });
    expect(final().table('bufferedBytes')).toEqual({ [HEALTHY]: 0, [REFUSING]: 0, [SLOW]: 3 * 512 });
  });

  it('derives a bandwidth for every peer and direction that moved bytes, never above the bytes themselves', () => {
    const bytes = { outbound: final().table('bytesSent'), inbound: final().table('bytesReceived') } as Record<string, Record<string, number>>;
    const bandwidth = final().table('bandwidth', { keys: ['direction', 'peer_id'] }) as Record<string, Record<string, number>>;
    // Same series as the byte counters. Each sample is a byte delta over ≥ 1 s, so the moving
    // average lies in (0, bytes]; its exact value depends on when collections happened.
    expect(Object.fromEntries(Object.entries(bandwidth).map(([d, peers]) => [d, Object.keys(peers).sort()]))).toEqual(
      Object.fromEntries(Object.entries(bytes).map(([d, peers]) => [d, Object.keys(peers).sort()])),
    );
    for (const [direction, peers] of Object.entries(bandwidth)) {
      for (const [peer, rate] of Object.entries(peers)) {
        expect({ direction, peer, positive: rate > 0, bounded: rate <= (bytes[direction]?.[peer] ?? 0) }).toEqual({ direction, peer, positive: true, bounded: true });
      }
    }
  });
});

describe('manager: discovery, known peers, resources, topology', () => {
  it('counts discoveries by method, failures by reason, and known peers exactly', () => {
    expect(final().table('discoveredPeers')).toEqual({ static: 1, mdns: 2, dns: 1, relay: 1 });
    expect(final().table('discoveryFailures')).toEqual({ dns: { not_found: 1 } });
    // One sample per peer found (mdns found two) and one per failed lookup, on the manager's clock.
    expect(final().table('discoveryDuration', { suffix: '_count' })).toEqual({ static: 1, mdns: 2, dns: 2, relay: 1 });
    expect(final().table('discoveryDuration', { suffix: '_sum' })).toEqual({ static: 1, mdns: 2 * 12, dns: 40 + 8, relay: 25 });
    expect(final().table('knownPeers')).toBe(3); // HEALTHY, REFUSING, SLOW; STALE was lost
  });

  it('follows resource transfers: bytes, active transfers, durations, failures', () => {
    expect(final().table('resourceTransferBytes')).toEqual({
      [HEALTHY]: { blob: 1000 + 3000 },
      [SLOW]: { snapshot: 512 }, // the chunk before the corrupt one
      [REFUSING]: { blob: 2048 }, // the transfer still running
    });
    expect(final().table('resourceTransfersActive')).toEqual({ blob: 1, snapshot: 0 });
    expect(final().table('resourceSyncDuration', { suffix: '_count' })).toEqual({ blob: 1 }); // completed syncs only
    expect(final().table('resourceSyncDuration', { suffix: '_sum' })).toEqual({ blob: 4 + 6 });
    expect(final().table('resourceSyncFailures')).toEqual({ [SLOW]: { snapshot: { corrupt: 1 } } });
  });

  it('computes hops and the diameter from the links and the gossiped topology', () => {
    // local—HEALTHY, local—REFUSING—FAR—FARTHER; local—SLOW went down with SLOW's connection.
    expect(final().table('peerDistance')).toEqual({ [HEALTHY]: 1, [REFUSING]: 1, [FAR]: 2, [FARTHER]: 3 });
    expect(final().table('clusterDiameter')).toBe(4); // HEALTHY—local—REFUSING—FAR—FARTHER
  });
});

describe('health checker over the reference transport', () => {
  it('records RTTs, latest ping latency and scores; failed pings as timeouts', () => {
    expect(final().table('rtt', { suffix: '_count' })).toEqual({ [HEALTHY]: 2, [REFUSING]: 2 });
    expect(final().table('rtt', { suffix: '_sum' })).toEqual({ [HEALTHY]: 2 * PONG_DELAY_MS[HEALTHY], [REFUSING]: 2 * PONG_DELAY_MS[REFUSING] });
    expect(final().table('pingLatency')).toEqual({ [HEALTHY]: PONG_DELAY_MS[HEALTHY], [REFUSING]: PONG_DELAY_MS[REFUSING] });
    const scores = final().table('connectivityScore') as Record<string, number>;
    expect(Object.keys(scores).sort()).toEqual([HEALTHY, REFUSING, SLOW].sort());
    expect(scores[HEALTHY]).toBeCloseTo(scoreOfPerfectPeer(PONG_DELAY_MS[HEALTHY]), 12);
    expect(scores[REFUSING]).toBeCloseTo(scoreOfPerfectPeer(PONG_DELAY_MS[REFUSING]), 12);
    expect(scores[SLOW]).toBe(0); // no ping answered: success rate 0, no RTT
    for (const peer of [HEALTHY, REFUSING]) {
      expect(scores[peer]).toBeGreaterThan(0);
      expect(scores[peer]).toBeLessThanOrEqual(1);
    }
    expect(scores[HEALTHY]).toBeGreaterThan(scores[REFUSING] as number); // nearer is better
  });
});

describe('completeness', () => {
  it('lists every design metric once: covered by the scenario, or fed only by Iroh-level instrumentation', () => {
    const covered: MetricId[] = Object.values(COVERED).flat();
    expect(new Set(covered).size).toBe(covered.length);
    expect([...covered].sort()).toEqual(DESIGN_METRIC_IDS.filter((id) => !IROH_ONLY.includes(id)).sort());
  });

  it('every covered metric moved on the final scrape; the Iroh-only ones carry no sample', () => {
    const covered: MetricId[] = Object.values(COVERED).flat();
    expect(covered.filter((id) => !final().moved(id)).map((id) => METRICS[id].name)).toEqual([]);
    expect(IROH_ONLY.filter((id) => final().samples(id).length > 0).map((id) => METRICS[id].name)).toEqual([]);
  });

  it('nothing the wrappers or the checker recorded was rejected by the monitor', () => {
    expect(final().table('rejectedRecords')).toEqual(Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])));
  });
});
