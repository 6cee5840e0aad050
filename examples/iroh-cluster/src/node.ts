/**
 * One cluster node: an Iroh endpoint, the P2P layer on it (connector, transport, manager), health
 * checks and the demo's workload, with p2p-otel reporting every metric on a Prometheus endpoint.
 *
 * `startNode()` is the part to read: telemetry first, then the P2P objects, then ONE
 * `telemetry.monitor.instrument({ connector, transport, manager })`, then everything starts.
 * Iroh's own QUIC state (streams, loss, retransmissions, paths, ALPN) comes from IrohInstrumentation.
 *
 * Run as a process by the demo (demo.ts forks one per node and talks to it over IPC), or by hand:
 *
 *   tsx examples/iroh-cluster/src/node.ts --name a --metrics-port 9470 --iroh-port 7001 \
 *     --secret-key <64 hex> --peers <ticket>,<ticket>,...
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as iroh from '@number0/iroh';
import { P2pHealthChecker, classifyError } from '@p2p-otel/instrumentation';
import { IrohInstrumentation } from '@p2p-otel/instrumentation-iroh';
import { startP2pTelemetry } from '@p2p-otel/sdk';
import { BlobStore } from './blob-store.js';
import { IrohPeerConnector } from './connector.js';
import { applyFault, type Fault } from './faults.js';
import { P2pManager } from './manager.js';
import { ALPN, ALPN_BYTES, MESSAGE_TYPES, RESOURCE_TYPES, shortError } from './protocol.js';
import { IrohTransport } from './transport.js';
import { ARCHIVE_BYTES, ARCHIVE_BYTES_PER_SECOND, Workload } from './workload.js';

export interface NodeConfig {
  name: string;
  /** The node's identity, 32 bytes as hex; a restarted node keeps its id with the same key. Default: random. */
  secretKey?: string;
  /** UDP port of the Iroh endpoint on 127.0.0.1 (default 0: any free port). */
  irohPort?: number;
  /** Prometheus port (default the SDK's: 9464, or OTEL_EXPORTER_PROMETHEUS_PORT; 0: any free port). */
  metricsPort?: number;
  /** Tickets of every node of the cluster (this one's may be included). More can come later. */
  peers?: string[];
  log?: (line: string) => void;
}

export interface ClusterNode {
  readonly name: string;
  readonly id: string;
  readonly ticket: string;
  readonly irohPort: number;
  /** Undefined when the metrics are pushed (OTEL_METRICS_EXPORTER=otlp) instead of scraped. */
  readonly metricsUrl: string | undefined;
  setPeers(tickets: string[]): void;
  fault(fault: Fault): void;
  stop(): Promise<void>;
}

/** Tuning of the demo: short intervals so that a minute shows a lot. */
const HEALTH_INTERVAL_MS = 1_000;
const HEALTH_TIMEOUT_MS = 1_000;

