import { RecordingP2pMonitor } from '@p2p-otel/instrumentation';
import { ConnectionTracker, type IrohPathChange } from '../src/connections.js';
import type { ConnectionStatsLike, IrohConnectionLike, PathSnapshotLike } from '../src/iroh-types.js';

/**
 * Relayed paths and packet loss cannot be produced offline on loopback (no relay server; Iroh
 * moves to the direct address it learns, so a lossy proxy does not stay in the path). The
 * tracker's arithmetic is exercised here on a scripted connection with Iroh's shapes.
 */

class ScriptedConnection implements IrohConnectionLike {
  reason: string | null = null;
  counters: ConnectionStatsLike = { udpTxDatagrams: 0, udpTxBytes: 0, udpRxDatagrams: 0, udpRxBytes: 0, lostPackets: 0, lostBytes: 0 };
  selected: Partial<PathSnapshotLike> | undefined = { id: '0', isIp: true, isRelay: false, rttMs: 12 };
  alpn(): number[] {
    return Array.from(Buffer.from('app/1'));
  }
  remoteId(): { toString(): string } {
    return 'peer-under-test';
  }
  closeReason(): string | null {
    return this.reason;
  }
  stats(): ConnectionStatsLike {
    return { ...this.counters };
  }
  paths(): PathSnapshotLike[] {
    return this.selected === undefined ? [] : [{ remoteAddr: 'x', isSelected: true, id: '0', isIp: false, isRelay: false, rttMs: 0, ...this.selected }];
  }
}

function setup(): { monitor: RecordingP2pMonitor; tracker: ConnectionTracker; changes: IrohPathChange[]; conn: ScriptedConnection } {
  const monitor = new RecordingP2pMonitor();
  const changes: IrohPathChange[] = [];
  let now = 0;
  const tracker = new ConnectionTracker(
    {
      monitor: () => monitor,
      now: () => (now += 1000),
      onHookError: (e) => {
        throw e;
      },
      debug: () => undefined,
      bytes: true,
      connections: true,
      rtt: true,
      onPathChange: (c) => changes.push(c),
      sweep: () => undefined,
    },
    0,
  );
  const conn = new ScriptedConnection();
  tracker.opened(conn, 'outbound', 'peer-under-test');
  return { monitor, tracker, changes, conn };
}

it('a switch between direct and relayed paths changes the distance and calls onPathChange', () => {
  const { monitor, tracker, changes, conn } = setup();
  tracker.collect();
  conn.selected = { id: '1', isIp: false, isRelay: true, rttMs: 80 };
  tracker.collect();
  conn.selected = { id: '2', isIp: true, isRelay: false, rttMs: 11 };
  tracker.collect();
  expect(monitor.accepted('recordPeerDistance')).toEqual([
    ['peer-under-test', 1],
    ['peer-under-test', 2],
    ['peer-under-test', 1],
  ]);
  expect(monitor.accepted('recordRtt').map((a) => a[1])).toEqual([12, 80, 11]);
  expect(changes).toEqual([
    { peerId: 'peer-under-test', from: 'direct', to: 'relay' },
    { peerId: 'peer-under-test', from: 'relay', to: 'direct' },
  ]);
  conn.selected = undefined; // no selected path: no RTT, no distance, a change to none
  tracker.collect();
  expect(monitor.accepted('recordRtt')).toHaveLength(3);
  expect(changes.at(-1)).toEqual({ peerId: 'peer-under-test', from: 'direct', to: 'none' });
});

it('loss ratio and retransmissions are deltas between collections; bytes are UDP deltas', () => {
  const { monitor, tracker, conn } = setup();
  conn.counters = { udpTxDatagrams: 100, udpTxBytes: 120_000, udpRxDatagrams: 90, udpRxBytes: 50_000, lostPackets: 5, lostBytes: 6000 };
  tracker.collect();
  conn.counters = { udpTxDatagrams: 300, udpTxBytes: 360_000, udpRxDatagrams: 190, udpRxBytes: 80_000, lostPackets: 7, lostBytes: 8000 };
  tracker.collect();
  tracker.collect(); // nothing happened since
  expect(monitor.accepted('recordQuicRetransmissions')).toEqual([
    ['peer-under-test', 5],
    ['peer-under-test', 2],
  ]);
  expect(monitor.accepted('recordQuicPacketLoss').map((a) => a[1])).toEqual([0.05, 0.01, 0]);
  expect(monitor.accepted('recordBytesTransferred')).toEqual([
    ['peer-under-test', 'outbound', 120_000],
    ['peer-under-test', 'inbound', 50_000],
    ['peer-under-test', 'outbound', 240_000],
    ['peer-under-test', 'inbound', 30_000],
  ]);
  // The last bytes are taken at close; an abnormal close is a classified error.
  conn.counters = { ...conn.counters, udpTxBytes: 360_100 };
  conn.reason = 'timed out';
  tracker.poll();
  expect(monitor.accepted('recordBytesTransferred').at(-1)).toEqual(['peer-under-test', 'outbound', 100]);
  expect(monitor.accepted('recordError')).toEqual([['peer-under-test', 'timeout']]);
  expect(monitor.accepted('recordProtocolVersion')).toEqual([
    ['peer-under-test', 'app/1', true],
    ['peer-under-test', 'app/1', false],
  ]);
  expect(tracker.size).toBe(0);
});

it('loss ratio is per peer over all its connections: an idle second connection does not hide a lossy one', () => {
  const { monitor, tracker, conn } = setup();
  const idle = new ScriptedConnection();
  tracker.opened(idle, 'inbound', 'peer-under-test');
  conn.counters = { udpTxDatagrams: 200, udpTxBytes: 240_000, udpRxDatagrams: 90, udpRxBytes: 50_000, lostPackets: 10, lostBytes: 12_000 };
  idle.counters = { udpTxDatagrams: 50, udpTxBytes: 6_000, udpRxDatagrams: 50, udpRxBytes: 6_000, lostPackets: 0, lostBytes: 0 };
  tracker.collect();
  // One ratio per peer and collection: 10 lost of 250 sent over both connections.
  expect(monitor.accepted('recordQuicPacketLoss')).toEqual([['peer-under-test', 10 / 250]]);
  expect(monitor.accepted('recordQuicRetransmissions')).toEqual([['peer-under-test', 10]]);
});

it("a peer's path distance is cleared when its last connection closes, not before", () => {
  const { monitor, tracker, conn } = setup();
  const second = new ScriptedConnection();
  tracker.opened(second, 'inbound', 'peer-under-test');
  tracker.collect();
  expect(monitor.accepted('recordPeerDistance')).toContainEqual(['peer-under-test', 1]);
  tracker.closed(conn, 'closed');
  expect(monitor.accepted('clearPeerDistance')).toEqual([]); // the second connection still holds the path
  tracker.closed(second, 'closed by peer: 0');
  expect(monitor.accepted('clearPeerDistance')).toEqual([['peer-under-test']]);
});
