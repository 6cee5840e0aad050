import { diag } from '@opentelemetry/api';
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { OTHER, type RejectReason } from '../schema/label-values.js';

/**
 * What a peer_id label holds:
 * - `full`: the id as given (Iroh node ids are public keys, not secrets);
 * - `short`: its first `shortLength` characters, as Iroh's `fmt_short` prints them;
 * - `hash`: HMAC-SHA256 of the id under a deployment secret, 16 hex characters: stable across
 *   restarts and nodes of one deployment, not reversible without the secret;
 * - `none`: no peer_id label at all; every metric is aggregated across peers.
 */
export type PeerIdMode = 'full' | 'short' | 'hash' | 'none';

export interface PeerLabelOptions {
  /** Default `short`. */
  mode?: PeerIdMode;
  /**
   * Distinct peer labels over the process lifetime (default 256). Later peers fold into
   * `peer_id="other"`, keeping the record's other labels. Labels are never recycled: with
   * cumulative temporality a recycled label would rewrite history, and a bound on labels is what
   * bounds memory under churn (the SDK's per-collection limit does not).
   */
  maxPeers?: number;
  /** Characters kept in `short` mode (default 10). */
  shortLength?: number;
  /** Secret for `hash` mode, at least 16 bytes. */
  hashKey?: string | Uint8Array;
  /** Longer ids are rejected as invalid (default 256). */
  maxPeerIdLength?: number;
}

export const DEFAULT_MAX_PEERS = 256;
export const DEFAULT_SHORT_LENGTH = 10;
export const DEFAULT_MAX_PEER_ID_LENGTH = 256;
/** Slot 0 is the `other` label; slots 1..maxPeers are peers in order of first sight. */
export const OTHER_PEER_SLOT = 0;
/** Raw ids remembered per label slot on average, bounding the id map under label collisions. */
const RAW_IDS_PER_LABEL = 4;

/** Validated peer-label settings; constructing it is where configuration errors surface. */
export interface ResolvedPeerLabelOptions {
  readonly mode: PeerIdMode;
  readonly maxPeers: number;
  readonly shortLength: number;
  readonly hashKey: Uint8Array | undefined;
  readonly maxPeerIdLength: number;
}

export function resolvePeerLabelOptions(options: PeerLabelOptions = {}): ResolvedPeerLabelOptions {
  const mode = options.mode ?? 'short';
  if (!['full', 'short', 'hash', 'none'].includes(mode)) {
    throw new TypeError(`p2p-otel: peerId.mode must be one of full, short, hash, none (got ${String(mode)})`);
  }
  const maxPeers = positiveInteger('peerId.maxPeers', options.maxPeers ?? DEFAULT_MAX_PEERS);
  const shortLength = positiveInteger('peerId.shortLength', options.shortLength ?? DEFAULT_SHORT_LENGTH);
  const maxPeerIdLength = positiveInteger('peerId.maxPeerIdLength', options.maxPeerIdLength ?? DEFAULT_MAX_PEER_ID_LENGTH);
  let hashKey: Uint8Array | undefined;
  if (mode === 'hash') {
    if (options.hashKey === undefined) {
      throw new TypeError('p2p-otel: peerId.mode "hash" needs peerId.hashKey (a deployment secret of at least 16 bytes)');
    }
    hashKey = typeof options.hashKey === 'string' ? Buffer.from(options.hashKey, 'utf8') : options.hashKey;
    if (hashKey.byteLength < 16) throw new TypeError('p2p-otel: peerId.hashKey must be at least 16 bytes');
  }
  return { mode, maxPeers, shortLength, hashKey, maxPeerIdLength };
}

