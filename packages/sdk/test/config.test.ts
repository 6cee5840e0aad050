import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiagLogLevel, diag, metrics, type DiagLogger } from '@opentelemetry/api';
import { OtelP2pMonitor } from '@p2p-otel/instrumentation';
import { P2pTelemetryConfigError, resolveP2pTelemetryConfig, startP2pTelemetry, type Env, type P2pTelemetry, type P2pTelemetryOptions } from '@p2p-otel/sdk';
import { createResource } from '../src/resource.js';

const started: P2pTelemetry[] = [];
const savedEnv = { ...process.env };

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  diag.disable();
  jest.restoreAllMocks();
});

async function start(options: P2pTelemetryOptions): Promise<P2pTelemetry> {
  const t = await startP2pTelemetry(options);
  started.push(t);
  return t;
}

function spyDiag(): Record<'error' | 'warn' | 'info', jest.Mock> {
  const logger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() };
  diag.setLogger(logger as DiagLogger, DiagLogLevel.INFO);
  return logger;
}

describe('resolveP2pTelemetryConfig', () => {
  test('defaults: Prometheus on loopback, port 9464', () => {
    expect(resolveP2pTelemetryConfig({}, {})).toEqual({
      exporters: ['prometheus'],
      prometheus: { host: '127.0.0.1', port: 9464, endpoint: '/metrics' },
      otlp: undefined,
      push: undefined,
      resourceAttributes: {},
      registerGlobal: true,
    });
  });

  test('maps the standard environment variables', () => {
    const env: Env = {
      OTEL_METRICS_EXPORTER: 'otlp, Prometheus,console',
      OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0',
      OTEL_EXPORTER_PROMETHEUS_PORT: '9999',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-tenant = t1',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_METRIC_EXPORT_TIMEOUT: '10000',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
      OTEL_SERVICE_NAME: 'node-7',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,deployment.environment=prod%2Ceu',
    };
    expect(resolveP2pTelemetryConfig({}, env)).toEqual({
      exporters: ['otlp', 'prometheus', 'console'],
      prometheus: { host: '0.0.0.0', port: 9999, endpoint: '/metrics' },
      otlp: {
        url: 'http://collector:4318/otlp/v1/metrics',
        protocol: 'http/json',
        headers: { Authorization: 'Bearer abc', 'x-tenant': 't1' },
        timeoutMillis: 5000,
        temporality: 'delta',
      },
      push: { exportIntervalMillis: 15000, exportTimeoutMillis: 10000 },
      resourceAttributes: { 'service.name': 'node-7', 'deployment.environment': 'prod,eu' },
      registerGlobal: true,
    });
  });

  test('metrics-specific variables win over generic ones; the specific endpoint is used as is', () => {
    const { otlp } = resolveP2pTelemetryConfig(
      { exporter: 'otlp' },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example/custom',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', // overridden for metrics, so not an error
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_HEADERS: 'a=generic,b=generic',
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=specific',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
        OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '2000',
      },
    );
    expect(otlp).toEqual({
      url: 'https://metrics.example/custom',
      protocol: 'http/protobuf',
      headers: { a: 'generic', b: 'specific' },
      timeoutMillis: 2000,
      temporality: 'cumulative',
    });
  });

  test('explicit options win over the environment', () => {
    const env: Env = {
      OTEL_METRICS_EXPORTER: 'console',
      OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0',
      OTEL_EXPORTER_PROMETHEUS_PORT: '9999',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env:4318/v1/metrics',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=env,b=env',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_METRIC_EXPORT_TIMEOUT: '1000',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
      OTEL_SERVICE_NAME: 'env-name',
      OTEL_RESOURCE_ATTRIBUTES: 'region=env,zone=env',
    };
    const config = resolveP2pTelemetryConfig(
      {
        exporter: ['prometheus', 'otlp'],
        prometheus: { host: '::1', port: 0, endpoint: 'scrape' },
        otlp: {
          endpoint: 'http://opt:4318/v1/metrics',
          protocol: 'http/protobuf',
          headers: { b: 'opt' },
          timeoutMillis: 3000,
          exportIntervalMillis: 20000,
          exportTimeoutMillis: 20000,
          temporality: 'cumulative',
        },
        serviceName: 'opt-name',
        resourceAttributes: { region: 'opt', 'service.name': 'loses-to-serviceName' },
        registerGlobal: false,
      },
      env,
    );
    expect(config).toEqual({
      exporters: ['prometheus', 'otlp'],
      prometheus: { host: '::1', port: 0, endpoint: '/scrape' },
      otlp: { url: 'http://opt:4318/v1/metrics', protocol: 'http/protobuf', headers: { a: 'env', b: 'opt' }, timeoutMillis: 3000, temporality: 'cumulative' },
      push: { exportIntervalMillis: 20000, exportTimeoutMillis: 20000 },
      resourceAttributes: { region: 'opt', zone: 'env', 'service.name': 'opt-name' },
      registerGlobal: false,
    });
  });

  test('service.name: OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES, options over both', () => {
    const env = { OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' };
    const name = (options: P2pTelemetryOptions, e: Env = env): unknown => resolveP2pTelemetryConfig(options, e).resourceAttributes['service.name'];
    expect(name({}, { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' })).toBe('from-attributes');
    expect(name({})).toBe('from-env');
    expect(name({ resourceAttributes: { 'service.name': 'from-options' } })).toBe('from-options');
    expect(name({ serviceName: 'explicit', resourceAttributes: { 'service.name': 'from-options' } })).toBe('explicit');
  });

  test('the export timeout defaults to 30 s, at most the interval', () => {
    const push = (env: Env): unknown => resolveP2pTelemetryConfig({ exporter: 'console' }, env).push;
    expect(push({})).toEqual({ exportIntervalMillis: 60000, exportTimeoutMillis: 30000 });
    expect(push({ OTEL_METRIC_EXPORT_INTERVAL: '1000' })).toEqual({ exportIntervalMillis: 1000, exportTimeoutMillis: 1000 });
  });

  test('blank variables are unset; `none` exports nothing', () => {
    expect(resolveP2pTelemetryConfig({}, { OTEL_METRICS_EXPORTER: '  ', OTEL_EXPORTER_PROMETHEUS_PORT: '' }).prometheus?.port).toBe(9464);
    expect(resolveP2pTelemetryConfig({}, { OTEL_METRICS_EXPORTER: 'none' })).toMatchObject({ exporters: [], prometheus: undefined, otlp: undefined, push: undefined });
  });

  test('settings of exporters not in use are not read', () => {
    expect(() => resolveP2pTelemetryConfig({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'bad', OTEL_METRIC_EXPORT_INTERVAL: 'x' })).not.toThrow();
    expect(() => resolveP2pTelemetryConfig({ exporter: 'otlp' }, { OTEL_EXPORTER_PROMETHEUS_PORT: 'x' })).not.toThrow();
  });

  // [what, options, env, setting named, value shown]
  const invalid: [string, P2pTelemetryOptions, Env, string, string | undefined][] = [
    ['unknown exporter (env)', {}, { OTEL_METRICS_EXPORTER: 'prometheus,zipkin' }, 'OTEL_METRICS_EXPORTER', '"zipkin"'],
    ['unknown exporter (option)', { exporter: 'jaeger' as never }, {}, 'options.exporter', '"jaeger"'],
    ['none with others', {}, { OTEL_METRICS_EXPORTER: 'none,otlp' }, 'OTEL_METRICS_EXPORTER', '"none,otlp"'],
    ['non-numeric port', {}, { OTEL_EXPORTER_PROMETHEUS_PORT: 'abc' }, 'OTEL_EXPORTER_PROMETHEUS_PORT', '"abc"'],
    ['port out of range', {}, { OTEL_EXPORTER_PROMETHEUS_PORT: '70000' }, 'OTEL_EXPORTER_PROMETHEUS_PORT', '"70000"'],
    ['negative port', { prometheus: { port: -1 } }, {}, 'options.prometheus.port', '-1'],
    ['fractional port', { prometheus: { port: 1.5 } }, {}, 'options.prometheus.port', '1.5'],
    ['bad host', {}, { OTEL_EXPORTER_PROMETHEUS_HOST: 'my host' }, 'OTEL_EXPORTER_PROMETHEUS_HOST', '"my host"'],
    ['non-numeric interval', { exporter: 'otlp' }, { OTEL_METRIC_EXPORT_INTERVAL: '10s' }, 'OTEL_METRIC_EXPORT_INTERVAL', '"10s"'],
    ['zero interval', { exporter: 'console', otlp: { exportIntervalMillis: 0 } }, {}, 'options.otlp.exportIntervalMillis', '0'],
    ['timeout above interval', { exporter: 'otlp' }, { OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '5000' }, 'OTEL_METRIC_EXPORT_TIMEOUT', '"5000"'],
    ['bad generic URL', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', '"not a url"'],
    ['non-http URL', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'ftp://x/v1/metrics' }, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', '"ftp://x/v1/metrics"'],
    ['URL without scheme', { exporter: 'otlp', otlp: { endpoint: 'localhost:4318' } }, {}, 'options.otlp.endpoint', '"localhost:4318"'],
    ['unknown protocol', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/xml' }, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', '"http/xml"'],
    ['bad request timeout', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_TIMEOUT: '-5' }, 'OTEL_EXPORTER_OTLP_TIMEOUT', '"-5"'],
    ['bad temporality', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' }, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', '"sometimes"'],
    ['header without =', { exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_HEADERS: 'x-ok=1,Authorization Bearer s3cret' }, 'OTEL_EXPORTER_OTLP_HEADERS', undefined],
    ['bad header name', { exporter: 'otlp', otlp: { headers: { 'bad key': 's3cret' } } }, {}, 'options.otlp.headers', undefined],
    ['bad percent-encoding', {}, { OTEL_RESOURCE_ATTRIBUTES: 'region=%ZZ' }, 'OTEL_RESOURCE_ATTRIBUTES', '"region=%ZZ"'],
    ['empty service name', { serviceName: '' }, {}, 'options.serviceName', '""'],
  ];
  test.each(invalid)('%s fails, naming the setting and the value', (_what, options, env, setting, shown) => {
    let error: unknown;
    try {
      resolveP2pTelemetryConfig(options, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(P2pTelemetryConfigError);
    const e = error as P2pTelemetryConfigError;
    expect(e.setting).toBe(setting);
    expect(e.message).toContain(setting);
    if (shown === undefined)
      expect(e.message).not.toContain('s3cret'); // header values may be credentials
    else expect(e.message).toContain(`=${shown}`);
  });

  test('grpc fails with what to use instead', () => {
    expect(() => resolveP2pTelemetryConfig({ exporter: 'otlp' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL="grpc".*not supported.*http\/protobuf/);
  });
});

describe('startP2pTelemetry', () => {
  test('reads process.env and rejects invalid settings before starting anything', async () => {
    process.env.OTEL_METRICS_EXPORTER = 'prometheus';
    process.env.OTEL_EXPORTER_PROMETHEUS_PORT = 'ninety';
    await expect(startP2pTelemetry({ registerGlobal: false })).rejects.toThrow(new P2pTelemetryConfigError('OTEL_EXPORTER_PROMETHEUS_PORT', 'ninety', 'expected an integer from 0 to 65535'));
    process.env.OTEL_EXPORTER_PROMETHEUS_PORT = '0';
    const t = await start({ registerGlobal: false });
    expect(t.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(t.metricsUrl).not.toContain(':9464/');
  });

  test('invalid monitor options fail as configuration errors', async () => {
    const failure = startP2pTelemetry({ exporter: 'none', monitor: { peerId: { mode: 'hash' } } });
    await expect(failure).rejects.toBeInstanceOf(P2pTelemetryConfigError);
    await expect(failure).rejects.toThrow(/options\.monitor.*hashKey/);
  });

  test('a port in use fails with the address', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startP2pTelemetry({ prometheus: { port }, registerGlobal: false })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('registers the global MeterProvider, warns instead of failing when one exists, unregisters on shutdown', async () => {
    const logger = spyDiag();
    const first = await start({ prometheus: { port: 0 } });
    expect(metrics.getMeterProvider()).toBe(first.meterProvider);

    const second = await start({ prometheus: { port: 0 } });
    expect(metrics.getMeterProvider()).toBe(first.meterProvider);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('already registered'));
    expect(logger.error).not.toHaveBeenCalled(); // no duplicate-registration error from the API

    await first.shutdown();
    expect(metrics.getMeterProvider()).not.toBe(first.meterProvider);
    await second.shutdown();
  });

  test('`none` starts no reader and registers nothing', async () => {
    const t = await start({ exporter: 'none' });
    expect(t.metricsUrl).toBeUndefined();
    expect(metrics.getMeterProvider()).not.toBe(t.meterProvider);
    t.monitor.recordRtt('abcdefghijkl', 5); // accepted, exported nowhere
  });

  test('exports an existing monitor', async () => {
    const monitor = new OtelP2pMonitor({ peerId: { mode: 'none' } });
    const t = await start({ monitor, prometheus: { port: 0 }, registerGlobal: false });
    expect(t.monitor).toBe(monitor);
  });

  test('the console exporter prints the final export at shutdown', async () => {
    const dir = jest.spyOn(console, 'dir').mockImplementation(() => undefined);
    const t = await start({ exporter: 'console', otlp: { exportIntervalMillis: 3_600_000 }, registerGlobal: false });
    t.monitor.recordRtt('abcdefghijkl', 5);
    await t.shutdown();
    const printed = JSON.stringify(dir.mock.calls);
    expect(printed).toContain('p2p_rtt_milliseconds');
  });
});

describe('OTEL_LOG_LEVEL and service.instance.id', () => {
  it('reads OTEL_LOG_LEVEL case-insensitively and rejects unknown levels naming the variable', () => {
    expect(resolveP2pTelemetryConfig({}, { OTEL_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(resolveP2pTelemetryConfig({}, {}).logLevel).toBeUndefined();
    expect(() => resolveP2pTelemetryConfig({}, { OTEL_LOG_LEVEL: 'loud' })).toThrow(/OTEL_LOG_LEVEL/);
  });

  it('gives each process its own service.instance.id unless one is configured', () => {
    const a = createResource({}).attributes['service.instance.id'];
    const b = createResource({}).attributes['service.instance.id'];
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).not.toBe(a);
    expect(createResource({ 'service.instance.id': 'node-7' }).attributes['service.instance.id']).toBe('node-7');
  });
});
