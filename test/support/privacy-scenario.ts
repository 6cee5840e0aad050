import { createHmac } from 'node:crypto';
import type { P2pMonitor, P2pMonitorConfig } from '@p2p-otel/instrumentation';

/** Ordinary peer ids (Iroh-like, 64 hex characters): their labels must be HMACs, never the ids. */
export const KNOWN_PEER_IDS = ['a1'.repeat(32), 'b2c3'.repeat(16), '4e5f6a7b8c'.padEnd(64, '9')] as const;

/**
 * Ids that are or carry addresses, as a careless integration might pass (plain, with port, a
 * multiaddr, embedded): never a label, in any mode.
 */
export const ADDRESS_PEER_IDS = [
  '10.1.2.3',
  '192.168.0.7:4001',
  '2001:db8::7',
  '[2001:db8::8]:9000',
  '::ffff:172.16.5.4',
  'fe80::1',
  '/ip4/203.0.113.9/udp/4433/quic-v1/p2p/12D3KooWExample',
  '/ip6/::1/tcp/4001',
  '/ip6/2001:db8::9/tcp/4001',
  'node@198.51.100.23',
] as const;

export const HASH_KEY = 'privacy-test-deployment-secret';
export const LOCAL_ID = 'c0ffee'.padEnd(64, '0');

export function hashedMonitorConfig(): P2pMonitorConfig {
  return { localPeerId: LOCAL_ID, messageTypes: ['ping'], peerId: { mode: 'hash', hashKey: HASH_KEY } };
}

/** The label `hash` mode gives `peerId` (HMAC-SHA256 under HASH_KEY, 16 hex characters). */
export function hashedLabel(peerId: string): string {
  return createHmac('sha256', HASH_KEY).update(peerId).digest('hex').slice(0, 16);
}

/** Records every per-peer kind of record, discovery and topology for each of `peerIds`. */
export function recordPeers(m: P2pMonitor, peerIds: readonly string[]): void {
  for (const p of peerIds) {
    m.recordConnectionAttempt(p, 'success');
    m.recordConnectionStateChange(p, 'connecting', 'connected');
    m.recordHandshake(p, 4);
    m.recordRtt(p, 12);
    m.recordPingLatency(p, 13);
    m.recordMessage(p, 'ping', 64, 2);
    m.recordMessage(p, 'ping', 128, 3, 'inbound');
    m.recordBytesTransferred(p, 'outbound', 512);
    m.recordError(p, 'timeout');
    m.recordCircuitBreakerState(p, 'open');
    m.recordCircuitBreakerFailure(p);
    m.recordConnectionReuse(p);
    m.recordBufferEnqueue(p, 10);
    m.recordBufferDequeue(p, 10, 1);
    m.recordBufferOverflow(p);
    m.recordQuicStreamOpened(p, 'outbound');
    m.recordQuicRetransmissions(p, 1);
    m.recordQuicPacketLoss(p, 0.02);
    m.recordConnectivityScore(p, 0.7);
    m.recordResourceTransferBytes(p, 'blob', 100);
    m.recordResourceSyncFailure(p, 'blob', 'timeout');
    m.recordConnectionDuration(p, 30);
    m.recordPeerDiscovered(p, 'mdns');
    m.recordPeerLink(LOCAL_ID, p);
    m.recordPeerDistance(p, 1);
  }
}
