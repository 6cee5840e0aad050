/**
 * p2p-otel demo: a real Iroh cluster on loopback, one process per node, each node reporting every
 * P2P metric on its own Prometheus endpoint, with faults injected over time and a live table.
 *
 *   pnpm demo                          # 5 nodes, metrics on http://127.0.0.1:9464..9468/metrics, until Ctrl-C
 *   pnpm demo --nodes 3 --duration 60  # 3 nodes, stop after a minute
 *   pnpm demo --base-port 0            # each node picks a free port (printed)
 *   pnpm demo --no-faults              # traffic only
 *   pnpm demo --partition              # also cut one follower off the network for 12 s per cycle
 *
 * With OTEL_METRICS_EXPORTER=otlp (and OTEL_EXPORTER_OTLP_ENDPOINT) the nodes push OTLP instead.
 */
import { parseArgs } from 'node:util';
import { Cluster } from './cluster.js';
import { FaultSchedule } from './scenario.js';
import { ClusterTable, renderTable } from './table.js';

export interface DemoOptions {
  nodes?: number;
  /** Node i serves Prometheus on basePort + i; 0: free ports (default 9464). */
  basePort?: number;
  /** Stop after this long. Default: run until stop(). */
  durationMs?: number;
  faults?: boolean;
  /** Adds the `isolate` fault to the plan (scenario.ts): a follower cut off the network for 12 s per cycle. */
  partition?: boolean;
  /** Table refresh (default 3000 ms). */
  tableEveryMs?: number;
  /** Redraw the table in place (default: when stdout is a terminal). */
  live?: boolean;
  log?: (line: string) => void;
}

export interface Demo {
  readonly cluster: Cluster;
  /** Resolves after `durationMs`, or on stop(). */
  readonly finished: Promise<void>;
  /** Stops the faults, the table and every node process. Idempotent. */
  stop(): Promise<void>;
}

export async function runDemo(options: DemoOptions = {}): Promise<Demo> {
  const print = options.log ?? ((line: string) => console.log(line));
  const live = options.live ?? (options.log === undefined && process.stdout.isTTY === true);
  const events: string[] = [];
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s`;
  let cluster: Cluster | undefined;
  const event = (line: string): void => {
    // Node lines carry short ids; the table and these lines speak in node names.
    let named = line;
    for (const [short, name] of cluster?.namesByShortId() ?? []) named = named.split(short).join(name);
    const stamped = `[${elapsed()}] ${named}`;
    if (live) {
      events.push(stamped);
      events.splice(0, Math.max(0, events.length - 12));
    } else {
      print(stamped);
    }
  };

  const nodes = options.nodes ?? 5;
  print(`p2p-otel demo: starting ${nodes} Iroh nodes on 127.0.0.1, one process each...`);
  cluster = new Cluster({ nodes, basePort: options.basePort ?? 9464, log: event });
  await cluster.start();
  const endpoints = cluster.nodes.map((n) => `  ${n.name}  id ${n.id.slice(0, 10)}  pid ${String(n.pid).padEnd(7)} metrics ${n.metricsUrl ?? '(pushed over OTLP)'}`);
  print(`${nodes} nodes up (peers found by static discovery from a list of Iroh tickets):`);
  for (const line of endpoints) print(line);
  const first = cluster.nodes[0]?.metricsUrl;
  if (first !== undefined) print(`  try: curl -s ${first} | grep p2p_messages_sent_total`);

  const schedule = new FaultSchedule(cluster, event, { partition: options.partition === true });
  if (options.faults !== false) schedule.start();

  const table = new ClusterTable();
  let drawing = false;
  const draw = async (): Promise<void> => {
    if (drawing || cluster === undefined) return;
    drawing = true;
    try {
      const rows = renderTable(await table.rows(cluster.nodes, cluster.namesByShortId()));
      if (live) {
        process.stdout.write('\x1b[H\x1b[2J');
        print(`p2p-otel demo: ${nodes} Iroh nodes, ${elapsed().trim()} (Ctrl-C stops)`);
        for (const line of endpoints) print(line);
        print('');
        for (const line of rows) print(line);
        print('');
        print('recent events:');
        for (const line of events) print(`  ${line}`);
      } else {
        print(`[${elapsed()}] cluster:`);
        for (const line of rows) print(`  ${line}`);
      }
    } finally {
      drawing = false;
    }
  };
  const scraped = cluster.nodes.some((n) => n.metricsUrl !== undefined);
  if (!scraped) print('metrics are pushed over OTLP (OTEL_METRICS_EXPORTER): no endpoint to scrape, no live table');
  const tableTimer = scraped ? setInterval(() => void draw(), options.tableEveryMs ?? 3_000) : undefined;

  let stopTimer: NodeJS.Timeout | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => {
    resolveFinished = resolve;
    if (options.durationMs !== undefined) stopTimer = setTimeout(resolve, options.durationMs);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearTimeout(stopTimer);
      clearInterval(tableTimer);
      schedule.stop();
      resolveFinished();
      await cluster?.stop();
    })());

  return { cluster, finished, stop };
}

// ---- command line ----------------------------------------------------------------------------------

function parseCommandLine(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv, // `pnpm demo -- --nodes 3` passes the `--` through
    options: {
      nodes: { type: 'string' },
      duration: { type: 'string' },
      'base-port': { type: 'string' },
      'no-faults': { type: 'boolean' },
      partition: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: pnpm demo [--nodes N] [--duration SECONDS] [--base-port PORT (0: free ports)] [--no-faults] [--partition]');
    process.exit(0);
  }
  const integer = (flag: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} must be an integer from ${min} to ${max} (got ${text})`);
    return value;
  };
  const seconds = values.duration === undefined ? undefined : Number(values.duration);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) throw new Error(`--duration must be a positive number of seconds (got ${values.duration})`);
  const nodes = integer('nodes', values.nodes, 1, 32);
  const basePort = integer('base-port', values['base-port'], 0, 65535 - (nodes ?? 5));
  return {
    ...(nodes === undefined ? {} : { nodes }),
    ...(basePort === undefined ? {} : { basePort }),
    ...(seconds === undefined ? {} : { durationMs: seconds * 1000 }),
    faults: values['no-faults'] !== true,
    partition: values.partition === true,
  };
}

async function main(): Promise<void> {
  const demo = await runDemo(parseCommandLine(process.argv.slice(2)));
  const onSignal = (): void => void demo.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await demo.finished;
  await demo.stop();
  console.log('p2p-otel demo: stopped every node');
  process.exit(0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`p2p-otel demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