export async function startNode(config: NodeConfig): Promise<ClusterNode> {
  const log = config.log ?? ((line: string) => console.log(`[${config.name}] ${line}`));
  const secretKey = iroh.SecretKey.fromBytes(Array.from(config.secretKey === undefined ? randomBytes(32) : Buffer.from(config.secretKey, 'hex')));
  const id = secretKey.public().toString();

  // 1. Telemetry: one call. Prometheus on 127.0.0.1 unless OTEL_METRICS_EXPORTER says otherwise.
  const telemetry = await startP2pTelemetry({
    serviceName: 'iroh-cluster',
    resourceAttributes: { 'service.instance.id': config.name },
    prometheus: { host: '127.0.0.1', ...(config.metricsPort === undefined ? {} : { port: config.metricsPort }) },
    monitor: {
      localPeerId: id, // origin of p2p_peer_distance_hops
      messageTypes: [...MESSAGE_TYPES], // closed label sets: anything else is `other`
      resourceTypes: [...RESOURCE_TYPES],
      protocolVersions: [ALPN],
    },
  });
  // QUIC streams, retransmissions, loss, path distance and the ALPN gauge come from Iroh itself:
  // the Iroh instrumentation reads them. `import * as iroh` above loaded the module before it
  // existed, hence instrumentModule (before any endpoint is bound). It runs beside the wrappers
  // of step 3, which already record dials and closes (the connector), message bytes (the
  // transport) and RTT (the health checker of step 4): its own records of those are switched off
  // so nothing is counted twice (docs/instrumentation/iroh.md, "Beside the connector and
  // transport wrappers").
  new IrohInstrumentation({ monitor: telemetry.monitor, connections: false, rtt: false, bytes: false }).instrumentModule(iroh);

  // 2. The P2P layer.
  const builder = iroh.Endpoint.builder();
  iroh.presetMinimal(builder); // no relays, no external discovery: loopback, offline
  builder.relayMode(iroh.RelayMode.disabled());
  builder.secretKey(secretKey.toBytes());
  builder.bindAddr(`127.0.0.1:${config.irohPort ?? 0}`);
  builder.alpns([ALPN_BYTES]);
  const endpoint = await builder.bind();
  const ticket = iroh.EndpointTicket.fromAddr(endpoint.addr()).toString();
  const irohPort = Number(endpoint.addr().directAddresses()[0]?.split(':').pop() ?? 0);

  const connector = new IrohPeerConnector({ endpoint, alpn: ALPN_BYTES, connectTimeoutMs: 1_500, log });
  const transport = new IrohTransport({ endpoint, connector, queueCapacityPerPeer: 16, lanesPerPeer: 2, requestTimeoutMs: 3_000 });
  const blobs = new BlobStore();
  // The workload's archive is synced as a throttled bulk transfer (workload.ts: the steady background).
  const manager = new P2pManager({ localId: id, transport, connector, blobs, log, bulkThresholdBytes: ARCHIVE_BYTES, bulkBytesPerSecond: ARCHIVE_BYTES_PER_SECOND });
  const workload = new Workload({ transport, manager, blobs });

  // 3. One call instruments all three. Failed sends count in p2p_connection_errors_total, except
  // those that are not connection errors or are counted elsewhere: a full send buffer (ENOBUFS:
  // p2p_message_buffer_overflows_total), an error the peer's handler returned (EREMOTE), and a
  // message that never left because the dial failed (ENOTCONN: the connector counted the dial).
  telemetry.monitor.instrument(
    { connector, transport, manager },
    {
      transport: {
        errorType: (error) => {
          const code = (error as { code?: unknown } | null)?.code;
          return code === 'ENOBUFS' || code === 'EREMOTE' || code === 'ENOTCONN' ? undefined : classifyError(error);
        },
      },
    },
  );

  // 4. Health checks ping every known peer through the (instrumented) transport, which already
  // counts failed pings as connection errors: hence recordErrors false.
  const checker = new P2pHealthChecker({
    monitor: telemetry.monitor,
    peers: () => manager.knownPeers(),
    ping: async (peer, signal) => {
      try {
        await transport.ping(peer, signal);
        manager.reportPing(peer, true);
      } catch (error) {
        manager.reportPing(peer, false);
        throw error;
      }
    },
    intervalMs: HEALTH_INTERVAL_MS,
    timeoutMs: HEALTH_TIMEOUT_MS,
    recordErrors: false,
  });

  // 5. Start: handlers are registered after instrument(), so they are observed.
  watchQuicLoss(() => [...connector.openConnections(), ...transport.inboundConnections()], log);
  transport.start();
  manager.start();
  workload.start();
  checker.start();
  manager.setPeerList(config.peers ?? []);

  let stopping: Promise<void> | undefined;
  return {
    name: config.name,
    id,
    ticket,
    irohPort,
    metricsUrl: telemetry.metricsUrl,
    setPeers: (tickets) => manager.setPeerList(tickets),
    fault: (fault) => applyFault({ connector, transport, blobs, workload }, fault, log),
    stop: () =>
      (stopping ??= (async () => {
        checker.stop();
        workload.stop();
        manager.stop();
        transport.close();
        await Promise.race([connector.close(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
        await endpoint.close();
        await telemetry.shutdown();
      })()),
  };
}

/**
 * Logs packets QUIC declared lost on this node's connections, from Iroh's own per-connection
 * counters (application logging, to show the demo's congestion; the Iroh instrumentation turns
 * the same counters into p2p_quic_retransmissions_total and p2p_quic_packet_loss_ratio).
 */
function watchQuicLoss(connections: () => iroh.Connection[], log: (line: string) => void): void {
  const seen = new WeakMap<iroh.Connection, number>();
  let lost = 0;
  let reported = 0;
  const timer = setInterval(() => {
    for (const connection of connections()) {
      try {
        const now = connection.stats().lostPackets;
        lost += Math.max(0, now - (seen.get(connection) ?? 0));
        seen.set(connection, now);
      } catch {
        // closed meanwhile
      }
    }
    if (lost > reported) log(`QUIC: ${lost - reported} packet${lost - reported === 1 ? '' : 's'} lost on this node's connections (${lost} since start)`);
    reported = lost;
  }, 2_000);
  timer.unref();
}

// ---- process entry ------------------------------------------------------------------------------

/** Messages from the demo's orchestrator (over the IPC channel of child_process.fork). */
export type NodeCommand = { type: 'peers'; tickets: string[] } | { type: 'fault'; fault: Fault } | { type: 'stop' };
/** Messages to the orchestrator. */
export type NodeReport = { type: 'ready'; name: string; id: string; ticket: string; irohPort: number; metricsUrl: string | undefined; pid: number } | { type: 'log'; name: string; line: string };

function configFromCommandLine(argv: string[]): NodeConfig {
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      name: { type: 'string' },
      'secret-key': { type: 'string' },
      'iroh-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      peers: { type: 'string' },
    },
  });
  const fromEnv = process.env.IROH_CLUSTER_NODE === undefined ? {} : (JSON.parse(process.env.IROH_CLUSTER_NODE) as Partial<NodeConfig>);
  const port = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
  return {
    ...fromEnv,
    name: values.name ?? fromEnv.name ?? `node-${process.pid}`,
    ...(values['secret-key'] === undefined ? {} : { secretKey: values['secret-key'] }),
    ...(values['iroh-port'] === undefined ? {} : { irohPort: port(values['iroh-port']) }),
    ...(values['metrics-port'] === undefined ? {} : { metricsPort: port(values['metrics-port']) }),
    ...(values.peers === undefined ? {} : { peers: values.peers.split(',').filter((t) => t !== '') }),
  };
}

