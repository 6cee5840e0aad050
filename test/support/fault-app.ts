/**
 * A small application in its own Node process (started by app-process.ts through tsx, with
 * --expose-gc) for fault and lifecycle tests: it starts startP2pTelemetry, records messages on a
 * timer as a node's traffic would, and answers the parent over IPC with what it observed: records
 * made, heap after a full GC, event-loop delay, diag messages by level, unhandled rejections and
 * uncaught exceptions. OTLP cannot export from inside Jest (see telemetry-child.ts): here it runs as
 * in production.
 *
 * SIGTERM does what an application following the README does: stop its own work, then
 * `await telemetry.shutdown()`. It reports over IPC, then lets go of the IPC channel and does NOT
 * call process.exit(): the process must end by itself once nothing is left running, so a handle
 * left open by the telemetry shows up as a process that does not exit.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { startP2pTelemetry, type P2pTelemetry, type P2pTelemetryOptions } from '@p2p-otel/sdk';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface AppConfig {
  readonly telemetry: P2pTelemetryOptions;
  /** Records per tick (messages to `peers` distinct peers, round robin). */
  readonly batch: number;
  readonly tickMs: number;
  readonly peers: number;
  /** diag level: 'verbose' to see the OTLP exporter's retry scheduling. Default 'info'. */
  readonly diagLevel?: 'verbose' | 'info' | 'warn';
}

export interface AppStatus {
  readonly recorded: number;
  readonly recording: boolean;
  /** heapUsed after global.gc(), bytes. */
  readonly heapUsed: number;
  readonly rss: number;
  /** Event-loop delay since the last status, ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly diagCounts: Readonly<Record<string, number>>;
  /** The last diag messages (at most 200), `level: text`. */
  readonly diagTail: readonly string[];
  /** Diag messages logged so far: the difference between two statuses says how many of the tail are new. */
  readonly diagTotal: number;
  readonly unhandledRejections: readonly string[];
  readonly uncaughtExceptions: readonly string[];
}

export type AppRequest = { readonly id: number; readonly op: 'status' | 'record' | 'stop' | 'forceFlush' | 'shutdown'; readonly args: unknown[] };
export type AppMessage =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }
  | { readonly event: 'ready'; readonly metricsUrl?: string }
  | { readonly event: 'sigterm'; readonly status: AppStatus; readonly shutdownMs: number };

const config = JSON.parse(process.env['P2P_FAULT_APP'] ?? '{}') as AppConfig;
const PEER = (i: number): string => `${i.toString(16).padStart(4, '0')}peer`.padEnd(64, 'f');

const diagCounts: Record<string, number> = {};
const diagTail: string[] = [];
let diagTotal = 0;
const logAt =
  (level: string) =>
  (message: string, ...args: unknown[]): void => {
    diagCounts[level] = (diagCounts[level] ?? 0) + 1;
    diagTotal++;
    const detail = args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : '')).join(' ');
    diagTail.push(`${level}: ${message} ${detail}`.slice(0, 300));
    if (diagTail.length > 200) diagTail.shift();
  };
const logger: DiagLogger = { error: logAt('error'), warn: logAt('warn'), info: logAt('info'), debug: logAt('debug'), verbose: logAt('verbose') };
const LEVELS = { verbose: DiagLogLevel.VERBOSE, info: DiagLogLevel.INFO, warn: DiagLogLevel.WARN } as const;
diag.setLogger(logger, { logLevel: LEVELS[config.diagLevel ?? 'info'], suppressOverrideMessage: true });

const unhandledRejections: string[] = [];
const uncaughtExceptions: string[] = [];
process.on('unhandledRejection', (reason) => void unhandledRejections.push(String(reason instanceof Error ? reason.stack : reason)));
process.on('uncaughtException', (e) => void uncaughtExceptions.push(String(e.stack)));

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

let telemetry: P2pTelemetry | undefined;
let recorded = 0;
let limit = Infinity;
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  const monitor = telemetry!.monitor;
  const n = Math.min(config.batch, limit - recorded);
  for (let i = 0; i < n; i++) monitor.recordMessage(PEER((recorded + i) % config.peers), 'ping', 100);
  recorded += n;
  if (recorded >= limit) stopRecording();
}

function stopRecording(): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
}

function status(): AppStatus {
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const s: AppStatus = {
    recorded,
    recording: timer !== undefined,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    diagCounts: { ...diagCounts },
    diagTail: [...diagTail],
    diagTotal,
    unhandledRejections: [...unhandledRejections],
    uncaughtExceptions: [...uncaughtExceptions],
  };
  loop.reset();
  return s;
}

const ops = {
  status,
  /** Records from now on, `batch` per tick, until `total` records were made in all (default: no end). */
  record(total?: number) {
    limit = total ?? Infinity;
    if (timer === undefined && recorded < limit) timer = setInterval(tick, config.tickMs);
    return recorded;
  },
  /** Stops recording; returns the total recorded. */
  stop() {
    stopRecording();
    return recorded;
  },
  forceFlush: () => telemetry!.forceFlush(),
  shutdown: () => telemetry!.shutdown(),
};

const send = (m: AppMessage): void => void process.send?.(m);

process.on('message', (request: AppRequest) => {
  Promise.resolve()
    .then(() => (ops[request.op] as (...a: unknown[]) => unknown)(...request.args))
    .then(
      (result) => send({ id: request.id, ok: true, result }),
      (e: unknown) => send({ id: request.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
});

process.once('SIGTERM', () => {
  stopRecording();
  const t0 = performance.now();
  void telemetry!
    .shutdown()
    .catch((e: unknown) => void unhandledRejections.push(`shutdown rejected: ${String(e)}`))
    .then(() => {
      send({ event: 'sigterm', status: status(), shutdownMs: performance.now() - t0 });
      loop.disable();
      // Let go of IPC without exiting: from here the process ends only if nothing else runs.
      process.disconnect?.();
    });
});

void (async () => {
  telemetry = await startP2pTelemetry(config.telemetry);
  send({ event: 'ready', ...(telemetry.metricsUrl === undefined ? {} : { metricsUrl: telemetry.metricsUrl }) });
})().catch((e: unknown) => {
  console.error('fault-app: start failed', e);
  process.exitCode = 3;
  process.disconnect?.();
});
