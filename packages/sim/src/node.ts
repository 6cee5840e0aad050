import { P2pHealthChecker, P2pInstrumentation, type DiscoveryFailureReason, type DiscoveryMethod, type P2pMetricProducer } from '@p2p-otel/instrumentation';
import { SimConnector, type ConnectorSettings, type SimConnection } from './connector.js';
import { netError, type Host } from './host.js';
import { LookupError, SimManager, SyncError } from './manager.js';
import type { Network } from './network.js';
import type { Random } from './random.js';
import { SimTransport, type SimMessage } from './transport.js';
import { firingIsQuiet } from './virtual-time.js';

/** How a simulated node's application behaves. Every period is in virtual ms. */
export interface NodeBehaviour extends ConnectorSettings {
  /** Each connected peer gets one `gossip` message per period (±10 % jitter); 0: no traffic. */
  trafficIntervalMs: number;
  /** Each gap between gossip rounds is trafficIntervalMs × (1 ± trafficJitter); with jitter the first round is at a random time within the first period, without it at trafficIntervalMs. */
  trafficJitter: number;
  /** Payload bytes of a gossip message. */
  messageBytes: number;
  /** Capacity of the send queue. */
  queueCapacity: number;
  /** Processing time per received message, ms: a slow consumer's senders are held back this long. */
  processingMs: number;
  /** Discovery methods looked up each round, in order. */
  discoveryMethods: DiscoveryMethod[];
  /** Time between discovery rounds; 0: once, at start. */
  discoveryIntervalMs: number;
  /** Time a lookup takes, per method. */
  lookupMs: Partial<Record<DiscoveryMethod, number>>;
  /** How often disconnected neighbours are dialled again. */
  reconnectIntervalMs: number;
  /** How often the node publishes the overlay graph it sees; 0: never. */
  topologyIntervalMs: number;
  /** Health checker period; 0: no health checker. */
  healthIntervalMs: number;
  /** Health checker ping timeout. */
  healthTimeoutMs: number;
  /** Health checker jitter (0–1). */
  healthJitter: number;
  /** Message types of the monitor (a closed set). */
  messageTypes: string[];
  /** Resource types of the monitor (a closed set). */
  resourceTypes: string[];
}

export const DEFAULT_BEHAVIOUR: NodeBehaviour = {
  connectTimeoutMs: 2_000,
  breakerResetMs: 10_000,
  breakerErrorPercentage: 50,
  breakerVolumeThreshold: 3,
  poolMax: 4,
  trafficIntervalMs: 1_000,
  trafficJitter: 0.1,
  messageBytes: 1_000,
  queueCapacity: 64,
  processingMs: 0,
  discoveryMethods: ['static'],
  discoveryIntervalMs: 60_000,
  lookupMs: { static: 0, mdns: 100, dns: 50, relay: 200, other: 100 },
  reconnectIntervalMs: 1_000,
  topologyIntervalMs: 10_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 2_000,
  healthJitter: 0.1,
  messageTypes: ['gossip'],
  resourceTypes: ['blob'],
};

export interface ChurnOptions {
  /** Short-lived peers in all. */
  peers: number;
  /** Peers arriving together (default 1). */
  batch?: number;
  /** Time between arrivals, ms. */
  everyMs: number;
  /** How long each stays known, ms. */
  lifetimeMs: number;
  /** Size of the one message each sends (default 100). */
  bytes?: number;
  /** Discovery method they are found by (default relay). */
  method?: DiscoveryMethod;
  /** Peer id prefix (default `e`). */
  prefix?: string;
  messageType?: string;
}

/** What a node process needs from the world. */
export interface WorldLink {
  readonly net: Network;
  /** The virtual clock, ms since the epoch. */
  clock(): number;
  logNode(node: string, kind: string, details?: Record<string, unknown>): void;
  transportOf(id: string): SimTransport | undefined;
  processingMsOf(id: string): number;
  discoveryFailure(id: string, method: DiscoveryMethod): DiscoveryFailureReason | undefined;
  /** Overlay links currently established between live processes, both ways: sorted neighbour ids per node. */
  connectedAdjacency(): ReadonlyMap<string, readonly string[]>;
  /** A connection was made or dropped: connectedAdjacency() must be rebuilt. */
  overlayChanged(): void;
}

