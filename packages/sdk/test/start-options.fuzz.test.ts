/**
 * Fuzzing startP2pTelemetry's options and environment, RUNS cases per property. Documented
 * contract (packages/sdk/README.md): invalid configuration rejects with a P2pTelemetryConfigError
 * before anything starts; an address that cannot be bound rejects with an Error naming it;
 * anything else starts, and shutdown() stops it. Properties:
 * - resolveP2pTelemetryConfig (what startP2pTelemetry runs first) over options and environment
 *   variables: returns a configuration within the documented ranges, or throws a
 *   P2pTelemetryConfigError; nothing else;
 * - startP2pTelemetry itself: resolves (and shuts down) or rejects with one of the two errors.
 * An exception thrown by the application's own value (a Proxy trap, a throwing toString or getter)
 * propagates as it is: that is not a configuration error, and is allowed.
 *   The network is kept local: valid ports become 0, hosts and OTLP endpoints are loopback (the
 *   OTLP one a local server answering 200), or invalid.
 */
import { diag } from '@opentelemetry/api';
import { OtelP2pMonitor } from '@p2p-otel/instrumentation';
import { EXPORTER_NAMES, OTLP_PROTOCOLS, P2pTelemetryConfigError, TEMPORALITY_PREFERENCES, resolveP2pTelemetryConfig, startP2pTelemetry, type P2pTelemetryOptions } from '@p2p-otel/sdk';
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostileFast, oddString, RUNS } from '../../instrumentation/test/fuzz/hostile';

// 10,000 cases per property: generous room on a loaded machine (Jest's default is 30 s per test).
jest.setTimeout(120_000);

const hostile = hostileFast;

/**
 * An error the application's own value threw (a Proxy trap, a throwing toString or getter): it
 * propagates, as it would from any function reading that value. Not a configuration error.
 */
const ownError = (e: unknown): boolean => e instanceof Error && /^hostile (proxy|conversion|getter)/.test(e.message);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_MILLIS = 2 ** 31 - 1;

/** A value for an option: absent, one of the given, or anything. */
const opt = <T>(...good: fc.Arbitrary<T>[]): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: fc.oneof(...good) }, { weight: 2, arbitrary: hostile });

const exporterName = fc.oneof(fc.constantFrom(...EXPORTER_NAMES, 'OTLP', 'grpc', '', ' otlp', 'prometheus,otlp'), oddString);
const millis = fc.oneof(fc.integer({ min: -2, max: 100_000 }), fc.constantFrom(0, 1, MAX_MILLIS, MAX_MILLIS + 1, 1.5, '500', '1e3', ' 10 '));

function options(otlpUrl: string): fc.Arbitrary<P2pTelemetryOptions> {
  return fc
    .record(
      {
        exporter: opt(exporterName, fc.array(exporterName, { maxLength: 4 }), fc.constantFrom('none', 'otlp', 'console', ['otlp', 'console'])),
        prometheus: opt(
          fc.record(
            {
              host: opt(fc.constantFrom('127.0.0.1', '::1', 'localhost', '192.0.2.1', '', ' ', 'a b', 'x/y', '127.0.0.1:9464')),
              port: opt(fc.integer({ min: -5, max: 70_000 }), fc.constantFrom(0, '0', '9464', '+1', '-1', '65536', '1.5', 1.5, NaN)),
              endpoint: opt(fc.constantFrom('/metrics', 'metrics', '/', '/a b', '/x?y', '/x#y', ''), oddString),
            },
            { requiredKeys: [] },
          ),
        ),
        otlp: opt(
          fc.record(
            {
              endpoint: opt(fc.constantFrom(otlpUrl, 'https://[::1]:1/v1/metrics', 'ftp://127.0.0.1:1/', 'not a url', '', '//127.0.0.1:1', 'http://'), oddString),
              protocol: opt(fc.constantFrom(...OTLP_PROTOCOLS, 'grpc', 'HTTP/JSON', 'http/protobuf ', '')),
              headers: opt(
                fc.dictionary(fc.oneof(fc.constantFrom('authorization', 'x-api-key', 'bad name', '', 'é'), oddString), fc.oneof(fc.string(), fc.constantFrom('a\r\nb', '\0', 'ok')), { maxKeys: 3 }),
              ),
              timeoutMillis: opt(millis),
              exportIntervalMillis: opt(millis),
              exportTimeoutMillis: opt(millis),
              temporality: opt(fc.constantFrom(...TEMPORALITY_PREFERENCES, 'DELTA', 'Cumulative', 'gauge')),
            },
            { requiredKeys: [] },
          ),
        ),
        serviceName: opt(fc.string(), fc.constantFrom('', ' ', 'node-1')),
        resourceAttributes: opt(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 })), { maxKeys: 3 })),
        monitor: opt(
          fc.record(
            {
              peerId: opt(
                fc.record(
                  {
                    mode: opt(fc.constantFrom('full', 'short', 'hash', 'none', 'FULL')),
                    maxPeers: opt(fc.integer({ min: -1, max: 300 })),
                    shortLength: opt(fc.integer({ min: -1, max: 20 })),
                    hashKey: opt(fc.string({ maxLength: 40 })),
                    maxPeerIdLength: opt(fc.integer({ min: -1, max: 300 })),
                  },
                  { requiredKeys: [] },
                ),
              ),
              messageTypes: opt(fc.array(fc.oneof(fc.string({ maxLength: 6 }), hostile), { maxLength: 4 })),
              resourceTypes: opt(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 })),
              protocolVersions: opt(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 })),
              localPeerId: opt(fc.string()),
              maxKnownPeers: opt(fc.integer({ min: -1, max: 10 })),
              maxTopologyNodes: opt(fc.integer({ min: -1, max: 10 })),
            },
            { requiredKeys: [] },
          ),
        ),
        registerGlobal: opt(fc.boolean()),
      },
      { requiredKeys: [] },
    )
    .map((o) => o as P2pTelemetryOptions);
}