function positiveInteger(setting: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`p2p-otel: ${setting} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

/**
 * Assigns each peer id a slot (its row in every per-peer array) and a label. The raw-id map holds
 * at most `maxPeers` entries; ids seen after that are folded without being remembered.
 */
export class PeerLabels {
  /** slot → label value. */
  readonly labels: string[] = [OTHER];
  private readonly slots = new Map<string, number>();
  /** The last id slotOf found in `slots` (slots never change once given) and its slot. */
  private lastId: string | undefined = undefined;
  private lastSlot = 0;
  private budgetSpentWarned = false;
  private readonly slotByLabel = new Map<string, number>();
  private readonly options: ResolvedPeerLabelOptions;
  private readonly onReject: (reason: RejectReason) => void;
  private readonly onNewSlot: (slot: number) => void;

  constructor(options: ResolvedPeerLabelOptions, onReject: (reason: RejectReason) => void, onNewSlot: (slot: number) => void) {
    this.options = options;
    this.onReject = onReject;
    this.onNewSlot = onNewSlot;
  }

  get mode(): PeerIdMode {
    return this.options.mode;
  }

  get maxPeers(): number {
    return this.options.maxPeers;
  }

  /** Slots in use, `other` included. */
  get size(): number {
    return this.labels.length;
  }

  /** The row for `peerId`: hot path, one map lookup for a known peer. */
  slotOf(peerId: unknown): number {
    if (typeof peerId === 'string') {
      // Records come in runs for one peer (a connection's frames, a send and its reply): the last
      // id found is checked first, by identity of the string most often, before the Map lookup.
      if (peerId === this.lastId) return this.lastSlot;
      const slot = this.slots.get(peerId);
      if (slot !== undefined) {
        this.lastId = peerId;
        this.lastSlot = slot;
        return slot;
      }
    }
    return this.assign(peerId);
  }

  /** The row `peerId` already has, or -1: never assigns one. */
  existingSlot(peerId: string): number {
    return this.slots.get(peerId) ?? -1;
  }

  /**
   * Validates `peerId` as slotOf does (counting what it rejects) without spending a label: for
   * records that mention a peer but carry no peer_id label (discovery, topology links).
   */
  check(peerId: unknown): peerId is string {
    return (typeof peerId === 'string' && this.slots.has(peerId)) || this.valid(peerId);
  }

  /** Rejects (and counts) what may never become a label. */
  private valid(peerId: unknown): peerId is string {
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > this.options.maxPeerIdLength) {
      this.onReject('invalid_peer_id');
      return false;
    }
    if (looksLikeAddress(peerId)) {
      this.onReject('peer_id_is_address');
      return false;
    }
    return true;
  }

  private assign(peerId: unknown): number {
    if (!this.valid(peerId)) return OTHER_PEER_SLOT;
    if (this.options.mode === 'none') return OTHER_PEER_SLOT;
    // A short label can be an address the whole id is not ("10.0.0.123-node" → "10.0.0.123").
    if (this.options.mode === 'short' && looksLikeAddress(peerId.slice(0, this.options.shortLength))) {
      this.onReject('peer_id_is_address');
      return OTHER_PEER_SLOT;
    }
    if (this.labels.length > this.options.maxPeers) {
      // Budget spent: fold, remember nothing. Said once, so an operator seeing peer_id="other" knows why.
      if (!this.budgetSpentWarned) {
        this.budgetSpentWarned = true;
        diag.warn(`p2p-otel: the peer label budget (peerId.maxPeers = ${this.options.maxPeers}) is spent; later peers are counted under peer_id="other"`);
      }
      return OTHER_PEER_SLOT;
    }
    let label = this.labelFor(peerId);
    if (label === OTHER) label = 'other_'; // a peer literally named "other" must not merge with the fold
    let slot = this.slotByLabel.get(label);
    if (slot === undefined) {
      slot = this.labels.length;
      this.labels.push(label);
      this.slotByLabel.set(label, slot);
      this.onNewSlot(slot);
    }
    // Ids sharing a label (short-id prefixes) are remembered up to a bound; past it their label is
    // recomputed per call, slower but without growing memory.
    if (this.slots.size < this.options.maxPeers * RAW_IDS_PER_LABEL) this.slots.set(peerId, slot);
    return slot;
  }

  private labelFor(peerId: string): string {
    switch (this.options.mode) {
      case 'short':
        return peerId.slice(0, this.options.shortLength);
      case 'hash':
        return createHmac('sha256', this.options.hashKey as Uint8Array)
          .update(peerId)
          .digest('hex')
          .slice(0, 16);
      default:
        return peerId;
    }
  }
}

const HOST_PORT = /^\[?([0-9A-Fa-f:.]+?)\]?(?::\d{1,5})?$/;

/** A multiaddr's IP component (`/ip4/203.0.113.9/tcp/4001/p2p/…`, `/ip6/::1/…`). */
const MULTIADDR_IP = /\/ip[46]\//i;
/** A dotted quad inside a longer id (`node@10.0.0.7`), not part of a longer run of digits and dots. */
const EMBEDDED_IPV4 = /(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9.])/g;

/**
 * An IP address, with or without brackets and port, or an id that carries one (a multiaddr, a
 * dotted quad inside it), is never a label: a label is exported to every backend the metrics reach.
 */
export function looksLikeAddress(id: string): boolean {
  if (isIP(id) !== 0) return true;
  const m = HOST_PORT.exec(id);
  if (m !== null && isIP(m[1] as string) !== 0) return true;
  if (MULTIADDR_IP.test(id)) return true;
  if (id.includes('.')) {
    for (const quad of id.matchAll(EMBEDDED_IPV4)) if (isIP(quad[0]) === 4) return true;
  }
  return false;
}
