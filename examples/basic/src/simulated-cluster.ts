/**
 * A small P2P cluster simulated in-process: no sockets, only the calls a real networking layer
 * makes on a P2pMonitor. Read it as a map from network events to record methods.
 *
 * The scenario is scripted so that every metric has data within the first two seconds and then
 * keeps moving; only sizes and timings are random (seeded, so every run is the same).
 *
 *   alpha    same LAN, found by mDNS, 1.5 ms away
 *   bravo    found by DNS; its connection is reset 0.8 s in, then every 20 s, and reconnects
 *   charlie  behind a NAT, reached through a relay: slow, lossy; when the relay stalls, its send
 *            buffer overflows
 *   delta    a static address that refuses dials: its circuit breaker opens, half-opens after
 *            a cool-down, lets a probe through and closes; the connection times out every 30 s
 *   echo     a laptop that announces itself by mDNS now and then, never connects
 */
import { createHash } from 'node:crypto';
import type { CircuitBreakerState, ConnectionState, DiscoveryMethod, P2pMonitor } from '@p2p-otel/instrumentation';

/** Closed label sets, given to the monitor so that unexpected values fold into `other`. */
export const MESSAGE_TYPES = ['raft', 'gossip', 'sync', 'ping'];
export const RESOURCE_TYPES = ['snapshot', 'blob'];
export const PROTOCOL_VERSIONS = ['demo/raft/2', 'demo/raft/1'];

/** A 64-hex-character id shaped like an Iroh NodeId (an ed25519 public key). */
export function nodeId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export const LOCAL_NODE_ID = nodeId('local');
const RELAY_ID = nodeId('relay-eu-1');

/** Simulated time advanced by each tick. */
export const TICK_MS = 100;
const RETRY_MS = 200;
const BREAKER_THRESHOLD = 3;
const BREAKER_COOL_DOWN_MS = 1_000;
const BUFFER_LIMIT = 8;
const SYNC_CHUNK_BYTES = 64 * 1024;

interface PeerProfile {
  name: string;
  discovery: DiscoveryMethod;
  rttMs: number;
  loss: number;
  alpn: string;
  relayed?: boolean;
  /** Dials that fail before one succeeds, after every drop. */
  failingDials?: number;
  /** The connection drops at `offsetMs`, then every `periodMs`. */
  drops?: { periodMs: number; offsetMs: number; error: 'reset' | 'timeout' };
}

const PROFILES: PeerProfile[] = [
  { name: 'alpha', discovery: 'mdns', rttMs: 1.5, loss: 0, alpn: 'demo/raft/2' },
  { name: 'bravo', discovery: 'dns', rttMs: 24, loss: 0.002, alpn: 'demo/raft/2', drops: { periodMs: 20_000, offsetMs: 800, error: 'reset' } },
  { name: 'charlie', discovery: 'relay', rttMs: 95, loss: 0.03, alpn: 'demo/raft/1', relayed: true },
  { name: 'delta', discovery: 'static', rttMs: 40, loss: 0.01, alpn: 'demo/raft/2', failingDials: BREAKER_THRESHOLD, drops: { periodMs: 30_000, offsetMs: 30_000, error: 'timeout' } },
];
const ECHO_ID = nodeId('echo');

interface Peer {
  readonly id: string;
  readonly profile: PeerProfile;
  state: ConnectionState;
  breaker: CircuitBreakerState;
  breakerOpenedAt: number;
  failures: number;
  failingDialsLeft: number;
  nextDialAt: number;
  connectedAt: number;
  /** Sizes of the messages waiting in this peer's send buffer, with the time each was queued. */
  queue: { bytes: number; type: string; queuedAt: number }[];
  sync: { type: string; startedAt: number; chunksLeft: number; failsAfter: number } | undefined;
}

export interface ClusterStats {
  elapsedMs: number;
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  connectionErrors: number;
  syncFailures: number;
  bufferOverflows: number;
  connectedPeers: number;
}

export class SimulatedCluster {
  readonly stats: ClusterStats = {
    elapsedMs: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    connectionErrors: 0,
    syncFailures: 0,
    bufferOverflows: 0,
    connectedPeers: 0,
  };
  private readonly peers: Peer[];
  private readonly random: () => number;
  private now = 0;
  private syncRound = 0;

