/**
 * The P2P manager's event stream, as the instrumentation understands it (the design's
 * "Subscribe to P2pEvent stream"). A manager whose events have other shapes maps them with
 * `ManagerOptions.mapEvent`. Durations are milliseconds, sizes bytes.
 *
 * Discovery methods and failure reasons are the schema's closed sets (anything else is counted
 * as `other`); resource types are the application's own (`resourceTypes` in the monitor config).
 */
import type { DiscoveryFailureReason, DiscoveryMethod, SyncFailureReason } from '../schema/label-values.js';

/**
 * A peer became known, by `method`. `durationMs`, when timed, is how long discovering this peer
 * took (from the start of the lookup that found it): a lookup finding three peers gives three.
 */
export interface PeerDiscoveredEvent {
  type: 'peer_discovered';
  peerId: string;
  method: DiscoveryMethod;
  durationMs?: number;
}

/** A known peer is gone (expired, left, unreachable for good). */
export interface PeerLostEvent {
  type: 'peer_lost';
  peerId: string;
}

/** A discovery lookup failed; its duration counts in the discovery duration histogram too. */
export interface DiscoveryFailedEvent {
  type: 'discovery_failed';
  method: DiscoveryMethod;
  reason: DiscoveryFailureReason;
  durationMs?: number;
}

/** A resource synchronisation began: one more active transfer of `resourceType`. */
export interface ResourceSyncStartedEvent {
  type: 'resource_sync_started';
  resourceType: string;
  peerId?: string;
}

/**
 * Bytes moved since the previous progress event of the same transfer (a delta, not a running
 * total). Report a transfer's bytes here or in `resource_sync_completed.bytes`, not both.
 */
export interface ResourceTransferProgressEvent {
  type: 'resource_transfer_progress';
  peerId: string;
  resourceType: string;
  bytes: number;
}

/**
 * A synchronisation finished. `bytes`, when given, are bytes not already reported by progress
 * events (typically the whole transfer, for managers that emit no progress); they are counted
 * per peer, so give `peerId` with them.
 */
export interface ResourceSyncCompletedEvent {
  type: 'resource_sync_completed';
  resourceType: string;
  peerId?: string;
  durationMs: number;
  bytes?: number;
}

/**
 * A synchronisation failed. `durationMs` is accepted but not recorded: the sync duration
 * histogram is defined over completed synchronisations.
 */
export interface ResourceSyncFailedEvent {
  type: 'resource_sync_failed';
  resourceType: string;
  peerId: string;
  reason: SyncFailureReason;
  durationMs?: number;
}

/** An overlay link between two nodes (either may be this node) came up; undirected. */
export interface PeerLinkUpEvent {
  type: 'peer_link_up';
  from: string;
  to: string;
}

export interface PeerLinkDownEvent {
  type: 'peer_link_down';
  from: string;
  to: string;
}

/**
 * The whole overlay graph as the manager sees it: node → neighbours (undirected; listing a link
 * on one side is enough). Diffed against the links known so far: new ones are linked, missing
 * ones unlinked.
 */
export interface TopologyEvent {
  type: 'topology';
  adjacency: Readonly<Record<string, readonly string[]>>;
}

export type P2pEvent =
  | PeerDiscoveredEvent
  | PeerLostEvent
  | DiscoveryFailedEvent
  | ResourceSyncStartedEvent
  | ResourceTransferProgressEvent
  | ResourceSyncCompletedEvent
  | ResourceSyncFailedEvent
  | PeerLinkUpEvent
  | PeerLinkDownEvent
  | TopologyEvent;

export type P2pEventType = P2pEvent['type'];

/** Every event type, in declaration order (also the per-type event names of an EventEmitter). */
export const P2P_EVENT_TYPES: readonly P2pEventType[] = [
  'peer_discovered',
  'peer_lost',
  'discovery_failed',
  'resource_sync_started',
  'resource_transfer_progress',
  'resource_sync_completed',
  'resource_sync_failed',
  'peer_link_up',
  'peer_link_down',
  'topology',
];
