/**
 * The metric schema: the design's 42 metrics plus the monitor's own rejected-records counter.
 * Instruments, views, the fast-path exporter, docs/metrics.md, dashboard lint and tests are all
 * derived from this table. Add a metric here and nowhere else.
 */
import {
  ACTIVE_CONNECTION_STATES,
  ATTEMPT_RESULTS,
  BREAKER_STATES,
  CONNECTION_STATES,
  DIRECTIONS,
  DISCOVERY_FAILURE_REASONS,
  DISCOVERY_METHODS,
  ERROR_TYPES,
  EVICTION_REASONS,
  REJECT_REASONS,
  SYNC_FAILURE_REASONS,
} from './label-values.js';
import type { LabelSpec, MetricDefinition } from './types.js';

const closed = (key: string, values: readonly string[]): LabelSpec => ({ key, domain: { kind: 'closed', values } });

const PEER: LabelSpec = { key: 'peer_id', domain: { kind: 'peer' } };
const DIRECTION = closed('direction', DIRECTIONS);
const MESSAGE_TYPE: LabelSpec = { key: 'message_type', domain: { kind: 'configured', option: 'messageTypes' } };
const RESOURCE_TYPE: LabelSpec = { key: 'resource_type', domain: { kind: 'configured', option: 'resourceTypes' } };
const DISCOVERY_METHOD = closed('discovery_method', DISCOVERY_METHODS);

/** Milliseconds, 0.1 ms to 10 s: loopback RTTs up to intercontinental timeouts. */
export const LATENCY_MS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
/** Milliseconds, 1 ms to 10 min: discovery and resource sync run far longer than a message. */
export const OPERATION_MS_BUCKETS = [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000] as const;
/** Bytes, 64 B to 16 MiB in powers of four. */
export const SIZE_BYTES_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216] as const;
/** Seconds, 1 s to 7 days: connections live from a failed handshake to a week-long session. */
export const CONNECTION_SECONDS_BUCKETS = [1, 10, 60, 300, 900, 3600, 10800, 21600, 43200, 86400, 259200, 604800] as const;

