/**
 * P2pManager: membership, topology and resource synchronisation, the shape of the design's
 * P2pManager. It reports what happens as a stream of P2pEvents on `emit('event', e)`, which
 * p2p-otel's manager instrumentation subscribes to (discovery, known peers, topology, syncs).
 *
 * - Static discovery: the peer list is a list of Iroh tickets (endpoint id plus direct addresses).
 *   A peer counts as discovered once it answered a probe; a peer whose health pings keep failing
 *   is lost, and probed again until it answers.
 * - Topology: the overlay is a ring in peer-list order. Each node gossips (push-pull) what it knows
 *   of every node's links and resources to its ring neighbours, so every node knows the whole graph.
 * - Resource sync: resources advertised in gossip are fetched in 64 KiB chunks and verified
 *   against their content hash.
 */
import { EventEmitter } from 'node:events';
import { EndpointTicket } from '@number0/iroh';
import { classifyError, type P2pEvent, type SyncFailureReason } from '@p2p-otel/instrumentation';
import type { BlobInfo, BlobStore } from './blob-store.js';
import type { IrohPeerConnector } from './connector.js';
import { RemoteError, decodeJson, encodeJson, shortError, sleep, type Message } from './protocol.js';
import type { IrohTransport } from './transport.js';

export interface P2pManagerOptions {
  localId: string;
  transport: IrohTransport;
  connector: IrohPeerConnector;
  blobs: BlobStore;
  /** Gossip rounds (default 1000 ms). */
  gossipIntervalMs?: number;
  /** Probing an undiscovered or lost peer again (default 2000 ms). */
  probeIntervalMs?: number;
  /** Starting a resource fetch when one is missing (default 1500 ms). */
  syncIntervalMs?: number;
  /**
   * Resources of at least `bulkThresholdBytes` (default: none) are fetched at no more than
   * `bulkBytesPerSecond`, so that a large transfer never starves the raft traffic; such a bulk
   * transfer does not count against the two fetches at a time of the other resources.
   */
  bulkThresholdBytes?: number;
  bulkBytesPerSecond?: number;
  /** Consecutive failed health pings before a peer is lost (default 3). */
  failuresBeforeLost?: number;
  log?: (line: string) => void;
}

/** What a node gossips about itself; the newest version wins. */
interface NodeView {
  version: number;
  links: string[];
  blobs: BlobInfo[];
}

interface PeerState {
  status: 'probing' | 'up';
  /** When the current lookup started (peer list read, or peer lost). */
  lookupStartedAt: number;
  failures: number;
  probeTimer?: NodeJS.Timeout;
}

interface SyncRequest {
  id: string;
  offset: number;
  length: number;
}

const CHUNK_BYTES = 64 * 1024;

class SyncError extends Error {
  constructor(
    message: string,
    readonly reason: SyncFailureReason,
  ) {
    super(message);
  }
}

export class P2pManager extends EventEmitter {
  private readonly peers = new Map<string, PeerState>();
  /** Every node of the peer list, self included, in list order: the ring. */
  private ring: string[] = [];
  private readonly views = new Map<string, NodeView>();
  private versionCounter = 0;
  private readonly fetching = new Set<string>();
  private readonly fetchingBulk = new Set<string>();
  private readonly cooldown = new Map<string, number>();
  private lastTopology = '';
  private ownLinks = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;

  constructor(private readonly options: P2pManagerOptions) {
    super();
    this.views.set(options.localId, { version: this.nextVersion(), links: [], blobs: [] });
  }

  get localId(): string {
    return this.options.localId;
  }

  /**
   * Registers the message handlers and starts gossip and sync. Call after the transport is
   * instrumented, so the handlers registered here are observed.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.transport.onMessage((from, message) => this.onMessage(from, message));
    this.every(this.options.gossipIntervalMs ?? 1_000, () => this.gossipRound());
    this.every(this.options.syncIntervalMs ?? 1_500, () => this.syncRound());
  }

  stop(): void {
    this.started = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const peer of this.peers.values()) clearTimeout(peer.probeTimer);
  }

  /** Static discovery: the cluster's peer list (tickets, this node's own included). */
  setPeerList(tickets: readonly string[]): void {
    const ring: string[] = [];
    for (const ticket of tickets) {
      const started = performance.now();
      let peerId: string;
      try {
        const addr = EndpointTicket.fromString(ticket).endpointAddr();
        peerId = addr.id().toString();
        if (peerId !== this.localId) this.options.connector.setPeerAddress(peerId, addr);
      } catch {
        this.publish({ type: 'discovery_failed', method: 'static', reason: 'invalid_response', durationMs: performance.now() - started });
        continue;
      }
      ring.push(peerId);
      if (peerId !== this.localId && !this.peers.has(peerId)) {
        this.peers.set(peerId, { status: 'probing', lookupStartedAt: started, failures: 0 });
        this.probe(peerId);
      }
    }
    this.ring = ring;
    this.updateOwnView();
  }