/** A Map that reports every change (the world caches the overlay it makes up). */
class ObservedMap<K, V> extends Map<K, V> {
  onChange: (() => void) | undefined;

  override set(key: K, value: V): this {
    super.set(key, value);
    this.onChange?.();
    return this;
  }

  override delete(key: K): boolean {
    const deleted = super.delete(key);
    if (deleted) this.onChange?.();
    return deleted;
  }

  override clear(): void {
    super.clear();
    this.onChange?.();
  }
}

/**
 * Zero-filled payloads shared by every message of a size: only their length is simulated, and a
 * fresh buffer per message is most of a large run's garbage.
 */
const payloads = new Map<number, Uint8Array>();
function payloadOf(bytes: number): Uint8Array {
  let payload = payloads.get(bytes);
  if (payload === undefined) {
    payload = new Uint8Array(bytes);
    if (payloads.size < 64) payloads.set(bytes, payload);
  }
  return payload;
}

/**
 * One run of a node's process, from start (or restart) to crash: the application (connector,
 * transport, manager, health checker, its loops) and the real P2pInstrumentation watching it.
 * A crash stops every timer it owns; a restart is a new process with fresh metrics.
 */
export class NodeProcess implements Host {
  readonly p2p: P2pInstrumentation;
  readonly producer: P2pMetricProducer;
  readonly connector: SimConnector;
  readonly transport: SimTransport;
  readonly manager: SimManager;
  readonly health: P2pHealthChecker | undefined;
  /** Neighbours this process holds a connection to. */
  readonly connections: Map<string, SimConnection> = new ObservedMap<string, SimConnection>();
  private readonly dialling = new Set<string>();
  private readonly known = new Set<string>();
  /** Every neighbour connected, as of the last change of `connections` (undefined: not known). */
  private allConnected: boolean | undefined;
  private crashed = false;

