import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { MeterProvider, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { OtelP2pMonitor, P2pInstrumentation, createP2pViews, type P2pMonitorConfig } from '@p2p-otel/instrumentation';
import { resolveP2pTelemetryConfig, type LogLevel } from './config/resolve.js';

const DIAG_LEVELS: Record<LogLevel, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};
import { P2pTelemetryConfigError } from './errors.js';
import { createReaders, type OwnMetrics } from './exporters/index.js';
import { registerGlobalMeterProvider, unregisterGlobalMeterProvider } from './global.js';
import type { P2pTelemetryOptions } from './options.js';
import { createResource } from './resource.js';

/**
 * How the monitor's data reaches the readers:
 * - `producer`: the fast path, a MetricProducer per reader reading the monitor's aggregates at
 *   collection, no SDK work per record. It reports cumulative data only.
 * - `instruments`: standard SDK instruments on our MeterProvider. Used when an OTLP reader wants
 *   delta or lowmemory temporality: the SDK computes deltas per reader, which a producer cannot
 *   (it is stateless and cannot know what each reader saw last). It costs SDK work per histogram
 *   record; counters and gauges are still observed from the aggregates at collection.
 */
export type ExportPath = 'producer' | 'instruments';

export interface P2pTelemetry<M extends OtelP2pMonitor = P2pInstrumentation> {
  /**
   * The monitor everything is recorded into: a P2pInstrumentation unless the options handed an
   * existing monitor, so `telemetry.monitor.instrument({ connector, transport, manager })` works.
   */
  readonly monitor: M;
  readonly meterProvider: MeterProvider;
  /** The Prometheus scrape URL, with the port actually bound. */
  readonly metricsUrl?: string;
  readonly exportPath: ExportPath;
  /** Collects and exports now (push exporters). */
  forceFlush(): Promise<void>;
  /** Exports what is left (OTLP), stops readers and the Prometheus server. Idempotent. */
  shutdown(): Promise<void>;
}

/** Telemetry started in this process and not shut down yet. */
let running = 0;

/**
 * Starts exporting P2P metrics: a MeterProvider with the p2p views and the configured readers,
 * fed by an OtelP2pMonitor. Resolves once the Prometheus endpoint (if any) is listening; rejects
 * with P2pTelemetryConfigError on invalid options or environment.
 *
 * Each call starts an independent telemetry (its own monitor unless one is passed, MeterProvider
 * and readers); a call while an earlier one still runs says so at diag info level (tests start
 * several on purpose; an application usually means one). Only the first registers the global MeterProvider, and a second
 * Prometheus endpoint on the same port rejects with the address. After shutdown(), starting
 * again is a restart.
 */
export function startP2pTelemetry<M extends OtelP2pMonitor>(options: P2pTelemetryOptions & { monitor: M }): Promise<P2pTelemetry<M>>;
export function startP2pTelemetry(options?: P2pTelemetryOptions): Promise<P2pTelemetry<P2pInstrumentation>>;
export async function startP2pTelemetry(options: P2pTelemetryOptions = {}): Promise<P2pTelemetry<OtelP2pMonitor>> {
  const config = resolveP2pTelemetryConfig(options);
  if (config.logLevel !== undefined) {
    // As sdk-node does with OTEL_LOG_LEVEL: the app asked for OTel's diagnostics on the console.
    diag.setLogger(new DiagConsoleLogger(), { logLevel: DIAG_LEVELS[config.logLevel], suppressOverrideMessage: true });
  }
  const created = !(options.monitor instanceof OtelP2pMonitor);
  const monitor = options.monitor instanceof OtelP2pMonitor ? options.monitor : createMonitor(options.monitor);
  const exportPath: ExportPath = config.otlp !== undefined && config.otlp.temporality !== 'cumulative' ? 'instruments' : 'producer';
  // With no exporter the producer is created and dropped: it detaches the monitor from any global
  // meter, so records stay in the monitor's arrays at no SDK cost.
  if (config.exporters.length === 0) monitor.createMetricProducer();
  const producers = (): MetricProducer[] | undefined => (exportPath === 'producer' ? [monitor.createMetricProducer()] : undefined);
  // Prometheus on the fast path: the monitor's text is written straight from its arrays, not
  // through a producer and the exporter's serializer (50 times the cost; docs/performance.md).
  const own = (): OwnMetrics | undefined => (exportPath === 'producer' ? { writer: monitor.createPrometheusTextWriter(), producer: monitor.createMetricProducer() } : undefined);
  const { readers, prometheus } = await createReaders(config, producers, own);

  let meterProvider: MeterProvider;
  try {
    meterProvider = new MeterProvider({
      resource: createResource(config.resourceAttributes),
      // Needed by the instrument path; kept on the producer path too, for any other OtelP2pMonitor
      // that reports through this provider once it is the global one.
      views: createP2pViews(monitor),
      readers,
    });
    if (exportPath === 'instruments') monitor.setMeterProvider(meterProvider);
  } catch (e) {
    await prometheus?.close();
    throw e;
  }
  // With no exporter nothing is registered: a reader-less global would only swallow the
  // application's own metrics and block the provider it may register later.
  const registered = config.registerGlobal && config.exporters.length > 0 && registerGlobalMeterProvider(meterProvider);
  if (running > 0) {
    diag.info(
      `@p2p-otel/sdk: startP2pTelemetry() while ${running} earlier telemetry ${running === 1 ? 'instance is' : 'instances are'} still running; ` +
        'this one is independent (its own monitor unless one was passed, MeterProvider and readers). Call shutdown() on the earlier one first to restart.',
    );
  }
  running++;

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    running--;
    if (registered) unregisterGlobalMeterProvider(meterProvider);
    if (created) monitor.disable(); // later records become no-ops instead of feeding a stopped provider
    try {
      await prometheus?.close();
    } finally {
      await meterProvider.shutdown(); // the periodic readers export one last time
    }
  };
  return {
    monitor,
    meterProvider,
    ...(prometheus === undefined ? {} : { metricsUrl: prometheus.url }),
    exportPath,
    forceFlush: () => meterProvider.forceFlush(),
    shutdown: () => (stopping ??= stop()),
  };
}

function createMonitor(config: P2pMonitorConfig | undefined): P2pInstrumentation {
  try {
    return new P2pInstrumentation(config);
  } catch (e) {
    // Its message names the field (peerId.mode, ...); the value is not shown, it may be a hashKey.
    throw new P2pTelemetryConfigError('options.monitor', undefined, e instanceof Error ? e.message : String(e));
  }
}