  constructor(
    private readonly monitor: P2pMonitor,
    seed = 42,
  ) {
    this.random = mulberry32(seed);
    this.peers = PROFILES.map((profile) => ({
      id: nodeId(profile.name),
      profile,
      state: 'disconnected',
      breaker: 'closed',
      breakerOpenedAt: 0,
      failures: 0,
      failingDialsLeft: profile.failingDials ?? 0,
      nextDialAt: 0,
      connectedAt: 0,
      queue: [],
      sync: undefined,
    }));
  }

  /** Advances the cluster by TICK_MS of traffic. */
  tick(): void {
    if (this.now === 0) this.discover();
    if (this.every(10_000, 0)) this.monitor.recordPeerDiscovered(ECHO_ID, 'mdns');
    if (this.every(10_000, 3_000)) this.monitor.recordPeerLost(ECHO_ID);
    if (this.every(5_000, 200)) this.startSyncs();

    for (const peer of this.peers) {
      const drops = peer.profile.drops;
      if (peer.state === 'connected' && drops !== undefined && this.every(drops.periodMs, drops.offsetMs)) {
        this.drop(peer, drops.error);
      }
      if (peer.state !== 'connected' && this.now >= peer.nextDialAt) this.dial(peer);
      if (peer.state === 'connected') this.exchange(peer);
    }
    this.reportPool();
    this.now += TICK_MS;
    this.stats.elapsedMs = this.now;
  }

  /** Closes every connection gracefully, as a node does on shutdown. */
  close(): void {
    for (const peer of this.peers) {
      if (peer.state !== 'connected') continue;
      this.setState(peer, 'disconnecting');
      this.disconnected(peer, 'disconnected');
    }
    this.reportPool();
  }

  // ---- discovery and connections ---------------------------------------------------------------

  private discover(): void {
    const m = this.monitor;
    const lookupMs: Record<DiscoveryMethod, number> = { mdns: 12, dns: 38, static: 0.1, relay: 140, other: 50 };
    for (const peer of this.peers) {
      m.recordPeerDiscovered(peer.id, peer.profile.discovery);
      m.recordDiscoveryDuration(peer.profile.discovery, lookupMs[peer.profile.discovery] * (0.8 + 0.4 * this.random()));
    }
    m.recordDiscoveryFailure('dns', 'timeout'); // a stale seed record that no longer answers
    m.recordPeerLink(LOCAL_NODE_ID, RELAY_ID); // our home relay, for peers we cannot reach directly
    // What gossip told us about the others' links (peer exchange):
    m.recordPeerLink(nodeId('alpha'), nodeId('bravo'));
    m.recordPeerLink(nodeId('bravo'), nodeId('delta'));
  }

  private dial(peer: Peer): void {
    const m = this.monitor;
    if (peer.breaker === 'open') {
      if (this.now - peer.breakerOpenedAt < BREAKER_COOL_DOWN_MS) return; // fail fast, no dial
      this.setBreaker(peer, 'half_open'); // cool-down over: let one probe through
    }
    this.setState(peer, 'connecting');
    if (peer.failingDialsLeft > 0) {
      peer.failingDialsLeft--;
      const timedOut = peer.failingDialsLeft % 2 === 1;
      m.recordConnectionAttempt(peer.id, timedOut ? 'timeout' : 'failed');
      m.recordError(peer.id, timedOut ? 'timeout' : 'refused');
      this.stats.connectionErrors++;
      this.setState(peer, 'failed');
      m.recordCircuitBreakerFailure(peer.id);
      peer.failures++;
      if (peer.breaker === 'half_open' || peer.failures >= BREAKER_THRESHOLD) {
        this.setBreaker(peer, 'open');
        peer.breakerOpenedAt = this.now;
      }
      peer.nextDialAt = this.now + RETRY_MS;
      return;
    }
    m.recordConnectionAttempt(peer.id, 'success');
    m.recordHandshake(peer.id, peer.profile.rttMs * (1.5 + this.random())); // about one round trip and a half
    this.setState(peer, 'connected');
    this.setBreaker(peer, 'closed');
    peer.failures = 0;
    peer.connectedAt = this.now;
    m.recordProtocolVersion(peer.id, peer.profile.alpn, true);
    m.recordQuicStreamOpened(peer.id, 'outbound'); // our raft stream
    m.recordQuicStreamOpened(peer.id, 'inbound'); // their ack stream
    // Direct peers are one hop away; a relayed one is two (local - relay - peer).
    m.recordPeerLink(peer.profile.relayed ? RELAY_ID : LOCAL_NODE_ID, peer.id);
  }

