import type { P2pMonitor, P2pMonitorConfig, RecordMethod } from '@p2p-otel/instrumentation';

/** Iroh-like node ids (64 hex characters); their 10-character short labels are all distinct. */
export const LOCAL_PEER_ID = '0a0a0a0a0a'.padEnd(64, '0');
export const PEER_A = '1b1b1b1b1b'.padEnd(64, '1');
export const PEER_B = '2c2c2c2c2c'.padEnd(64, '2');
export const PEER_C = '3d3d3d3d3d'.padEnd(64, '3');
export const MESSAGE_TYPES = ['ping', 'block'] as const;
export const RESOURCE_TYPES = ['blob'] as const;
export const PROTOCOL_VERSIONS = ['p2p-otel/test/1'] as const;

/** A clock the test moves: the bandwidth gauge needs a second between samples. */
export interface ManualClock {
  readonly now: () => number;
  readonly advance: (ms: number) => void;
}

export function manualClock(start = Date.now()): ManualClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The monitor configuration exerciseAllMetrics is written for (localPeerId for distances). */
export function exerciseMonitorConfig(clock?: ManualClock): P2pMonitorConfig {
  return {
    localPeerId: LOCAL_PEER_ID,
    messageTypes: MESSAGE_TYPES,
    resourceTypes: RESOURCE_TYPES,
    protocolVersions: PROTOCOL_VERSIONS,
    ...(clock === undefined ? {} : { clock: clock.now }),
  };
}

/** Time the clock is moved after recording: past the bandwidth gauge's minimum sample spacing. */
const BANDWIDTH_STEP_MS = 5_000;

/**
 * Valid calls of every record method. The mapped type makes a new method of P2pMonitor a compile
 * error here until it is exercised.
 */
const CALLS: { readonly [M in RecordMethod]: (m: P2pMonitor) => void } = {
  recordConnectionAttempt: (m) => {
    m.recordConnectionAttempt(PEER_A, 'success');
    m.recordConnectionAttempt(PEER_B, false);
  },
  recordConnectionStateChange: (m) => {
    m.recordConnectionStateChange(PEER_A, 'disconnected', 'connecting');
    m.recordConnectionStateChange(PEER_A, 'connecting', 'connected');
  },
  recordConnectionDuration: (m) => m.recordConnectionDuration(PEER_B, 42),
  recordHandshake: (m) => m.recordHandshake(PEER_A, 12.5),
  recordError: (m) => m.recordError(PEER_B, 'timeout'),
  recordCircuitBreakerState: (m) => m.recordCircuitBreakerState(PEER_B, 'open'),
  recordCircuitBreakerFailure: (m) => m.recordCircuitBreakerFailure(PEER_B),
  recordPoolState: (m) => m.recordPoolState(4, 1),
  recordPoolWait: (m) => m.recordPoolWait(3),
  recordPoolEviction: (m) => m.recordPoolEviction('idle'),
  recordConnectionReuse: (m) => m.recordConnectionReuse(PEER_A),
  recordRtt: (m) => m.recordRtt(PEER_A, 8),
  recordPingLatency: (m) => m.recordPingLatency(PEER_A, 9),
  recordMessage: (m) => {
    m.recordMessage(PEER_A, 'ping', 128, 4);
    m.recordMessage(PEER_A, 'block', 65_536, 30, 'inbound');
  },
  recordBytesTransferred: (m) => m.recordBytesTransferred(PEER_A, 'outbound', 1_000),
  recordPeerDiscovered: (m) => {
    for (const peer of [PEER_A, PEER_B, PEER_C]) m.recordPeerDiscovered(peer, 'mdns');
  },
  recordPeerLost: (m) => m.recordPeerLost(PEER_C),
  recordDiscoveryDuration: (m) => m.recordDiscoveryDuration('dns', 150),
  recordDiscoveryFailure: (m) => m.recordDiscoveryFailure('dns', 'timeout'),
  recordPeerLink: (m) => {
    // local - A - B: distances 1 and 2 (needs localPeerId), diameter 2.
    m.recordPeerLink(LOCAL_PEER_ID, PEER_A);
    m.recordPeerLink(PEER_A, PEER_B);
    m.recordPeerLink(PEER_B, PEER_C);
  },
  recordPeerUnlink: (m) => m.recordPeerUnlink(PEER_B, PEER_C),
  // Without localPeerId this alone still gives p2p_peer_distance_hops a sample.
  recordPeerDistance: (m) => m.recordPeerDistance(PEER_C, 2),
  clearPeerDistance: (m) => m.clearPeerDistance(PEER_B), // B keeps its graph distance (2)
  recordConnectivityScore: (m) => m.recordConnectivityScore(PEER_A, 0.9),
  recordBufferEnqueue: (m) => {
    m.recordBufferEnqueue(PEER_B, 512);
    m.recordBufferEnqueue(PEER_B, 256);
  },
  recordBufferDequeue: (m) => m.recordBufferDequeue(PEER_B, 512, 7),
  recordBufferOverflow: (m) => m.recordBufferOverflow(PEER_B),
  recordQuicStreamOpened: (m) => {
    m.recordQuicStreamOpened(PEER_A, 'outbound');
    m.recordQuicStreamOpened(PEER_A, 'inbound');
  },
  recordQuicStreamClosed: (m) => m.recordQuicStreamClosed(PEER_A, 'inbound'),
  recordQuicRetransmissions: (m) => m.recordQuicRetransmissions(PEER_A, 3),
  recordQuicPacketLoss: (m) => m.recordQuicPacketLoss(PEER_A, 0.01),
  recordProtocolVersion: (m) => m.recordProtocolVersion(PEER_A, PROTOCOL_VERSIONS[0], true),
  recordResourceTransferStarted: (m) => {
    m.recordResourceTransferStarted('blob');
    m.recordResourceTransferStarted('blob');
  },
  recordResourceTransferFinished: (m) => m.recordResourceTransferFinished('blob'),
  recordResourceTransferBytes: (m) => m.recordResourceTransferBytes(PEER_B, 'blob', 4_096),
  recordResourceSync: (m) => m.recordResourceSync('blob', 250),
  recordResourceSyncFailure: (m) => m.recordResourceSyncFailure(PEER_B, 'blob', 'corrupt'),
};

/**
 * Calls every record method of P2pMonitor with valid data, so that each of the 42 design metrics
 * has at least one series at the next collection. `advanceClock` (the monitor's clock, see
 * manualClock) lets the bandwidth gauge take its first sample at once; without it the gauge
 * appears once a second has passed since the monitor started.
 */
export function exerciseAllMetrics(monitor: P2pMonitor, options: { advanceClock?: (ms: number) => void } = {}): void {
  for (const call of Object.values(CALLS)) call(monitor);
  options.advanceClock?.(BANDWIDTH_STEP_MS);
}
