import { normal, type Random } from './random.js';

/** One direction of a link is drawn from the same spec as the other (links are symmetric). */
export interface LinkSpec {
  /** Base one-way latency, ms. */
  latencyMs: number;
  /** Spread added to the base: uniform in [0, jitterMs), |N(0, jitterMs)| or Exp(mean jitterMs). */
  jitterMs: number;
  distribution: 'uniform' | 'normal' | 'exponential';
  /** Probability that a packet (a message transmission, a handshake flight, a ping) is lost. */
  loss: number;
  /** Serialisation rate of the sender's wire, bytes per second. */
  bandwidthBytesPerSec: number;
}

export const DEFAULT_LINK: LinkSpec = { latencyMs: 20, jitterMs: 0, distribution: 'uniform', loss: 0, bandwidthBytesPerSec: 1_000_000 };

const key = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * The physical network: which nodes can reach which (partitions), and what a packet between two
 * of them costs (latency, jitter, loss). Any node can reach any other unless partitioned; the
 * overlay (who connects to whom) is the application's business.
 */
export class Network {
  private defaults: LinkSpec;
  private readonly overrides = new Map<string, Partial<LinkSpec>>();
  private group = new Map<string, number>();

  constructor(
    defaults: Partial<LinkSpec>,
    private readonly random: Random,
  ) {
    this.defaults = { ...DEFAULT_LINK, ...defaults };
  }

  link(a: string, b: string): LinkSpec {
    if (this.overrides.size === 0) return this.defaults;
    const o = this.overrides.get(key(a, b));
    return o === undefined ? this.defaults : { ...this.defaults, ...o };
  }

  /** Changes one link (a and b given) or every link. */
  setLink(spec: Partial<LinkSpec>, a?: string, b?: string): void {
    if (a !== undefined && b !== undefined) this.overrides.set(key(a, b), { ...this.overrides.get(key(a, b)), ...spec });
    else {
      this.defaults = { ...this.defaults, ...spec };
      for (const [k, o] of this.overrides) this.overrides.set(k, { ...o, ...spec });
    }
  }

  /** Nodes in different groups cannot reach each other; nodes in no group form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.group = new Map();
    groups.forEach((g, i) => g.forEach((id) => this.group.set(id, i)));
  }

  heal(): void {
    this.group = new Map();
  }

  get partitioned(): boolean {
    return this.group.size > 0;
  }

  reachable(a: string, b: string): boolean {
    if (this.group.size === 0) return true;
    return (this.group.get(a) ?? -1) === (this.group.get(b) ?? -1);
  }

  /** One packet's one-way delay, ms. */
  delay(a: string, b: string): number {
    const l = this.link(a, b);
    if (l.jitterMs <= 0) return l.latencyMs;
    const r = this.random;
    const spread = l.distribution === 'normal' ? Math.abs(normal(r)) * l.jitterMs : l.distribution === 'exponential' ? -Math.log(1 - r()) * l.jitterMs : r() * l.jitterMs;
    return l.latencyMs + spread;
  }

  /** Whether one packet from a to b is lost (always, across a partition). */
  lost(a: string, b: string): boolean {
    if (!this.reachable(a, b)) return true;
    const loss = this.link(a, b).loss;
    return loss > 0 && this.random() < loss;
  }

  /** Time to put `bytes` on a's wire towards b, ms. */
  wireMs(a: string, b: string, bytes: number): number {
    return (bytes * 1000) / this.link(a, b).bandwidthBytesPerSec;
  }
}