  private drop(peer: Peer, error: 'reset' | 'timeout'): void {
    this.monitor.recordError(peer.id, error);
    this.stats.connectionErrors++;
    this.monitor.recordPoolEviction('error');
    this.disconnected(peer, 'failed');
    peer.failingDialsLeft = peer.profile.failingDials ?? 0;
    peer.nextDialAt = this.now + RETRY_MS;
  }

  private disconnected(peer: Peer, to: 'disconnected' | 'failed'): void {
    const m = this.monitor;
    this.setState(peer, to);
    m.recordConnectionDuration(peer.id, (this.now - peer.connectedAt) / 1000);
    m.recordProtocolVersion(peer.id, peer.profile.alpn, false);
    m.recordQuicStreamClosed(peer.id, 'outbound');
    m.recordQuicStreamClosed(peer.id, 'inbound');
    m.recordPeerUnlink(peer.profile.relayed ? RELAY_ID : LOCAL_NODE_ID, peer.id);
    for (const message of peer.queue) m.recordBufferDequeue(peer.id, message.bytes); // dropped with the connection
    peer.queue = [];
    if (peer.sync !== undefined) this.failSync(peer, 'cancelled');
  }

  private setState(peer: Peer, to: ConnectionState): void {
    this.monitor.recordConnectionStateChange(peer.id, peer.state, to);
    peer.state = to;
    this.stats.connectedPeers = this.peers.filter((p) => p.state === 'connected').length;
  }

  private setBreaker(peer: Peer, state: CircuitBreakerState): void {
    peer.breaker = state;
    this.monitor.recordCircuitBreakerState(peer.id, state);
  }

  // ---- traffic -----------------------------------------------------------------------------------

  /** One tick of traffic with a connected peer. */
  private exchange(peer: Peer): void {
    const m = this.monitor;
    m.recordConnectionReuse(peer.id); // the pooled connection serves this tick's sends
    m.recordPoolWait(this.random() * 0.5);

    // We lead the raft group: one append-entries per tick, and gossip half the time.
    this.enqueue(peer, 'raft', 200 + Math.round(this.random() * 600));
    if (this.random() < 0.5) this.enqueue(peer, 'gossip', 1024 + Math.round(this.random() * 3072));
    this.flush(peer);

    // What the peer sends us: raft acks, and gossip of its own.
    this.receive(peer, 'raft', 64);
    if (this.random() < 0.4) this.receive(peer, 'gossip', 1024 + Math.round(this.random() * 3072));

    if (this.now === peer.connectedAt || this.every(1_000, 0)) this.ping(peer);
    if (peer.sync !== undefined) this.continueSync(peer);
  }

  private enqueue(peer: Peer, type: string, bytes: number): void {
    if (peer.queue.length >= BUFFER_LIMIT) {
      this.monitor.recordBufferOverflow(peer.id);
      this.stats.bufferOverflows++;
      return;
    }
    peer.queue.push({ bytes, type, queuedAt: this.now });
    this.monitor.recordBufferEnqueue(peer.id, bytes);
  }

  /**
   * Sends what the link lets through. The relay forwards two messages per tick but stalls for a
   * second every 5 s, long enough for charlie's buffer to fill and overflow.
   */
  private flush(peer: Peer): void {
    const stalled = peer.profile.relayed === true && this.now % 5_000 >= 200 && this.now % 5_000 < 1_200;
    const capacity = !peer.profile.relayed ? Infinity : stalled ? 0 : 2;
    for (let sent = 0; sent < capacity && peer.queue.length > 0; sent++) {
      const message = peer.queue.shift()!;
      const waitedMs = this.now - message.queuedAt + this.random();
      this.monitor.recordBufferDequeue(peer.id, message.bytes, waitedMs);
      this.send(peer, message.type, message.bytes, waitedMs + this.rtt(peer));
    }
  }

