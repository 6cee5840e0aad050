import { ConnectionQuality, type ConnectionQualityOptions } from './connection-quality.js';

interface Entry {
  readonly quality: ConnectionQuality;
  /** Consecutive rounds this peer was not among the checked peers. */
  missed: number;
}

/**
 * Per-peer quality state, bounded two ways: a peer missing from `forgetAfterRounds` consecutive
 * rounds is forgotten, and there are never more than `maxPeers` entries.
 */
export class PeerQualityTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: ConnectionQualityOptions,
    private readonly forgetAfterRounds: number,
    private readonly maxPeers: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(peerId: string): ConnectionQuality | undefined {
    return this.entries.get(peerId)?.quality;
  }

  /** The peer's quality, created when there is room; undefined when maxPeers are tracked. */
  getOrTrack(peerId: string): ConnectionQuality | undefined {
    const existing = this.entries.get(peerId);
    if (existing !== undefined) return existing.quality;
    if (this.entries.size >= this.maxPeers) return undefined;
    const quality = new ConnectionQuality(this.options);
    this.entries.set(peerId, { quality, missed: 0 });
    return quality;
  }

  /**
   * Starts a round over `current` (distinct, at most maxPeers): ages and forgets absent peers, then
   * tracks every current one, evicting absent peers oldest first if that is what makes room.
   */
  beginRound(current: readonly string[]): void {
    const present = new Set(current);
    for (const [peerId, entry] of this.entries) {
      if (present.has(peerId)) entry.missed = 0;
      else if (++entry.missed >= this.forgetAfterRounds) this.entries.delete(peerId);
    }
    let missing = 0;
    for (const peerId of current) if (!this.entries.has(peerId)) missing++;
    // Current peers are ≤ maxPeers and the rest were all just aged (missed > 0): evicting them
    // always makes enough room.
    let excess = this.entries.size + missing - this.maxPeers;
    for (const [peerId, entry] of this.entries) {
      if (excess <= 0) break;
      if (entry.missed > 0) {
        this.entries.delete(peerId);
        excess--;
      }
    }
    for (const peerId of current) this.getOrTrack(peerId);
  }
}
