import { EventEmitter } from 'node:events';
import type { DiscoveryFailureReason, DiscoveryMethod, P2pEvent, SyncFailureReason } from '@p2p-otel/instrumentation';

export class LookupError extends Error {
  constructor(
    message: string,
    readonly reason: DiscoveryFailureReason,
  ) {
    super(message);
  }
}

export class SyncError extends Error {
  constructor(
    message: string,
    readonly reason: SyncFailureReason,
  ) {
    super(message);
  }
}

/**
 * A node's P2P manager, as an application would write one (like the instrumentation's reference
 * manager): discovery lookups, overlay links, topology snapshots and resource synchronisation,
 * each published as a P2pEvent on `emit('event', e)`. The clock is the virtual one.
 */
export class SimManager extends EventEmitter {
  constructor(
    readonly localId: string,
    private readonly clock: () => number,
    private readonly log: (event: P2pEvent) => void,
  ) {
    super();
  }

  private publish(event: P2pEvent): void {
    this.log(event);
    this.emit('event', event);
  }

  /** Runs one lookup through `method`; every peer found is announced with the lookup's duration. */
  async discover(method: DiscoveryMethod, lookup: () => Promise<string[]>): Promise<string[]> {
    const t0 = this.clock();
    try {
      const found = await lookup();
      const durationMs = this.clock() - t0;
      for (const peerId of found) this.publish({ type: 'peer_discovered', peerId, method, durationMs });
      return found;
    } catch (e) {
      const reason = e instanceof LookupError ? e.reason : 'other';
      this.publish({ type: 'discovery_failed', method, reason, durationMs: this.clock() - t0 });
      throw e;
    }
  }

  /** A peer found outside a lookup (an announcement, a relay introducing it). */
  discovered(peerId: string, method: DiscoveryMethod): void {
    this.publish({ type: 'peer_discovered', peerId, method });
  }

  lost(peerId: string): void {
    this.publish({ type: 'peer_lost', peerId });
  }

  linkUp(from: string, to: string): void {
    this.publish({ type: 'peer_link_up', from, to });
  }

  linkDown(from: string, to: string): void {
    this.publish({ type: 'peer_link_down', from, to });
  }

  topology(adjacency: Record<string, string[]>): void {
    this.publish({ type: 'topology', adjacency });
  }

  /** Pulls a resource from `peerId` chunk by chunk, reporting progress per chunk. */
  async syncResource(resourceType: string, peerId: string, chunks: AsyncIterable<number>): Promise<number> {
    const t0 = this.clock();
    this.publish({ type: 'resource_sync_started', resourceType, peerId });
    let total = 0;
    try {
      for await (const bytes of chunks) {
        total += bytes;
        this.publish({ type: 'resource_transfer_progress', resourceType, peerId, bytes });
      }
    } catch (e) {
      const reason = e instanceof SyncError ? e.reason : 'other';
      this.publish({ type: 'resource_sync_failed', resourceType, peerId, reason, durationMs: this.clock() - t0 });
      throw e;
    }
    this.publish({ type: 'resource_sync_completed', resourceType, peerId, durationMs: this.clock() - t0 });
    return total;
  }
}