async function main(): Promise<void> {
  const config = configFromCommandLine(process.argv.slice(2));
  const send = (report: NodeReport): void => {
    if (process.send !== undefined && process.connected) process.send(report);
  };
  const log = process.send === undefined ? (line: string) => console.log(`[${config.name}] ${line}`) : (line: string) => send({ type: 'log', name: config.name, line });
  // A demo keeps running and says so, rather than dying on a bug of its own.
  process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${shortError(reason)}`));
  const node = await startNode({ ...config, log });
  const exit = (): void => {
    setTimeout(() => process.exit(0), 3_000).unref(); // whatever hangs, leave
    void node.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
  process.once('disconnect', exit); // the orchestrator is gone: never outlive it
  process.on('message', (command: NodeCommand) => {
    if (command.type === 'peers') node.setPeers(command.tickets);
    else if (command.type === 'fault') node.fault(command.fault);
    else if (command.type === 'stop') exit();
  });
  send({ type: 'ready', name: node.name, id: node.id, ticket: node.ticket, irohPort: node.irohPort, metricsUrl: node.metricsUrl, pid: process.pid });
  if (process.send === undefined) {
    console.log(`[${node.name}] id ${node.id}`);
    console.log(`[${node.name}] ticket ${node.ticket}`);
    console.log(`[${node.name}] metrics ${node.metricsUrl ?? '(pushed over OTLP)'}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`node: ${shortError(error)}`);
    process.exit(1);
  });
}
