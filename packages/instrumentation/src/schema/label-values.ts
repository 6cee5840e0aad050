/**
 * Closed value sets for every label of the schema. Where the world is open (error kinds,
 * discovery methods, reasons) the set ends in `other`, so an unknown value is folded rather than
 * minted as a new series.
 */

export const CONNECTION_STATES = ['disconnected', 'connecting', 'connected', 'disconnecting', 'failed'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** States a live connection can be in; `p2p_connections_active` reports exactly these. */
export const ACTIVE_CONNECTION_STATES = ['connecting', 'connected', 'disconnecting'] as const;
export type ActiveConnectionState = (typeof ACTIVE_CONNECTION_STATES)[number];

export const ATTEMPT_RESULTS = ['success', 'failed', 'timeout'] as const;
export type ConnectionAttemptResult = (typeof ATTEMPT_RESULTS)[number];

export const ERROR_TYPES = ['timeout', 'refused', 'reset', 'tls', 'dns', 'other'] as const;
export type P2pErrorType = (typeof ERROR_TYPES)[number];

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitBreakerState = (typeof BREAKER_STATES)[number];

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const DISCOVERY_METHODS = ['dns', 'mdns', 'static', 'relay', 'other'] as const;
export type DiscoveryMethod = (typeof DISCOVERY_METHODS)[number];

export const DISCOVERY_FAILURE_REASONS = ['timeout', 'not_found', 'unreachable', 'invalid_response', 'other'] as const;
export type DiscoveryFailureReason = (typeof DISCOVERY_FAILURE_REASONS)[number];

export const EVICTION_REASONS = ['idle', 'error', 'capacity', 'other'] as const;
export type EvictionReason = (typeof EVICTION_REASONS)[number];

export const SYNC_FAILURE_REASONS = ['timeout', 'unreachable', 'rejected', 'corrupt', 'cancelled', 'other'] as const;
export type SyncFailureReason = (typeof SYNC_FAILURE_REASONS)[number];

/** Why the monitor dropped or coerced a record (`p2p_monitor_rejected_records_total{reason}`). */
export const REJECT_REASONS = [
  'invalid_number', // NaN, infinite, above 2^53 - 1 (an amount) or not a number
  'negative', // a size, count or duration below zero
  'invalid_peer_id', // not a string, empty, or longer than the limit: folded into `other`
  'peer_id_is_address', // looks like an IP address: never a label, folded into `other`
  'unknown_value', // outside a closed set: coerced to `other` or dropped
  'over_capacity', // a bounded set (known peers, topology nodes) is full: dropped
  'internal_error', // a bug of ours, caught before it reached the caller
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** The value every open-ended label folds into once its set or budget is exhausted. */
export const OTHER = 'other';