export const METRICS = {
  // 1. Connection lifecycle
  connectionStateTransitions: {
    name: 'p2p_connection_state_transitions_total',
    group: 'connection',
    instrument: 'counter',
    unit: '{transition}',
    description: 'Connection state transitions, by previous and next state.',
    labels: [closed('from_state', CONNECTION_STATES), closed('to_state', CONNECTION_STATES), PEER],
  },
  connectionAttempts: {
    name: 'p2p_connection_attempts_total',
    group: 'connection',
    instrument: 'counter',
    unit: '{attempt}',
    description: 'Outbound connection attempts, by result.',
    labels: [PEER, closed('result', ATTEMPT_RESULTS)],
  },
  connectionDuration: {
    name: 'p2p_connection_duration_seconds',
    group: 'connection',
    instrument: 'histogram',
    unit: 's',
    description: 'Lifetime of closed connections, from established to closed.',
    labels: [PEER],
    buckets: CONNECTION_SECONDS_BUCKETS,
  },
  connectionsActive: {
    name: 'p2p_connections_active',
    group: 'connection',
    instrument: 'updowncounter',
    unit: '{connection}',
    description: 'Connections currently in each live state; every state is always reported, zero included.',
    labels: [closed('state', ACTIVE_CONNECTION_STATES)],
    decision:
      'Reports the three live states the design lists. `disconnected` and `failed` are terminal: a connection ' +
      'that reaches them leaves this gauge and is counted in `p2p_connection_state_transitions_total`.',
  },
  connectionsPooled: {
    name: 'p2p_connections_pooled',
    designName: 'p2p_connections_total',
    group: 'connection',
    instrument: 'gauge',
    unit: '{connection}',
    description: 'Connections held by the connection pool, idle or in use.',
    labels: [],
    decision: 'Renamed: `_total` is reserved for counters (Prometheus naming rules; `promtool check metrics` flags it) ' + 'and this is a gauge.',
  },
  connectionsIdle: {
    name: 'p2p_connections_idle',
    group: 'connection',
    instrument: 'gauge',
    unit: '{connection}',
    description: 'Pooled connections that are idle and ready for reuse.',
    labels: [],
  },
  connectionErrors: {
    name: 'p2p_connection_errors_total',
    group: 'connection',
    instrument: 'counter',
    unit: '{error}',
    description: 'Connection errors, classified into a closed taxonomy.',
    labels: [PEER, closed('error_type', ERROR_TYPES)],
    decision: "Adds `other` to the design's taxonomy: errors it cannot classify are still counted.",
  },
  circuitBreakerState: {
    name: 'p2p_circuit_breaker_state',
    group: 'connection',
    instrument: 'gauge',
    unit: '{state}',
    description: "State-set gauge: 1 for the state each peer's circuit breaker is in, 0 for the other two.",
    labels: [PEER, closed('state', BREAKER_STATES)],
  },
  circuitBreakerFailures: {
    name: 'p2p_circuit_breaker_failures_total',
    group: 'connection',
    instrument: 'counter',
    unit: '{failure}',
    description: 'Failures counted by circuit breakers.',
    labels: [PEER],
  },

  // 2. Performance
  rtt: {
    name: 'p2p_rtt_milliseconds',
    group: 'performance',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Round-trip time samples.',
    labels: [PEER],
    buckets: LATENCY_MS_BUCKETS,
  },
  pingLatency: {
    name: 'p2p_ping_latency_milliseconds',
    group: 'performance',
    instrument: 'gauge',
    unit: 'ms',
    description: 'Latest ping round-trip time.',
    labels: [PEER],
  },
  messageLatency: {
    name: 'p2p_message_latency_milliseconds',
    group: 'performance',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Message latency, from send until it settled or was acknowledged.',
    labels: [PEER, MESSAGE_TYPE],
    buckets: LATENCY_MS_BUCKETS,
  },
  handshakeDuration: {
    name: 'p2p_handshake_duration_milliseconds',
    group: 'performance',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Connection handshake duration.',
    labels: [PEER],
    buckets: LATENCY_MS_BUCKETS,
  },
  bytesSent: {
    name: 'p2p_bytes_sent_total',
    group: 'performance',
    instrument: 'counter',
    unit: 'By',
    description: 'Bytes sent to peers.',
    labels: [PEER],
    decision: "Drops the design's `direction` label: the direction is the metric (`p2p_bytes_received_total` exists), " + 'and a `direction="inbound"` series of bytes *sent* has no meaning.',
  },
  bytesReceived: {
    name: 'p2p_bytes_received_total',
    group: 'performance',
    instrument: 'counter',
    unit: 'By',
    description: 'Bytes received from peers.',
    labels: [PEER],
  },
  messagesSent: {
    name: 'p2p_messages_sent_total',
    group: 'performance',
    instrument: 'counter',
    unit: '{message}',
    description: 'Messages sent, by message type.',
    labels: [PEER, MESSAGE_TYPE],
  },
  messagesReceived: {
    name: 'p2p_messages_received_total',
    group: 'performance',
    instrument: 'counter',
    unit: '{message}',
    description: 'Messages received, by message type.',
    labels: [PEER, MESSAGE_TYPE],
  },
  bandwidth: {
    name: 'p2p_bandwidth_bytes_per_second',
    group: 'performance',
    instrument: 'gauge',
    unit: '{By/s}',
    description: 'Exponentially weighted moving average (60 s time constant) of the byte rate, derived from the byte counters at collection.',
    labels: [PEER, DIRECTION],
    decision:
      'Unit `{By/s}` (an annotation) rather than `By/s`: prometheus/otlptranslator appends the per-unit ' +
      '`_per_second` whatever the name holds, so `By/s` would reach Prometheus through OTLP as ' +
      '`..._per_second_per_second`, another name than through the JS exporter.',
  },
  messageSize: {
    name: 'p2p_message_size_bytes',
    group: 'performance',
    instrument: 'histogram',
    unit: 'By',
    description: 'Message sizes, sent and received.',
    labels: [PEER, MESSAGE_TYPE],
    buckets: SIZE_BYTES_BUCKETS,
  },

  // 3. Discovery and topology
  discoveredPeers: {
    name: 'p2p_discovered_peers_total',
    group: 'discovery',
    instrument: 'counter',
    unit: '{peer}',
    description: 'Peers discovered, by discovery method.',
    labels: [DISCOVERY_METHOD],
    decision:
      'The design names this label `discovery_method` here and `method` on the two other discovery metrics; ' + 'all three use `discovery_method`, which says what it is and joins across the three.',
  },
  discoveryDuration: {
    name: 'p2p_discovery_duration_milliseconds',
    group: 'discovery',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Duration of discovery lookups.',
    labels: [DISCOVERY_METHOD],
    buckets: OPERATION_MS_BUCKETS,
    decision: "Label `discovery_method` instead of the design's `method` (see `p2p_discovered_peers_total`).",
  },
  discoveryFailures: {
    name: 'p2p_discovery_failures_total',
    group: 'discovery',
    instrument: 'counter',
    unit: '{failure}',
    description: 'Failed discovery lookups, by method and reason.',
    labels: [DISCOVERY_METHOD, closed('reason', DISCOVERY_FAILURE_REASONS)],
    decision: "Label `discovery_method` instead of the design's `method` (see `p2p_discovered_peers_total`).",
  },
  knownPeers: {
    name: 'p2p_known_peers',
    designName: 'p2p_known_peers_total',
    group: 'discovery',
    instrument: 'gauge',
    unit: '{peer}',
    description: 'Peers currently known to this node (discovered and not lost).',
    labels: [],
    decision: 'Renamed: a gauge must not end in `_total`.',
  },
  peerDistance: {
    name: 'p2p_peer_distance_hops',
    group: 'discovery',
    instrument: 'gauge',
    unit: '{hop}',
    description: 'Overlay hops from this node to the peer: 1 for a direct link, 2 through a relay or one intermediate peer.',
    labels: [PEER],
    decision: 'One hop is one overlay link between two nodes of the known peer graph (a relay server counts as a node), ' + 'not an IP router hop. Unreachable peers are not reported.',
  },
  clusterDiameter: {
    name: 'p2p_cluster_diameter_hops',
    group: 'discovery',
    instrument: 'gauge',
    unit: '{hop}',
    description: 'Longest shortest path, in hops, between any two nodes of the known peer graph.',
    labels: [],
  },
  connectivityScore: {
    name: 'p2p_peer_connectivity_score',
    group: 'discovery',
    instrument: 'gauge',
    unit: '{score}',
    description: 'Connection quality score in [0, 1], from success rate, RTT, loss and bandwidth.',
    labels: [PEER],
    decision: 'Unit `{score}`, not `1`: OTLP translation would append `_ratio` to a gauge of unit `1`.',
  },

  // 4. Resource utilisation
  poolUtilization: {
    name: 'p2p_connection_pool_utilization_ratio',
    group: 'resources',
    instrument: 'gauge',
    unit: '1',
    description: 'Share of pooled connections in use: (pooled - idle) / pooled, 0 for an empty pool.',
    labels: [],
  },
  poolEvictions: {
    name: 'p2p_connection_pool_evictions_total',
    group: 'resources',
    instrument: 'counter',
    unit: '{eviction}',
    description: 'Connections evicted from the pool, by reason.',
    labels: [closed('reason', EVICTION_REASONS)],
  },
  poolWaitTime: {
    name: 'p2p_connection_pool_wait_time_milliseconds',
    group: 'resources',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Time spent waiting for a pooled connection.',
    labels: [],
    buckets: LATENCY_MS_BUCKETS,
  },
  connectionReuses: {
    name: 'p2p_connection_reuses_total',
    designName: 'p2p_connection_reuse_count',
    group: 'resources',
    instrument: 'counter',
    unit: '{reuse}',
    description: 'Times a pooled connection to the peer was reused instead of dialling.',
    labels: [PEER],
    decision: 'Renamed: every export path appends `_total` to a counter, which would give `..._count_total`, and ' + '`_count` is the suffix Prometheus reserves for histogram and summary series.',
  },
  bufferedMessages: {
    name: 'p2p_buffered_messages',
    designName: 'p2p_buffered_messages_total',
    group: 'resources',
    instrument: 'updowncounter',
    unit: '{message}',
    description: 'Messages waiting in the send buffer for the peer.',
    labels: [PEER],
    decision: 'Renamed: a gauge must not end in `_total`.',
  },
  bufferedBytes: {
    name: 'p2p_buffered_messages_bytes',
    group: 'resources',
    instrument: 'updowncounter',
    unit: 'By',
    description: 'Bytes waiting in the send buffer for the peer.',
    labels: [PEER],
  },
  bufferOverflows: {
    name: 'p2p_message_buffer_overflows_total',
    group: 'resources',
    instrument: 'counter',
    unit: '{overflow}',
    description: "Messages refused or dropped because the peer's buffer was full.",
    labels: [PEER],
  },
  deliveryDelay: {
    name: 'p2p_message_delivery_delay_milliseconds',
    group: 'resources',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Time a message spent buffered before delivery.',
    labels: [PEER],
    buckets: LATENCY_MS_BUCKETS,
  },

  // 5. Protocol
  quicStreams: {
    name: 'p2p_quic_streams',
    designName: 'p2p_quic_stream_count',
    group: 'protocol',
    instrument: 'updowncounter',
    unit: '{stream}',
    description: 'Open QUIC streams: outbound were opened by this node, inbound accepted from the peer.',
    labels: [PEER, DIRECTION],
    decision: 'Renamed: `_count` is the suffix of histogram and summary series (`promtool check metrics` flags a gauge ' + 'ending in it), the same reason as `p2p_connection_reuses_total`.',
  },
  quicRetransmissions: {
    name: 'p2p_quic_retransmissions_total',
    group: 'protocol',
    instrument: 'counter',
    unit: '{packet}',
    description: 'QUIC packets declared lost and retransmitted.',
    labels: [PEER],
  },
  quicPacketLoss: {
    name: 'p2p_quic_packet_loss_ratio',
    group: 'protocol',
    instrument: 'gauge',
    unit: '1',
    description: 'Lost over sent QUIC datagrams since the previous measurement.',
    labels: [PEER],
  },
  protocolVersion: {
    name: 'p2p_iroh_protocol_version',
    group: 'protocol',
    instrument: 'gauge',
    unit: '{version}',
    description: 'Info gauge: 1 while a connection to the peer uses the ALPN protocol `version`, 0 after.',
    labels: [PEER, { key: 'version', domain: { kind: 'configured', option: 'protocolVersions' } }],
    decision:
      '`version` is the ALPN the connection negotiated (for example `my-app/raft/2`), from the set the ' +
      'application declares; any other ALPN is `other`. Gone connections report 0 rather than vanish.',
  },
  resourceSyncDuration: {
    name: 'p2p_resource_sync_duration_milliseconds',
    group: 'protocol',
    instrument: 'histogram',
    unit: 'ms',
    description: 'Duration of completed resource synchronisations.',
    labels: [RESOURCE_TYPE],
    buckets: OPERATION_MS_BUCKETS,
  },
  resourceTransfersActive: {
    name: 'p2p_resource_transfers_active',
    group: 'protocol',
    instrument: 'updowncounter',
    unit: '{transfer}',
    description: 'Resource transfers in progress.',
    labels: [RESOURCE_TYPE],
  },
  resourceTransferBytes: {
    name: 'p2p_resource_transfer_bytes_total',
    group: 'protocol',
    instrument: 'counter',
    unit: 'By',
    description: 'Bytes of resources transferred, by peer and type.',
    labels: [PEER, RESOURCE_TYPE],
  },
  resourceSyncFailures: {
    name: 'p2p_resource_sync_failures_total',
    group: 'protocol',
    instrument: 'counter',
    unit: '{failure}',
    description: 'Failed resource synchronisations, by reason.',
    labels: [PEER, RESOURCE_TYPE, closed('reason', SYNC_FAILURE_REASONS)],
  },

  // Self-monitoring (not one of the design's 42)
  rejectedRecords: {
    name: 'p2p_monitor_rejected_records_total',
    group: 'self',
    instrument: 'counter',
    unit: '{record}',
    description: 'Records the monitor dropped or coerced because their input was invalid, by reason.',
    labels: [closed('reason', REJECT_REASONS)],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof METRICS;

/** Every metric in table order. */
export const METRIC_IDS = Object.keys(METRICS) as MetricId[];

/** The design's 42 metrics (everything but self-monitoring). */
export const DESIGN_METRIC_IDS = METRIC_IDS.filter((id) => METRICS[id].group !== 'self');
