import type {
  CircuitBreakerState,
  ConnectionAttemptResult,
  ConnectionState,
  Direction,
  DiscoveryFailureReason,
  DiscoveryMethod,
  EvictionReason,
  P2pErrorType,
  SyncFailureReason,
} from '../schema/label-values.js';

/**
 * What a P2P layer reports. Every method is fire-and-forget: it never throws, never blocks and
 * returns nothing. Invalid input is dropped or coerced and counted in
 * `p2p_monitor_rejected_records_total{reason}` (see docs/metrics.md, "Bad input").
 *
 * Durations are milliseconds unless the name says seconds; sizes are bytes.
 */
export interface P2pMonitor {
  // Connection lifecycle
  /** One outbound dial; `true`/`false` are accepted for success/failed. */
  recordConnectionAttempt(peerId: string, result: ConnectionAttemptResult | boolean): void;
  recordConnectionStateChange(peerId: string, from: ConnectionState, to: ConnectionState): void;
  recordConnectionDuration(peerId: string, durationSeconds: number): void;
  recordHandshake(peerId: string, durationMs: number): void;
  recordError(peerId: string, errorType: P2pErrorType): void;
  recordCircuitBreakerState(peerId: string, state: CircuitBreakerState): void;
  recordCircuitBreakerFailure(peerId: string): void;
  recordPoolState(pooled: number, idle: number): void;
  recordPoolWait(durationMs: number): void;
  recordPoolEviction(reason: EvictionReason): void;
  recordConnectionReuse(peerId: string): void;

  // Performance
  recordRtt(peerId: string, rttMs: number): void;
  recordPingLatency(peerId: string, latencyMs: number): void;
  /**
   * One application message: counts it, its bytes (do not report the same bytes again through
   * recordBytesTransferred), its size and, when given, its latency. Direction defaults to outbound.
   */
  recordMessage(peerId: string, messageType: string, sizeBytes: number, latencyMs?: number, direction?: Direction): void;
  /** Bytes not carried by a recorded message (raw streams, protocol overhead). */
  recordBytesTransferred(peerId: string, direction: Direction, bytes: number): void;

  // Discovery and topology
  recordPeerDiscovered(peerId: string, method: DiscoveryMethod): void;
  recordPeerLost(peerId: string): void;
  recordDiscoveryDuration(method: DiscoveryMethod, durationMs: number): void;
  recordDiscoveryFailure(method: DiscoveryMethod, reason: DiscoveryFailureReason): void;
  /** An overlay link between two nodes (either may be this node); undirected. */
  recordPeerLink(a: string, b: string): void;
  recordPeerUnlink(a: string, b: string): void;
  /** Overrides the graph-derived distance to `peerId` (for example 2 for a relayed path). */
  recordPeerDistance(peerId: string, hops: number): void;
  /** Drops a distance set by recordPeerDistance (the path closed): the graph's distance, if any, applies again. */
  clearPeerDistance(peerId: string): void;
  recordConnectivityScore(peerId: string, score: number): void;

  // Buffers
  recordBufferEnqueue(peerId: string, bytes: number): void;
  recordBufferDequeue(peerId: string, bytes: number, delayMs?: number): void;
  recordBufferOverflow(peerId: string): void;

  // QUIC and protocol
  recordQuicStreamOpened(peerId: string, direction: Direction): void;
  recordQuicStreamClosed(peerId: string, direction: Direction): void;
  recordQuicRetransmissions(peerId: string, packets: number): void;
  recordQuicPacketLoss(peerId: string, ratio: number): void;
  /** A connection using ALPN `version` opened (`active` true) or closed (false). */
  recordProtocolVersion(peerId: string, version: string, active: boolean): void;

  // Resource synchronisation
  recordResourceTransferStarted(resourceType: string): void;
  recordResourceTransferFinished(resourceType: string): void;
  recordResourceTransferBytes(peerId: string, resourceType: string, bytes: number): void;
  recordResourceSync(resourceType: string, durationMs: number): void;
  recordResourceSyncFailure(peerId: string, resourceType: string, reason: SyncFailureReason): void;
}

export type RecordMethod = keyof P2pMonitor;

/**
 * How each parameter is validated:
 * - drop kinds (numbers, closed sets without `other`, booleans): invalid input drops the record;
 * - fold kinds (peer ids, sets with `other`, application-configured sets): invalid input is folded
 *   into `other` and the record kept.
 * A record counts one reason for the first dropping parameter, else one per folded parameter.
 */
export type ParamKind =
  | 'peer'
  | 'peerRef' // validated like 'peer' but spends no label: the record has no peer_id label
  | 'amount' // finite, >= 0: bytes, counts, durations
  | 'optionalAmount'
  | 'ratio' // finite, >= 0; above 1 is clamped to 1 (counted as invalid_number)
  | 'attemptResult'
  | 'connectionState'
  | 'breakerState'
  | 'direction'
  | 'optionalDirection'
  | 'boolean'
  | 'errorType'
  | 'discoveryMethod'
  | 'discoveryFailureReason'
  | 'evictionReason'
  | 'syncFailureReason'
  | 'messageType'
  | 'resourceType'
  | 'protocolVersion';

/** Parameter kinds of every record method, in order: the contract all monitors validate by. */
export const RECORD_METHODS: { readonly [M in RecordMethod]: readonly ParamKind[] } = {
  recordConnectionAttempt: ['peer', 'attemptResult'],
  recordConnectionStateChange: ['peer', 'connectionState', 'connectionState'],
  recordConnectionDuration: ['peer', 'amount'],
  recordHandshake: ['peer', 'amount'],
  recordError: ['peer', 'errorType'],
  recordCircuitBreakerState: ['peer', 'breakerState'],
  recordCircuitBreakerFailure: ['peer'],
  recordPoolState: ['amount', 'amount'],
  recordPoolWait: ['amount'],
  recordPoolEviction: ['evictionReason'],
  recordConnectionReuse: ['peer'],
  recordRtt: ['peer', 'amount'],
  recordPingLatency: ['peer', 'amount'],
  recordMessage: ['peer', 'messageType', 'amount', 'optionalAmount', 'optionalDirection'],
  recordBytesTransferred: ['peer', 'direction', 'amount'],
  recordPeerDiscovered: ['peerRef', 'discoveryMethod'],
  recordPeerLost: ['peerRef'],
  recordDiscoveryDuration: ['discoveryMethod', 'amount'],
  recordDiscoveryFailure: ['discoveryMethod', 'discoveryFailureReason'],
  recordPeerLink: ['peerRef', 'peerRef'],
  recordPeerUnlink: ['peerRef', 'peerRef'],
  recordPeerDistance: ['peer', 'amount'],
  clearPeerDistance: ['peerRef'],
  recordConnectivityScore: ['peer', 'ratio'],
  recordBufferEnqueue: ['peer', 'amount'],
  recordBufferDequeue: ['peer', 'amount', 'optionalAmount'],
  recordBufferOverflow: ['peer'],
  recordQuicStreamOpened: ['peer', 'direction'],
  recordQuicStreamClosed: ['peer', 'direction'],
  recordQuicRetransmissions: ['peer', 'amount'],
  recordQuicPacketLoss: ['peer', 'ratio'],
  recordProtocolVersion: ['peer', 'protocolVersion', 'boolean'],
  recordResourceTransferStarted: ['resourceType'],
  recordResourceTransferFinished: ['resourceType'],
  recordResourceTransferBytes: ['peer', 'resourceType', 'amount'],
  recordResourceSync: ['resourceType', 'amount'],
  recordResourceSyncFailure: ['peer', 'resourceType', 'syncFailureReason'],
};