  constructor(
    readonly id: string,
    readonly incarnation: number,
    private readonly neighbours: readonly string[],
    readonly behaviour: NodeBehaviour,
    private readonly world: WorldLink,
    readonly random: Random,
  ) {
    const b = behaviour;
    (this.connections as ObservedMap<string, SimConnection>).onChange = () => {
      this.allConnected = undefined;
      world.overlayChanged();
    };
    const now = (): number => world.clock();
    this.p2p = new P2pInstrumentation({ localPeerId: id, clock: now, messageTypes: b.messageTypes, resourceTypes: b.resourceTypes });
    this.producer = this.p2p.createMetricProducer();
    this.connector = new SimConnector(this, b, (peerId, state) => world.logNode(id, `breaker_${state}`, { peer: peerId }));
    this.transport = new SimTransport(this, b.queueCapacity);
    this.manager = new SimManager(id, now, (e) => world.logNode(id, e.type, eventDetails(e)));
    this.p2p.instrument({ connector: this.connector, transport: this.transport, manager: this.manager });
    this.transport.onMessage(() => undefined);
    this.health =
      b.healthIntervalMs > 0
        ? new P2pHealthChecker({
            monitor: this.p2p,
            peers: () => this.connections.keys(),
            ping: (peerId) => this.ping(peerId),
            intervalMs: b.healthIntervalMs,
            timeoutMs: b.healthTimeoutMs,
            jitter: b.healthJitter,
            clock: now,
            timers: { now, setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
            random: random.fork('health'),
          })
        : undefined;
  }

  get net(): Network {
    return this.world.net;
  }

  get dead(): boolean {
    return this.crashed;
  }

  now(): number {
    return this.world.clock();
  }

  transportOf(id: string): SimTransport | undefined {
    return this.world.transportOf(id);
  }

  processingMsOf(id: string): number {
    return this.world.processingMsOf(id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /**
   * Runs `fn` after `ms`, unless the process crashed meanwhile. (A crash does not clear the
   * process's timers: they fire and do nothing, which keeps per-timer bookkeeping off the path of
   * every message.)
   */
  after(ms: number, fn: () => void): void {
    if (this.crashed) return;
    setTimeout(() => {
      if (!this.crashed) fn();
    }, ms);
  }

  /** Runs `fn` every `ms` × (1 ± jitter), the first time after `firstMs`. */
  every(ms: number, jitter: number, fn: () => void, firstMs = ms): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timerDelay = NaN;
    const tick = (): void => {
      if (this.crashed) return;
      fn();
      // Drawn even when jitter is 0 (and after a crash in fn): every process's random stream
      // advances the same way whatever the settings.
      const delay = ms * (1 + jitter * (2 * this.random() - 1));
      if (this.crashed) return;
      // The same delay again (no jitter): re-arm the timer that just fired, which schedules
      // exactly as a new one would, without allocating one per round.
      if (delay === timerDelay && timer !== undefined && typeof timer.refresh === 'function') timer.refresh();
      else {
        timer = setTimeout(tick, delay);
        timerDelay = delay;
      }
    };
    if (!this.crashed) {
      timer = setTimeout(tick, firstMs);
      timerDelay = firstMs;
    }
  }

  start(): void {
    const b = this.behaviour;
    this.world.logNode(this.id, 'process_started', { incarnation: this.incarnation });
    const discover = (): void => void this.discoverAll();
    discover();
    if (b.discoveryIntervalMs > 0) this.every(b.discoveryIntervalMs, 0, discover);
    // Once every neighbour is connected the redial tick does nothing: said so, it costs no event-loop turn.
    this.every(b.reconnectIntervalMs, 0, () => {
      if (!this.maintain()) firingIsQuiet();
    });
    if (b.trafficIntervalMs > 0) this.every(b.trafficIntervalMs, b.trafficJitter, () => this.gossip(), b.trafficJitter > 0 ? b.trafficIntervalMs * this.random() : b.trafficIntervalMs);
    if (b.topologyIntervalMs > 0) this.every(b.topologyIntervalMs, 0, () => this.publishTopology());
    this.health?.start();
  }

  /** The process dies: its timers stop, its connections vanish, nothing more is recorded. */
  crash(): void {
    this.crashed = true;
    this.health?.stop();
    this.connector.shutdown();
    for (const connection of this.connections.values()) connection.close('crashed');
    this.connections.clear();
  }

  /** End of the run: stops timers without the process counting as crashed in the log. */
  stop(): void {
    this.crash();
  }

  private async discoverAll(): Promise<void> {
    for (const method of this.behaviour.discoveryMethods) {
      if (this.crashed) return;
      try {
        const found = await this.manager.discover(method, () => this.lookup(method));
        for (const peer of found) this.known.add(peer);
      } catch {
        // Counted by the instrumentation through discovery_failed; the next round retries.
      }
    }
    this.maintain();
  }

  private async lookup(method: DiscoveryMethod): Promise<string[]> {
    const ms = this.behaviour.lookupMs[method] ?? 0;
    if (ms > 0) await this.sleep(ms);
    const failure = this.world.discoveryFailure(this.id, method);
    if (failure !== undefined) throw new LookupError(`${method} lookup failed: ${failure}`, failure);
    // Static configuration lists every neighbour; live methods only find reachable, running ones.
    return method === 'static' ? [...this.neighbours] : this.neighbours.filter((n) => this.net.reachable(this.id, n) && this.transportOf(n) !== undefined);
  }

  /** Dials the known neighbours not connected; whether it dialled any (false: nothing asynchronous started). */
  private maintain(): boolean {
    if (this.crashed) return false;
    // The steady state: nothing to dial. (A per-second loop over every neighbour is a large
    // share of a thousand-node run otherwise.)
    if (this.allConnected === undefined) this.allConnected = this.neighbours.every((peer) => this.connections.has(peer));
    if (this.allConnected) return false;
    let dialled = false;
    for (const peer of this.neighbours) {
      if (this.known.has(peer) && !this.connections.has(peer) && !this.dialling.has(peer)) {
        void this.connect(peer);
        dialled = true;
      }
    }
    return dialled;
  }

  private async connect(peer: string): Promise<void> {
    this.dialling.add(peer);
    try {
      const connection = await this.connector.connectToPeer(peer);
      if (this.crashed) return;
      this.connections.set(peer, connection);
      this.manager.linkUp(this.id, peer);
      void connection.closed().then(() => {
        if (this.crashed || this.connections.get(peer) !== connection) return;
        this.connections.delete(peer);
        this.manager.linkDown(this.id, peer);
      });
    } catch {
      // Counted by the instrumentation (attempts, errors, breaker); maintain() tries again.
    } finally {
      this.dialling.delete(peer);
    }
  }

  private gossip(): void {
    for (const peer of [...this.connections.keys()]) this.send(peer, 'gossip', this.behaviour.messageBytes);
  }

  /** Sends one message; a send that times out or is reset drops the connection. */
  send(peer: string, type: string, bytes: number): void {
    if (this.crashed) return;
    const message: SimMessage = { type, payload: payloadOf(bytes) };
    this.transport.sendToPeer(peer, message).catch((e: { code?: string }) => {
      if (this.crashed || (e.code !== 'ETIMEDOUT' && e.code !== 'ECONNRESET')) return;
      const connection = this.connections.get(peer);
      if (connection !== undefined) void this.connector.discard(connection, e.code);
    });
  }

  /** One ping: out and back; a lost packet never answers (the health checker's timeout ends it). */
  private ping(peer: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.net.lost(this.id, peer)) return;
      this.after(this.net.delay(this.id, peer), () => {
        if (this.transportOf(peer) === undefined) return reject(netError('ECONNRESET', `${peer}: connection reset by peer`));
        if (this.net.lost(peer, this.id)) return;
        this.after(this.net.delay(peer, this.id), resolve);
      });
    });
  }

  /** Publishes the overlay graph this node can see: the established links of its connected component. */
  private publishTopology(): void {
    const all = this.world.connectedAdjacency();
    const seen = new Set<string>([this.id]);
    const queue = [this.id];
    const adjacency: Record<string, string[]> = {};
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] as string;
      const next = all.get(node) ?? [];
      adjacency[node] = next.slice();
      for (const n of next) if (!seen.has(n)) seen.add(n), queue.push(n);
    }
    this.manager.topology(adjacency);
  }

  /**
   * Short-lived peers: `batch` new ids (`prefix` + counter) every `everyMs` until `peers` have
   * come; each is discovered by `method`, sends this node one `bytes`-byte message and is lost
   * `lifetimeMs` later. Nothing dials them: they exercise label cardinality, not the network.
   */
  churn(options: ChurnOptions): void {
    const { peers, batch = 1, everyMs, lifetimeMs, bytes = 100, method = 'relay', prefix = 'e', messageType = 'gossip' } = options;
    let next = 0;
    const tick = (): void => {
      const ids: string[] = [];
      for (let i = 0; i < batch && next < peers; i++) ids.push(`${prefix}${next++}`);
      for (const peerId of ids) {
        this.manager.discovered(peerId, method);
        this.transport.receive(peerId, { type: messageType, payload: payloadOf(bytes) });
      }
      this.after(lifetimeMs, () => ids.forEach((peerId) => this.manager.lost(peerId)));
      if (next < peers) this.after(everyMs, tick);
    };
    tick();
  }

  /** Pulls `bytes` of `resourceType` from `peer` in chunks; fails when the peer goes away. */
  async sync(peer: string, resourceType: string, bytes: number, chunkBytes: number): Promise<void> {
    if (this.crashed) return;
    const self = this;
    async function* chunks(): AsyncGenerator<number> {
      for (let left = bytes; left > 0; left -= chunkBytes) {
        const size = Math.min(left, chunkBytes);
        if (self.transportOf(peer) === undefined) throw new SyncError(`${peer} is down`, 'unreachable');
        if (!self.net.reachable(self.id, peer)) {
          await self.sleep(5_000);
          throw new SyncError(`${peer}: no answer`, 'timeout');
        }
        await self.sleep(self.net.wireMs(peer, self.id, size) + self.net.delay(peer, self.id));
        if (self.transportOf(peer) === undefined) throw new SyncError(`${peer} went down`, 'unreachable');
        yield size;
      }
    }
    await this.manager.syncResource(resourceType, peer, chunks()).catch(() => undefined);
  }
}

function eventDetails(e: object): Record<string, unknown> {
  const { type: _type, ...rest } = e as { type: string };
  return rest;
}
