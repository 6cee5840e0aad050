/**
 * The demo's application traffic: what a small replicated service does with the P2P layer.
 *
 * - raft: the leader (first node of the peer list) sends append-entries to every follower ten
 *   times a second; followers report their progress to the leader twice a second;
 * - resources: every node publishes a new blob every few seconds, and the leader a new 1 MiB
 *   snapshot every 20 s (the manager's sync fetches them);
 * - a burst: the leader installs a snapshot on one follower as a run of large raft messages, which
 *   congests the QUIC connection (the demo's packet-loss fault).
 *
 * And a steady background, so that the instantaneous gauges (send buffers, transfers in progress,
 * QUIC loss over the last interval) read non-zero at any scrape once the cluster is warm, not only
 * inside a fault's window:
 *
 * - catch-up: the leader streams batches of entries (16 KiB each) to one lagging follower, keeping
 *   a few of them queued in that peer's send buffer (never enough to overflow it). Followers take
 *   APPLY_BATCH_MS to apply a batch, so the queue drains slowly and the backlog stays;
 * - an archive: the leader publishes a 4 MiB log archive every 15 s, which followers fetch at a
 *   throttled 192 KiB/s (manager.ts, bulk transfers): a fetch takes about 20 s, so one is always
 *   in progress somewhere;
 * - small bursts: twice a second the leader ships two 512 KiB entries to each other follower, each
 *   briefly congesting the connection, so QUIC usually declares a few packets lost per interval.
 *
 * Failed sends are not handled here beyond being dropped: the instrumentation counts them.
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore } from './blob-store.js';
import type { P2pManager } from './manager.js';
import type { IrohTransport } from './transport.js';

/** Raft messages of this size or more are batches of entries; applying one takes APPLY_BATCH_MS. */
export const BATCH_BYTES = 16 * 1024;
const APPLY_BATCH_MS = 80;
/** Catch-up batches kept in the lagging follower's send buffer (its capacity is 16). */
const CATCH_UP_WINDOW = 3;
/** The archive: a resource large enough to be a bulk transfer (node.ts sets the threshold and rate). */
export const ARCHIVE_BYTES = 4 << 20;
export const ARCHIVE_BYTES_PER_SECOND = 192 * 1024;

export interface WorkloadOptions {
  transport: IrohTransport;
  manager: P2pManager;
  blobs: BlobStore;
}

const NOISE = randomBytes(1 << 20);
const payload = (bytes: number): Uint8Array => new Uint8Array(NOISE.subarray(0, Math.min(bytes, NOISE.length)));
const between = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
const ignore = (): void => undefined;

export class Workload {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: WorkloadOptions) {}

  private get leader(): string | undefined {
    return this.options.manager.members()[0];
  }

  private get isLeader(): boolean {
    return this.leader === this.options.manager.localId;
  }

  start(): void {
    const { blobs } = this.options;
    this.every(100, () => {
      if (this.isLeader) for (const peer of this.options.manager.knownPeers()) this.send(peer, 'raft', between(64, 2_048));
    });
    this.every(500, () => {
      const leader = this.leader;
      if (!this.isLeader && leader !== undefined && this.options.manager.knownPeers().includes(leader)) this.send(leader, 'raft', 32);
    });
    blobs.create('blob', between(64, 384) * 1024);
    this.every(4_000, () => blobs.create('blob', between(64, 384) * 1024));
    // The steady background (see the top of the file).
    this.options.transport.onMessage(async (_from, message) => {
      if (message.type === 'raft' && message.payload.byteLength >= BATCH_BYTES) await new Promise((r) => setTimeout(r, APPLY_BATCH_MS));
    });
    this.every(50, () => {
      const lagging = this.isLeader ? this.followers().at(-1) : undefined;
      if (lagging === undefined) return;
      for (let n = this.options.transport.queue.length(lagging); n < CATCH_UP_WINDOW; n++) this.send(lagging, 'raft', BATCH_BYTES);
    });
    let archiveAt = -Infinity;
    this.every(1_000, () => {
      if (!this.isLeader || performance.now() - archiveAt < 15_000) return;
      blobs.create('blob', ARCHIVE_BYTES);
      archiveAt = performance.now();
    });
    this.every(500, () => {
      // Not to the lagging follower, whose send buffer is kept just short of full already.
      if (this.isLeader) for (const peer of this.followers().slice(0, -1)) void this.burst(peer, 2, 512 * 1024);
    });
    let snapshotAt = -Infinity;
    this.every(1_000, () => {
      if (!this.isLeader || performance.now() - snapshotAt < 20_000) return;
      blobs.create('snapshot', 1 << 20);
      snapshotAt = performance.now();
    });
  }

  /** `count` raft messages of `bytes` each to one peer, all at once. */
  async burst(peerId: string, count = 16, bytes = 512 * 1024): Promise<{ sent: number; failed: number }> {
    const results = await Promise.allSettled(Array.from({ length: count }, () => this.options.transport.sendToPeer(peerId, { type: 'raft', payload: payload(bytes) })));
    const sent = results.filter((r) => r.status === 'fulfilled').length;
    return { sent, failed: count - sent };
  }

  /** The followers reachable now, in peer-list order. */
  private followers(): string[] {
    const known = new Set(this.options.manager.knownPeers());
    return this.options.manager.members().filter((peer) => peer !== this.leader && known.has(peer));
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private send(peerId: string, type: 'raft', bytes: number): void {
    this.options.transport.sendToPeer(peerId, { type, payload: payload(bytes) }).catch(ignore);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