  private send(peer: Peer, type: string, bytes: number, latencyMs?: number): void {
    this.monitor.recordMessage(peer.id, type, bytes, latencyMs, 'outbound');
    this.monitor.recordBytesTransferred(peer.id, 'outbound', 48); // QUIC and framing overhead
    this.stats.messagesSent++;
    this.stats.bytesSent += bytes;
  }

  private receive(peer: Peer, type: string, bytes: number): void {
    this.monitor.recordMessage(peer.id, type, bytes, undefined, 'inbound');
    this.monitor.recordBytesTransferred(peer.id, 'inbound', 48);
    this.stats.messagesReceived++;
  }

  private ping(peer: Peer): void {
    const m = this.monitor;
    const rtt = this.rtt(peer);
    this.send(peer, 'ping', 32, rtt);
    this.receive(peer, 'ping', 32);
    m.recordRtt(peer.id, rtt);
    m.recordPingLatency(peer.id, rtt);
    const loss = peer.profile.loss * (0.5 + this.random());
    m.recordQuicPacketLoss(peer.id, loss);
    m.recordQuicRetransmissions(peer.id, Math.round(loss * 200));
    // A made-up quality score: 1 for a fast, clean path, lower with latency and loss.
    m.recordConnectivityScore(peer.id, Math.max(0, 1 - rtt / 500 - loss * 5));
  }

  private rtt(peer: Peer): number {
    return peer.profile.rttMs * (0.9 + 0.3 * this.random());
  }

  // ---- resource synchronisation -----------------------------------------------------------------

  /** Every 5 s each connected peer sends us a resource; transfers over the relay time out every other round. */
  private startSyncs(): void {
    const type = RESOURCE_TYPES[this.syncRound % RESOURCE_TYPES.length] as string;
    const relayFails = this.syncRound % 2 === 0;
    this.syncRound++;
    for (const peer of this.peers) {
      if (peer.state !== 'connected' || peer.sync !== undefined) continue;
      this.monitor.recordResourceTransferStarted(type);
      this.monitor.recordQuicStreamOpened(peer.id, 'inbound');
      const failsAfter = peer.profile.relayed && relayFails ? 2 : Infinity;
      peer.sync = { type, startedAt: this.now, chunksLeft: 4, failsAfter };
    }
  }

  private continueSync(peer: Peer): void {
    const sync = peer.sync!;
    if (sync.failsAfter-- <= 0) {
      this.failSync(peer, 'timeout');
      return;
    }
    this.receive(peer, 'sync', SYNC_CHUNK_BYTES);
    this.monitor.recordResourceTransferBytes(peer.id, sync.type, SYNC_CHUNK_BYTES);
    if (--sync.chunksLeft > 0) return;
    this.monitor.recordResourceSync(sync.type, this.now - sync.startedAt + TICK_MS);
    this.endSync(peer);
  }

  private failSync(peer: Peer, reason: 'timeout' | 'cancelled'): void {
    this.monitor.recordResourceSyncFailure(peer.id, peer.sync!.type, reason);
    this.stats.syncFailures++;
    this.endSync(peer);
  }

  private endSync(peer: Peer): void {
    this.monitor.recordResourceTransferFinished(peer.sync!.type);
    this.monitor.recordQuicStreamClosed(peer.id, 'inbound');
    peer.sync = undefined;
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private reportPool(): void {
    const pooled = this.stats.connectedPeers;
    const busy = this.peers.filter((p) => p.queue.length > 0 || p.sync !== undefined).length;
    this.monitor.recordPoolState(pooled, Math.max(0, pooled - busy));
  }

  /** True on the tick at `offsetMs`, then every `periodMs`. */
  private every(periodMs: number, offsetMs: number): boolean {
    return this.now >= offsetMs && (this.now - offsetMs) % periodMs === 0;
  }
}

/** A tiny seeded PRNG (mulberry32): the same traffic on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