/** The OTEL_* variables startP2pTelemetry reads, with odd values. */
const ENV_NAMES = [
  'OTEL_METRICS_EXPORTER',
  'OTEL_EXPORTER_PROMETHEUS_HOST',
  'OTEL_EXPORTER_PROMETHEUS_PORT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
  'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRIC_EXPORT_TIMEOUT',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
] as const;
const envValue = fc.oneof(
  fc.constantFrom('', ' ', 'otlp', 'prometheus,console', 'none,otlp', 'grpc', 'http/json', 'DELTA', '0', '9464', '-1', '1e3', 'http://127.0.0.1:1', 'k=v', 'k=%zz', 'a=b,c', '=v', 'k=v\r\n'),
  oddString,
);
const env = fc.dictionary(fc.constantFrom(...ENV_NAMES), envValue, { maxKeys: 5 });

/** Every field of a resolved configuration within what the README documents. */
function checkConfig(c: ReturnType<typeof resolveP2pTelemetryConfig>): void {
  const fail = (what: string): never => {
    throw new Error(`resolved ${what}: ${JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  };
  if (!Array.isArray(c.exporters) || new Set(c.exporters).size !== c.exporters.length || c.exporters.some((e) => e === 'none' || !EXPORTER_NAMES.includes(e))) fail('exporters');
  if ((c.prometheus !== undefined) !== c.exporters.includes('prometheus')) fail('prometheus presence');
  if (c.prometheus !== undefined) {
    const p = c.prometheus;
    if (typeof p.host !== 'string' || p.host.trim() === '' || /[\s/]/.test(p.host)) fail('prometheus.host');
    if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) fail('prometheus.port');
    if (typeof p.endpoint !== 'string' || !p.endpoint.startsWith('/') || /[\s?#]/.test(p.endpoint)) fail('prometheus.endpoint');
  }
  if (typeof c.registerGlobal !== 'boolean') fail('registerGlobal');
  if ((c.otlp !== undefined) !== c.exporters.includes('otlp')) fail('otlp presence');
  if (c.otlp !== undefined) {
    const o = c.otlp;
    let url: URL | undefined;
    try {
      url = new URL(o.url);
    } catch {
      fail('otlp.url');
    }
    if (url!.protocol !== 'http:' && url!.protocol !== 'https:') fail('otlp.url protocol');
    if (!OTLP_PROTOCOLS.includes(o.protocol)) fail('otlp.protocol');
    if (!TEMPORALITY_PREFERENCES.includes(o.temporality)) fail('otlp.temporality');
    if (o.timeoutMillis !== undefined && !(Number.isInteger(o.timeoutMillis) && o.timeoutMillis >= 1 && o.timeoutMillis <= MAX_MILLIS)) fail('otlp.timeoutMillis');
    for (const [k, v] of Object.entries(o.headers)) if (!HEADER_NAME.test(k) || typeof v !== 'string' || /[\r\n\0]/.test(v)) fail('otlp.headers');
  }
  const pushed = c.exporters.includes('otlp') || c.exporters.includes('console');
  if ((c.push !== undefined) !== pushed) fail('push presence');
  if (c.push !== undefined) {
    const { exportIntervalMillis: i, exportTimeoutMillis: t } = c.push;
    if (!(Number.isInteger(i) && i >= 1 && i <= MAX_MILLIS && Number.isInteger(t) && t >= 1 && t <= i)) fail('push intervals');
  }
  if (typeof c.resourceAttributes !== 'object' || c.resourceAttributes === null) fail('resourceAttributes');
  const service = c.resourceAttributes['service.name'];
  if (service !== undefined && (typeof service !== 'string' || service.trim() === '')) fail('service.name');
}

describe(`startP2pTelemetry options, ${RUNS} cases per property`, () => {
  let collector: Server;
  let otlpUrl = 'http://127.0.0.1:1/v1/metrics';
  const savedEnv: Record<string, string | undefined> = {};

  beforeAll(async () => {
    diag.disable();
    for (const name of ENV_NAMES) {
      savedEnv[name] = process.env[name];
      delete process.env[name];
    }
    // Stands in for a collector, so that no export (shutdown's last one) waits on retries.
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    otlpUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/metrics`;
    jest.spyOn(console, 'dir').mockImplementation(() => undefined); // the console exporter's output
  });

  afterAll(async () => {
    for (const [name, value] of Object.entries(savedEnv)) if (value !== undefined) process.env[name] = value;
    jest.restoreAllMocks();
    collector.closeAllConnections();
    await new Promise((resolve) => collector.close(resolve));
  });

  it('resolveP2pTelemetryConfig: a configuration in the documented ranges, or a P2pTelemetryConfigError', () => {
    fc.assert(
      fc.property(options(otlpUrl), env, (o, e) => {
        let config: ReturnType<typeof resolveP2pTelemetryConfig>;
        try {
          config = resolveP2pTelemetryConfig(o, e);
        } catch (error) {
          if (error instanceof P2pTelemetryConfigError && typeof error.setting === 'string' && error.setting !== '') return;
          if (ownError(error)) return;
          throw error;
        }
        checkConfig(config);
      }),
      { numRuns: RUNS },
    );
  });

  it('startP2pTelemetry: starts and shuts down, or rejects with P2pTelemetryConfigError or a cannot-listen Error', async () => {
    const shared = new OtelP2pMonitor();
    let started = 0;
    await fc.assert(
      fc.asyncProperty(options(otlpUrl), fc.boolean(), async (raw, reuseMonitor) => {
        const o = { ...(raw as object) } as P2pTelemetryOptions & Record<string, unknown>;
        // Keep the network local: a valid port becomes 0 (any free port), never a guessed one.
        const p = o.prometheus as Record<string, unknown> | undefined;
        let port: unknown;
        try {
          port = typeof p === 'object' && p !== null ? p['port'] : undefined;
        } catch {
          // A hostile Proxy: startP2pTelemetry meets it as it is.
        }
        if (typeof p === 'object' && p !== null && !Array.isArray(p) && port !== undefined) {
          if ((typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535) || (typeof port === 'string' && /^\+?\d+$/.test(port) && Number(port) > 0)) {
            o.prometheus = { ...p, port: 0 };
          }
        } else if (p === undefined) {
          o.prometheus = { port: 0 }; // the default 9464 may be taken: never bind it
        }
        // A monitor instance half of the time: constructing one costs milliseconds.
        if (reuseMonitor && (o.monitor === undefined || typeof o.monitor !== 'object')) o.monitor = shared;
        let telemetry: Awaited<ReturnType<typeof startP2pTelemetry>>;
        try {
          telemetry = await startP2pTelemetry(o);
        } catch (error) {
          if (error instanceof P2pTelemetryConfigError || ownError(error)) return;
          if (error instanceof Error && error.message.startsWith('@p2p-otel/sdk: cannot listen on ')) return;
          throw error;
        }
        started++;
        if (!['producer', 'instruments'].includes(telemetry.exportPath)) throw new Error(`exportPath ${telemetry.exportPath}`);
        if (telemetry.metricsUrl !== undefined && !/^http:\/\/.+:\d+\//.test(telemetry.metricsUrl)) throw new Error(`metricsUrl ${telemetry.metricsUrl}`);
        telemetry.monitor.recordMessage('peerA1b2c3d4e5f6', 'raft', 10);
        await telemetry.shutdown();
        await telemetry.shutdown();
      }),
      { numRuns: RUNS },
    );
    expect(started).toBeGreaterThan(RUNS / 20); // not only rejections
  });

  // Regression (found by the fuzz): an otlp.protocol whose String() throws (a null-prototype object).
  it('a null-prototype otlp.protocol is a P2pTelemetryConfigError', () => {
    expect(() => resolveP2pTelemetryConfig({ exporter: 'otlp', otlp: { protocol: Object.create(null) } }, {})).toThrow(P2pTelemetryConfigError);
  });

  // Regression: a value neither JSON.stringify nor String() can print still makes a P2pTelemetryConfigError.
  it('an invalid exporter value that cannot be printed is still a P2pTelemetryConfigError', () => {
    const value = Object.assign(Object.create(null) as object, { n: 1n });
    expect(() => resolveP2pTelemetryConfig({ exporter: value as never }, {})).toThrow(P2pTelemetryConfigError);
  });

  // Regression: registerGlobal is validated like every other option ('no' is truthy).
  it('a registerGlobal that is not a boolean is a P2pTelemetryConfigError', () => {
    expect(() => resolveP2pTelemetryConfig({ exporter: 'none', registerGlobal: 'no' as never }, {})).toThrow(P2pTelemetryConfigError);
  });
});
