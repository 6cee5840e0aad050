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
 * Failed sends are not handled here beyond being dropped: the instrumentation counts them.
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore } from './blob-store.js';
import type { P2pManager } from './manager.js';
import type { IrohTransport } from './transport.js';

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
    let snapshotAt = -Infinity;
    this.every(1_000, () => {
      if (!this.isLeader || performance.now() - snapshotAt < 20_000) return;
      blobs.create('snapshot', 1 << 20);
      snapshotAt = performance.now();
    });
  }

  /** `count` raft messages of `bytes` each to one peer, all at once. */
  async burst(peerId: string, count = 16, bytes = 512 * 1024): Promise<{ sent: number; failed: number }> {
    const results = await Promise.allSettled(
      Array.from({ length: count }, () => this.options.transport.sendToPeer(peerId, { type: 'raft', payload: payload(bytes) })),
    );
    const sent = results.filter((r) => r.status === 'fulfilled').length;
    return { sent, failed: count - sent };
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