  /** Every node of the peer list, this one included, in list order. */
  members(): string[] {
    return [...this.ring];
  }

  /** Peers discovered and not lost. */
  knownPeers(): string[] {
    return [...this.peers].filter(([, p]) => p.status === 'up').map(([id]) => id);
  }

  /** Health-check outcome for a peer (the health checker's ping reports here). */
  reportPing(peerId: string, ok: boolean): void {
    const peer = this.peers.get(peerId);
    if (peer === undefined || peer.status !== 'up') return;
    peer.failures = ok ? 0 : peer.failures + 1;
    if (peer.failures >= (this.options.failuresBeforeLost ?? 3)) this.lose(peerId, peer);
  }

  /** The overlay graph as this node knows it: alive nodes and their links among alive nodes. */
  adjacency(): Record<string, string[]> {
    const alive = new Set([this.localId, ...this.knownPeers()]);
    const graph: Record<string, string[]> = {};
    for (const node of [...alive].sort()) {
      graph[node] = (this.views.get(node)?.links ?? []).filter((n) => alive.has(n)).sort();
    }
    return graph;
  }

  // ---- discovery and membership -------------------------------------------------------------------

  private probe(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (peer === undefined || peer.status !== 'probing' || !this.started) return;
    const again = (): void => {
      peer.probeTimer = setTimeout(() => this.probe(peerId), this.options.probeIntervalMs ?? 2_000);
      peer.probeTimer.unref();
    };
    this.exchangeViews(peerId, AbortSignal.timeout(1_500)).then(
      () => {
        if (peer.status !== 'probing') return;
        peer.status = 'up';
        peer.failures = 0;
        this.publish({ type: 'peer_discovered', peerId, method: 'static', durationMs: performance.now() - peer.lookupStartedAt });
        this.options.log?.(`discovered ${peerId.slice(0, 10)}`);
        this.updateOwnView();
      },
      (error: unknown) => {
        const reason = classifyError(error) === 'timeout' ? 'timeout' : 'unreachable';
        this.publish({ type: 'discovery_failed', method: 'static', reason, durationMs: performance.now() - peer.lookupStartedAt });
        again();
      },
    );
  }

  private lose(peerId: string, peer: PeerState): void {
    peer.status = 'probing';
    peer.failures = 0;
    peer.lookupStartedAt = performance.now();
    this.publish({ type: 'peer_lost', peerId });
    this.options.log?.(`lost ${peerId.slice(0, 10)}`);
    this.options.connector.disconnectFromPeer(peerId).catch(() => undefined);
    this.updateOwnView();
    peer.probeTimer = setTimeout(() => this.probe(peerId), this.options.probeIntervalMs ?? 2_000);
    peer.probeTimer.unref();
  }

  // ---- topology gossip --------------------------------------------------------------------------

  /** This node's overlay links: its ring neighbours that are up. */
  private ringNeighbours(): string[] {
    const i = this.ring.indexOf(this.localId);
    if (i < 0 || this.ring.length < 2) return [];
    const next = this.ring[(i + 1) % this.ring.length] as string;
    const previous = this.ring[(i - 1 + this.ring.length) % this.ring.length] as string;
    return [...new Set([next, previous])].filter((n) => n !== this.localId);
  }

  private updateOwnView(): void {
    const known = new Set(this.knownPeers());
    const links = new Set(this.ringNeighbours().filter((n) => known.has(n)));
    for (const peer of links) if (!this.ownLinks.has(peer)) this.publish({ type: 'peer_link_up', from: this.localId, to: peer });
    for (const peer of this.ownLinks) if (!links.has(peer)) this.publish({ type: 'peer_link_down', from: this.localId, to: peer });
    this.ownLinks = links;
    this.views.set(this.localId, { version: this.nextVersion(), links: [...links].sort(), blobs: this.options.blobs.list() });
    this.publishTopology();
  }

  /** Versions survive restarts: a restarted node's views must win over what it gossiped before. */
  private nextVersion(): number {
    return Date.now() * 1_000 + (this.versionCounter++ % 1_000);
  }

  private publishTopology(): void {
    const adjacency = this.adjacency();
    const key = JSON.stringify(adjacency);
    if (key === this.lastTopology) return;
    this.lastTopology = key;
    this.publish({ type: 'topology', adjacency });
  }

  private gossipRound(): void {
    this.updateOwnView(); // picks up resources added or evicted since
    for (const peer of this.ownLinks) void this.exchangeViews(peer).catch(() => undefined);
  }

  /** Push-pull: sends what we know, merges the reply. */
  private async exchangeViews(peerId: string, signal?: AbortSignal): Promise<void> {
    const message: Message = { type: 'gossip', payload: encodeJson(Object.fromEntries(this.views)) };
    const reply = await this.options.transport.sendToPeer(peerId, message, signal === undefined ? {} : { signal });
    this.merge(decodeJson<Record<string, NodeView>>(reply));
  }

