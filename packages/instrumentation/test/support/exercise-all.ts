import type { P2pMonitor } from '../../src/index.js';

/** Peer ids shaped like Iroh node ids (64 hex characters). */
export const PEERS = ['a1'.repeat(32), 'b2'.repeat(32), 'c3'.repeat(32)] as const;

/**
 * Calls every public record method with valid data, so that each of the 42 design metrics
 * carries at least one sample. The local node is PEERS[0] when the monitor's localPeerId is set.
 */
export function exerciseAllMetrics(m: P2pMonitor): void {
  const [a, b, c] = PEERS;
  m.recordConnectionAttempt(b, 'success');
  m.recordConnectionAttempt(c, false);
  m.recordConnectionAttempt(c, 'timeout');
  m.recordConnectionStateChange(b, 'disconnected', 'connecting');
  m.recordConnectionStateChange(b, 'connecting', 'connected');
  m.recordConnectionStateChange(c, 'connecting', 'failed');
  m.recordConnectionDuration(c, 42);
  m.recordHandshake(b, 3.2);
  m.recordError(c, 'refused');
  m.recordCircuitBreakerState(c, 'open');
  m.recordCircuitBreakerFailure(c);
  m.recordPoolState(4, 1);
  m.recordPoolWait(0.7);
  m.recordPoolEviction('idle');
  m.recordConnectionReuse(b);
  m.recordRtt(b, 1.8);
  m.recordPingLatency(b, 1.9);
  m.recordMessage(b, 'raft', 512, 2.5);
  m.recordMessage(b, 'gossip', 2048, undefined, 'inbound');
  m.recordBytesTransferred(b, 'outbound', 100);
  m.recordPeerDiscovered(b, 'static');
  m.recordPeerDiscovered(c, 'mdns');
  m.recordDiscoveryDuration('dns', 35);
  m.recordDiscoveryFailure('dns', 'timeout');
  m.recordPeerLink(a, b);
  m.recordPeerLink(b, c);
  m.recordPeerDistance(c, 2);
  m.recordConnectivityScore(b, 0.93);
  m.recordBufferEnqueue(b, 300);
  m.recordBufferEnqueue(b, 200);
  m.recordBufferDequeue(b, 300, 4.5);
  m.recordBufferOverflow(c);
  m.recordQuicStreamOpened(b, 'outbound');
  m.recordQuicStreamOpened(b, 'inbound');
  m.recordQuicRetransmissions(b, 3);
  m.recordQuicPacketLoss(b, 0.01);
  m.recordProtocolVersion(b, 'p2p/1', true);
  m.recordResourceTransferStarted('blob');
  m.recordResourceTransferBytes(b, 'blob', 65536);
  m.recordResourceSync('blob', 120);
  m.recordResourceSyncFailure(c, 'blob', 'timeout');
}
