import type { LinkSet } from './manager-links.js';
import type { InstrumentationContext } from './context.js';

type Fields = Record<string, unknown>;

/**
 * Turns P2pEvents into record calls. Field values go to the record methods as they are: the
 * monitor's own validation folds or drops bad ones and counts each in
 * p2p_monitor_rejected_records_total (a missing durationMs is an invalid_number, a peerId that is
 * not a string an invalid_peer_id). Only input no record method can carry (an event that is not an
 * object, a type that is not a string) is rejected here, as unknown_value. Event types this module
 * does not know are the app's business and are ignored without counting.
 */
export class EventRecorder {
  /** Transfers started and not yet finished, by resource type; entries leave at zero. */
  private readonly active = new Map<string, number>();

  constructor(
    private readonly ctx: InstrumentationContext,
    private readonly links: LinkSet,
  ) {}

  /** An event carrying its own `type`. */
  record(event: unknown): void {
    if (typeof event !== 'object' || event === null) {
      this.ctx.reject('unknown_value');
      return;
    }
    this.recordAs((event as Fields).type, event);
  }

  /** An event whose type comes from elsewhere (the EventEmitter event name). */
  recordAs(type: unknown, event: unknown): void {
    if (typeof type !== 'string' || typeof event !== 'object' || event === null) {
      this.ctx.reject('unknown_value');
      return;
    }
    const e = event as Fields;
    const m = this.ctx.monitor;
    switch (type) {
      case 'peer_discovered':
        m.recordPeerDiscovered(e.peerId as string, e.method as never);
        if (e.durationMs !== undefined) m.recordDiscoveryDuration(e.method as never, e.durationMs as number);
        return;
      case 'peer_lost':
        m.recordPeerLost(e.peerId as string);
        return;
      case 'discovery_failed':
        m.recordDiscoveryFailure(e.method as never, e.reason as never);
        if (e.durationMs !== undefined) m.recordDiscoveryDuration(e.method as never, e.durationMs as number);
        return;
      case 'resource_sync_started':
        this.started(e.resourceType);
        return;
      case 'resource_transfer_progress':
        m.recordResourceTransferBytes(e.peerId as string, e.resourceType as string, e.bytes as number);
        return;
      case 'resource_sync_completed':
        this.finished(e.resourceType);
        m.recordResourceSync(e.resourceType as string, e.durationMs as number);
        if (e.bytes !== undefined) m.recordResourceTransferBytes(e.peerId as string, e.resourceType as string, e.bytes as number);
        return;
      case 'resource_sync_failed':
        this.finished(e.resourceType);
        m.recordResourceSyncFailure(e.peerId as string, e.resourceType as string, e.reason as never);
        return;
      case 'peer_link_up':
        this.links.up(m, e.from, e.to);
        return;
      case 'peer_link_down':
        this.links.down(m, e.from, e.to);
        return;
      case 'topology':
        this.links.replace(this.ctx, e.adjacency);
        return;
      default:
        return;
    }
  }

  /**
   * Ends the transfers still active: after restore() we would never see them complete, and an
   * active-transfers gauge stuck above zero would read as a hung sync forever.
   */
  finishAll(): void {
    for (const [type, n] of this.active) for (let i = 0; i < n; i++) this.ctx.monitor.recordResourceTransferFinished(type);
    this.active.clear();
  }

  /** A start without a string type is rejected, not counted under `other`: its end could never be matched. */
  private started(resourceType: unknown): void {
    if (typeof resourceType !== 'string') {
      this.ctx.reject('unknown_value');
      return;
    }
    this.ctx.monitor.recordResourceTransferStarted(resourceType);
    this.active.set(resourceType, (this.active.get(resourceType) ?? 0) + 1);
  }

  /**
   * Only ends a transfer whose start we counted: a completion for a sync that began before we
   * attached must not take the gauge below what other sources (another manager) put there.
   */
  private finished(resourceType: unknown): void {
    if (typeof resourceType !== 'string') return;
    const n = this.active.get(resourceType);
    if (n === undefined) return;
    if (n <= 1) this.active.delete(resourceType);
    else this.active.set(resourceType, n - 1);
    this.ctx.monitor.recordResourceTransferFinished(resourceType);
  }
}