  private merge(views: Record<string, NodeView>): void {
    for (const [node, view] of Object.entries(views)) {
      if (node === this.localId) continue;
      const known = this.views.get(node);
      if (known === undefined || view.version > known.version) this.views.set(node, view);
    }
    this.publishTopology();
  }

  // ---- incoming messages --------------------------------------------------------------------------

  private onMessage(_from: string, message: Message): Uint8Array | undefined {
    if (message.type === 'gossip') {
      this.merge(decodeJson<Record<string, NodeView>>(message.payload));
      return encodeJson(Object.fromEntries(this.views));
    }
    if (message.type === 'sync') {
      const request = decodeJson<SyncRequest>(message.payload);
      const chunk = this.options.blobs.read(request.id, request.offset, Math.min(request.length, CHUNK_BYTES));
      if (chunk === undefined) throw new Error(`resource ${request.id.slice(0, 12)} not found`);
      return chunk;
    }
    return undefined;
  }

  // ---- resource sync ----------------------------------------------------------------------------

  private syncRound(): void {
    const now = performance.now();
    const slotFree = this.fetching.size - this.fetchingBulk.size < 2;
    const candidates: { peer: string; info: BlobInfo }[] = [];
    for (const peer of this.knownPeers()) {
      for (const info of this.views.get(peer)?.blobs ?? []) {
        if (this.options.blobs.has(info.id) || this.fetching.has(info.id) || (this.cooldown.get(info.id) ?? 0) > now) continue;
        if (this.isBulk(info)) {
          // Bulk transfers run beside the others, one per resource.
          void this.fetch(peer, info);
          continue;
        }
        if (slotFree) candidates.push({ peer, info });
      }
    }
    if (candidates.length === 0) return;
    // Snapshots first (a node catching up), then a random resource from a random holder.
    const snapshot = candidates.find((c) => c.info.type === 'snapshot');
    const pick = snapshot ?? candidates[Math.floor(Math.random() * candidates.length)];
    if (pick !== undefined) void this.fetch(pick.peer, pick.info);
  }

  /** Fetches one resource from a peer, chunk by chunk, and verifies it. */
  async fetch(peerId: string, info: BlobInfo): Promise<boolean> {
    const resourceType = info.type;
    const started = performance.now();
    const bulk = this.isBulk(info);
    this.fetching.add(info.id);
    if (bulk) this.fetchingBulk.add(info.id);
    this.publish({ type: 'resource_sync_started', resourceType, peerId });
    try {
      const chunks: Uint8Array[] = [];
      for (let offset = 0; offset < info.size; offset += CHUNK_BYTES) {
        const request: SyncRequest = { id: info.id, offset, length: Math.min(CHUNK_BYTES, info.size - offset) };
        const chunk = await this.options.transport.sendToPeer(peerId, { type: 'sync', payload: encodeJson(request) });
        if (chunk.byteLength !== request.length) throw new SyncError(`short chunk at ${offset}`, 'corrupt');
        chunks.push(chunk);
        this.publish({ type: 'resource_transfer_progress', peerId, resourceType, bytes: chunk.byteLength });
        if (bulk) await sleep((chunk.byteLength / (this.options.bulkBytesPerSecond ?? Infinity)) * 1000);
      }
      if (!this.options.blobs.put(info, Buffer.concat(chunks))) throw new SyncError('content hash mismatch', 'corrupt');
      this.publish({ type: 'resource_sync_completed', resourceType, peerId, durationMs: performance.now() - started });
      return true;
    } catch (error) {
      const reason = syncFailureReason(error);
      this.publish({ type: 'resource_sync_failed', resourceType, peerId, reason, durationMs: performance.now() - started });
      this.options.log?.(`sync of ${resourceType} ${info.id.slice(0, 8)} from ${peerId.slice(0, 10)} failed: ${reason} (${shortError(error)})`);
      this.cooldown.set(info.id, performance.now() + 5_000);
      return false;
    } finally {
      this.fetching.delete(info.id);
      this.fetchingBulk.delete(info.id);
    }
  }

  private isBulk(info: BlobInfo): boolean {
    return info.size >= (this.options.bulkThresholdBytes ?? Infinity);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private publish(event: P2pEvent): void {
    this.emit('event', event);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

/** Why a fetch failed, in the schema's closed set. */
export function syncFailureReason(error: unknown): SyncFailureReason {
  if (error instanceof SyncError) return error.reason;
  if (error instanceof RemoteError) return 'rejected'; // the peer answered: not found, ...
  if ((error as { code?: unknown })?.code === 'ENOBUFS') return 'cancelled'; // our send buffer is full
  switch (classifyError(error)) {
    case 'timeout':
      return 'timeout';
    case 'refused':
    case 'reset':
    case 'dns':
    case 'tls':
      return 'unreachable';
    default:
      return 'other';
  }
}
