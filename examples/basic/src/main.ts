/**
 * p2p-otel demo: registers telemetry, runs a simulated P2P cluster through the monitor and serves
 * every metric on a Prometheus endpoint.
 *
 *   pnpm demo:basic                     # until Ctrl-C, metrics on http://127.0.0.1:9464/metrics
 *   pnpm demo:basic --port 9465         # another port (0 picks a free one)
 *   pnpm demo:basic --duration 30       # stop after 30 seconds
 *
 * The part to copy into your application is `startTelemetry` below: one call at startup, then
 * `telemetry.monitor.recordX(...)` wherever your networking layer sees an event.
 */
import { parseArgs } from 'node:util';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { LOCAL_NODE_ID, MESSAGE_TYPES, PROTOCOL_VERSIONS, RESOURCE_TYPES, SimulatedCluster, TICK_MS, type ClusterStats } from './simulated-cluster.js';

export interface DemoOptions {
  /** Prometheus port; 0 picks a free one. Default: the SDK's (9464, or OTEL_EXPORTER_PROMETHEUS_PORT). */
  port?: number;
  /** Stop the simulation after this long. Default: run until `stop()`. */
  durationMs?: number;
  /** How often to print a progress line. Default 5 s. */
  reportEveryMs?: number;
  log?: (line: string) => void;
}

export interface Demo {
  readonly telemetry: P2pTelemetry;
  readonly metricsUrl: string;
  readonly stats: ClusterStats;
  /** Resolves when the simulation stops: after `durationMs`, or on `stop()`. Telemetry keeps serving. */
  readonly finished: Promise<void>;
  /** Stops the simulation and shuts telemetry down (the metrics endpoint closes). Idempotent. */
  stop(): Promise<void>;
}

/** What an application does once at startup; then it calls `telemetry.monitor.recordX(...)`. */
async function startTelemetry(port: number | undefined): Promise<P2pTelemetry> {
  return startP2pTelemetry({
    serviceName: 'p2p-otel-demo',
    exporter: 'prometheus',
    ...(port === undefined ? {} : { prometheus: { port } }),
    monitor: {
      localPeerId: LOCAL_NODE_ID, // origin of p2p_peer_distance_hops
      messageTypes: MESSAGE_TYPES, // closed label sets: anything else becomes `other`
      resourceTypes: RESOURCE_TYPES,
      protocolVersions: PROTOCOL_VERSIONS,
    },
  });
}

export async function runDemo(options: DemoOptions = {}): Promise<Demo> {
  const log = options.log ?? ((line: string) => console.log(line));
  const telemetry = await startTelemetry(options.port);
  const metricsUrl = telemetry.metricsUrl ?? '(no Prometheus endpoint)';
  const cluster = new SimulatedCluster(telemetry.monitor);

  log(`p2p-otel demo: a simulated 5-node cluster, metrics at ${metricsUrl}`);
  log(`  try: curl -s ${metricsUrl} | grep p2p_messages_sent_total`);

  let stopSimulation!: () => void;
  const finished = new Promise<void>((resolve) => {
    const ticker = setInterval(() => cluster.tick(), TICK_MS);
    const reporter = setInterval(() => log(progressLine(cluster.stats)), options.reportEveryMs ?? 5_000);
    const deadline = options.durationMs === undefined ? undefined : setTimeout(() => stopSimulation(), options.durationMs);
    stopSimulation = () => {
      clearInterval(ticker);
      clearInterval(reporter);
      if (deadline !== undefined) clearTimeout(deadline);
      resolve();
    };
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopSimulation();
      log(`${progressLine(cluster.stats)}; stopping`);
      cluster.close();
      await telemetry.shutdown();
    })());

  return { telemetry, metricsUrl, stats: cluster.stats, finished, stop };
}

function progressLine(s: ClusterStats): string {
  const seconds = Math.round(s.elapsedMs / 1000);
  return (
    `[${String(seconds).padStart(4)} s] ${s.connectedPeers}/4 peers connected, ` +
    `${s.messagesSent + s.messagesReceived} messages (${s.messagesSent} sent), ` +
    `${s.connectionErrors} connection errors, ${s.syncFailures} failed syncs, ${s.bufferOverflows} buffer overflows`
  );
}

// ---- command line ----------------------------------------------------------------------------------

function parseCommandLine(argv: string[]): { port?: number; durationMs?: number } {
  // `pnpm demo:basic -- --port 1` passes the `--` through; drop it.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: pnpm demo:basic [--port PORT] [--duration SECONDS]');
    process.exit(0);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new Error(`--port must be an integer from 0 to 65535 (got ${values.port})`);
  }
  const seconds = values.duration === undefined ? undefined : Number(values.duration);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) {
    throw new Error(`--duration must be a positive number of seconds (got ${values.duration})`);
  }
  return { port, durationMs: seconds === undefined ? undefined : seconds * 1000 };
}

async function main(): Promise<void> {
  const demo = await runDemo(parseCommandLine(process.argv.slice(2)));
  const onSignal = (): void => void demo.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await demo.finished;
  await demo.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`p2p-otel demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
