/**
 * Faults the demo injects into a running node, on the orchestrator's command. Each one is a
 * switch on an ordinary part of the P2P layer; nothing here touches the instrumentation, which
 * sees the consequences on the other nodes like any real failure:
 *
 * - `refuse`: incoming connections are refused and open ones dropped. Peers' sends fail, their
 *   dials are refused, their circuit breakers for this node open, half-open, and close again once
 *   it accepts connections.
 * - `slow`: every incoming message waits before it is read (a slow consumer). Peers' send
 *   buffers for this node fill up and overflow; their requests time out.
 * - `corrupt`: resources served by this node are damaged. Peers' syncs from it fail as corrupt.
 * - `burst`: this node sends a run of large messages to one peer, congesting the connection.
 * - `isolate`: this node is cut off from the network (a partition): it refuses incoming
 *   connections, drops every open one, and its own dials fail. It holds no connection, and its
 *   peers' breakers for it stay open or half-open until it is back. Not in the default plan
 *   (`pnpm demo --partition` adds it).
 */
import type { BlobStore } from './blob-store.js';
import type { IrohPeerConnector } from './connector.js';
import type { IrohTransport } from './transport.js';
import type { Workload } from './workload.js';

export type Fault =
  | { kind: 'refuse'; durationMs: number }
  | { kind: 'slow'; durationMs: number; delayMs?: number }
  | { kind: 'corrupt'; durationMs: number }
  | { kind: 'burst'; peerId: string; count?: number; bytes?: number }
  | { kind: 'isolate'; durationMs: number };

export interface FaultTargets {
  connector: IrohPeerConnector;
  transport: IrohTransport;
  blobs: BlobStore;
  workload: Workload;
}

export function applyFault(targets: FaultTargets, fault: Fault, log: (line: string) => void): void {
  const after = (ms: number, undo: () => void): void => void setTimeout(undo, ms).unref();
  switch (fault.kind) {
    case 'refuse':
      log(`fault: refusing connections for ${fault.durationMs / 1000} s`);
      targets.transport.admit = () => false;
      targets.transport.dropInboundConnections('refusing connections');
      after(fault.durationMs, () => {
        targets.transport.admit = () => true;
        log('fault over: accepting connections again');
      });
      break;
    case 'slow':
      log(`fault: slow consumer (${fault.delayMs ?? 250} ms per message) for ${fault.durationMs / 1000} s`);
      targets.transport.receiveDelayMs = fault.delayMs ?? 250;
      after(fault.durationMs, () => {
        targets.transport.receiveDelayMs = 0;
        log('fault over: reading at full speed again');
      });
      break;
    case 'corrupt':
      log(`fault: serving corrupt resources for ${fault.durationMs / 1000} s`);
      targets.blobs.corrupt = true;
      after(fault.durationMs, () => {
        targets.blobs.corrupt = false;
        log('fault over: serving intact resources again');
      });
      break;
    case 'isolate':
      log(`fault: cut off from the network for ${fault.durationMs / 1000} s`);
      targets.transport.admit = () => false;
      targets.connector.offline = true;
      targets.transport.dropInboundConnections('isolated');
      targets.connector.dropConnections('isolated');
      after(fault.durationMs, () => {
        targets.transport.admit = () => true;
        targets.connector.offline = false;
        log('fault over: back on the network');
      });
      break;
    case 'burst': {
      const { count = 16, bytes = 512 * 1024 } = fault;
      log(`fault: burst of ${count} x ${bytes / 1024} KiB raft messages to ${fault.peerId.slice(0, 10)}`);
      void targets.workload.burst(fault.peerId, count, bytes).then(({ sent, failed }) => log(`burst done: ${sent} sent, ${failed} failed`));
      break;
    }
  }
}
