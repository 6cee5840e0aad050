import { diag } from '@opentelemetry/api';
import type { InstrumentationContext } from './context.js';

/** Counters of one transport's acknowledgement tracking (see acknowledgeMessage). */
export interface AckStats {
  /** Sends waiting for their acknowledgement now. */
  pending: number;
  /** Acknowledgements that matched a pending send (recorded with latency). */
  acknowledged: number;
  /** Pending sends pushed out by `maxPendingAcks`, oldest first (recorded without latency). */
  evicted: number;
  /** Pending sends older than `ackTimeoutMs` (recorded without latency). */
  expired: number;
  /** Acknowledgements naming no pending send (late, duplicate, or never tracked). */
  unmatched: number;
}

/** What a send recorded at acknowledgement needs; one object per send (ack mode only). */
export interface PendingSend {
  readonly id: unknown;
  readonly peer: unknown;
  readonly type: unknown;
  readonly size: number;
  readonly t0: number;
  /** False for a send with no id, or a resend of a pending id: recorded when it settles instead. */
  tracked: boolean;
}

/**
 * Sends waiting for an acknowledgement, by message id, in a Map used as an insertion-ordered
 * queue: the oldest is the first key, so eviction and expiry are O(1) each. Every send is recorded
 * exactly once: with latency when acknowledged, without when evicted, expired or flushed.
 */
export class PendingAcks {
  private readonly pending = new Map<unknown, PendingSend>();
  private readonly counts = { acknowledged: 0, evicted: 0, expired: 0, unmatched: 0 };
  private warnedEviction = false;

  constructor(
    private readonly ctx: InstrumentationContext,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Tracks a send from its call on, not from its settlement: an acknowledgement can arrive before
   * the send's promise settles (a transport that resolves after the peer's receipt).
   */
  add(entry: PendingSend): void {
    // A resend under a pending id: the ack will settle the first send (what the sender waited
    // for); this one is recorded without latency when it settles, like a send with no id.
    entry.tracked = entry.id !== undefined && !this.pending.has(entry.id);
    if (!entry.tracked) return;
    this.expireOldest(this.ctx.now());
    if (this.pending.size >= this.maxPending) this.evictOldest();
    this.pending.set(entry.id, entry);
  }

  /** The send failed: it is not a message sent, so it leaves without being recorded. */
  cancel(entry: PendingSend): void {
    if (this.pending.get(entry.id) === entry) this.pending.delete(entry.id);
  }

  acknowledge(id: unknown): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) {
      this.counts.unmatched++;
      return false;
    }
    this.pending.delete(id);
    this.counts.acknowledged++;
    this.record(entry, Math.max(0, this.ctx.now() - entry.t0));
    return true;
  }

  /** Records and drops pending sends older than the timeout (run at collection and on add). */
  expireOldest(now: number): void {
    for (const [id, entry] of this.pending) {
      if (now - entry.t0 < this.timeoutMs) return;
      this.pending.delete(id);
      this.counts.expired++;
      this.record(entry, undefined);
    }
  }

  /** Records every pending send without latency: restore() will never see their acks. */
  flush(): void {
    for (const entry of this.pending.values()) this.record(entry, undefined);
    this.pending.clear();
  }

  stats(): AckStats {
    return { pending: this.pending.size, ...this.counts };
  }

  private evictOldest(): void {
    const first = this.pending.entries().next();
    if (first.done === true) return;
    const [id, entry] = first.value;
    this.pending.delete(id);
    this.counts.evicted++;
    this.record(entry, undefined);
    this.ctx.reject('over_capacity');
    if (!this.warnedEviction) {
      this.warnedEviction = true;
      diag.warn(`p2p-otel: more than ${this.maxPending} sends await acknowledgement; the oldest are recorded without latency (raise maxPendingAcks or acknowledge sooner)`);
    }
  }

  private record(entry: PendingSend, latencyMs: number | undefined): void {
    this.ctx.monitor.recordMessage(entry.peer as string, entry.type as string, entry.size, latencyMs);
  }
}

/** One tracker per instrumented transport; the app reaches it through the transport object. */
const TRACKERS = new WeakMap<object, PendingAcks>();

export function attachAcks(transport: object, acks: PendingAcks): void {
  TRACKERS.set(transport, acks);
}

export function detachAcks(transport: object, acks: PendingAcks): void {
  if (TRACKERS.get(transport) === acks) TRACKERS.delete(transport);
}

/**
 * Reports that the peer acknowledged `messageId`, sent through `transport` instrumented with
 * `latency: 'ack'`: records that send with its latency (call to acknowledgement). Returns false
 * when no pending send has that id (never throws, whatever is passed).
 */
export function acknowledgeMessage(transport: object, messageId: unknown): boolean {
  try {
    const acks = typeof transport === 'object' && transport !== null ? TRACKERS.get(transport) : undefined;
    return acks?.acknowledge(messageId) === true;
  } catch {
    return false;
  }
}

/** Acknowledgement counters of an ack-mode transport; undefined when it is not one (now). */
export function transportAckStats(transport: object): AckStats | undefined {
  return typeof transport === 'object' && transport !== null ? TRACKERS.get(transport)?.stats() : undefined;
}
