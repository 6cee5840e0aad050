import type { Attributes } from '@opentelemetry/api';
import { P2pTelemetryConfigError } from '../errors.js';
import { EXPORTER_NAMES, OTLP_PROTOCOLS, TEMPORALITY_PREFERENCES, type ExporterName, type OtlpProtocol, type P2pTelemetryOptions, type TemporalityPreference } from '../options.js';
import { resolveScrapeSecurity, type ResolvedScrapeSecurity } from './scrape-security.js';
import { MAX_MILLIS, envVar, httpUrl, integer, keyValues, nonEmptyString, oneOf, pick, type Env, type Sourced } from './settings.js';

export type ActiveExporter = Exclude<ExporterName, 'none'>;

/** The protections (auth, tls, rateLimit, maxConcurrentScrapes) are present only when configured. */
export interface ResolvedPrometheus extends ResolvedScrapeSecurity {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
}

export interface ResolvedOtlp {
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Record<string, string>;
  /** Undefined: the exporter's default (10 s). */
  readonly timeoutMillis: number | undefined;
  readonly temporality: TemporalityPreference;
}

/** Settings of the periodic readers (otlp and console). */
export interface ResolvedPush {
  readonly exportIntervalMillis: number;
  readonly exportTimeoutMillis: number;
}

export interface ResolvedConfig {
  /** Empty for `none`. */
  readonly exporters: readonly ActiveExporter[];
  readonly prometheus: ResolvedPrometheus | undefined;
  readonly otlp: ResolvedOtlp | undefined;
  readonly push: ResolvedPush | undefined;
  /** Over the SDK's default resource (telemetry.sdk.*, service.name=unknown_service:...). */
  readonly resourceAttributes: Attributes;
  readonly registerGlobal: boolean;
  /** From OTEL_LOG_LEVEL, as sdk-node reads it: OTel's diag messages (ours included) to the console at this level. */
  readonly logLevel?: LogLevel;
}

export const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_EXPORTER: ActiveExporter = 'prometheus';
export const DEFAULT_PROMETHEUS = { host: '127.0.0.1', port: 9464, endpoint: '/metrics' } as const;
export const DEFAULT_OTLP_URL = 'http://localhost:4318/v1/metrics';
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';
export const DEFAULT_EXPORT_INTERVAL_MILLIS = 60_000;
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 30_000;

/**
 * Options over environment, validated. Settings of exporters that are not in use are not read:
 * variables meant for another signal or tool (say OTEL_EXPORTER_OTLP_PROTOCOL=grpc for traces)
 * cannot fail a Prometheus-only setup.
 */
export function resolveP2pTelemetryConfig(options: P2pTelemetryOptions = {}, env: Env = process.env): ResolvedConfig {
  const exporters = resolveExporters(options, env);
  const usesPush = exporters.includes('otlp') || exporters.includes('console');
  return {
    exporters,
    prometheus: exporters.includes('prometheus') ? resolvePrometheus(options, env) : undefined,
    otlp: exporters.includes('otlp') ? resolveOtlp(options, env) : undefined,
    push: usesPush ? resolvePush(options, env) : undefined,
    resourceAttributes: resolveResourceAttributes(options, env),
    registerGlobal: resolveRegisterGlobal(options.registerGlobal),
    ...resolveLogLevel(env),
  };
}

function resolveRegisterGlobal(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new P2pTelemetryConfigError('options.registerGlobal', value, 'expected true or false');
  return value;
}

function resolveLogLevel(env: Env): { logLevel?: LogLevel } {
  const value = env.OTEL_LOG_LEVEL;
  if (value === undefined || value === '') return {};
  return { logLevel: oneOf({ setting: 'OTEL_LOG_LEVEL', value, fromEnv: true }, LOG_LEVELS) };
}

function resolveExporters(options: P2pTelemetryOptions, env: Env): ActiveExporter[] {
  const s = pick('exporter', options.exporter, env, 'OTEL_METRICS_EXPORTER');
  if (s === undefined) return [DEFAULT_EXPORTER];
  const items: unknown[] = typeof s.value === 'string' ? s.value.split(',').map((n) => n.trim()) : Array.isArray(s.value) ? s.value : [s.value];
  const names = [...new Set(items.filter((n) => n !== '').map((n) => oneOf({ ...s, value: n }, EXPORTER_NAMES)))];
  if (names.length === 0) throw new P2pTelemetryConfigError(s.setting, s.value, `expected one or more of ${EXPORTER_NAMES.join(', ')}`);
  if (names.includes('none')) {
    if (names.length > 1) throw new P2pTelemetryConfigError(s.setting, s.value, '`none` cannot be combined with other exporters');
    return [];
  }
  return names as ActiveExporter[];
}

function resolvePrometheus(options: P2pTelemetryOptions, env: Env): ResolvedPrometheus {
  const p = options.prometheus ?? {};
  const host = pick('prometheus.host', p.host, env, 'OTEL_EXPORTER_PROMETHEUS_HOST');
  const port = pick('prometheus.port', p.port, env, 'OTEL_EXPORTER_PROMETHEUS_PORT');
  const endpoint = pick('prometheus.endpoint', p.endpoint, env);
  const hostValue = host === undefined ? DEFAULT_PROMETHEUS.host : nonEmptyString(host);
  if (/[\s/]/.test(hostValue)) throw new P2pTelemetryConfigError(host?.setting ?? '', hostValue, 'expected a host name or IP address');
  const path = endpoint === undefined ? DEFAULT_PROMETHEUS.endpoint : nonEmptyString(endpoint);
  if (/[\s?#]/.test(path)) throw new P2pTelemetryConfigError(endpoint?.setting ?? '', path, 'expected a URL path such as /metrics');
  return {
    host: hostValue,
    port: port === undefined ? DEFAULT_PROMETHEUS.port : integer(port, 0, 65535),
    endpoint: path.startsWith('/') ? path : `/${path}`, // as the Prometheus exporter does
    ...resolveScrapeSecurity(p, env),
  };
}

function resolveOtlp(options: P2pTelemetryOptions, env: Env): ResolvedOtlp {
  const o = options.otlp ?? {};
  const protocol = pick('otlp.protocol', o.protocol, env, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== undefined && typeof protocol.value === 'string' && protocol.value.toLowerCase() === 'grpc') {
    throw new P2pTelemetryConfigError(
      protocol.setting,
      protocol.value,
      'OTLP over gRPC is not supported by @p2p-otel/sdk; use http/protobuf (or http/json), usually on port 4318 ' +
        '(set OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/protobuf to keep gRPC for the other signals)',
    );
  }
  const timeout = pick('otlp.timeoutMillis', o.timeoutMillis, env, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT');
  const temporality = pick('otlp.temporality', o.temporality, env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE');
  return {
    url: resolveOtlpUrl(o.endpoint, env),
    protocol: protocol === undefined ? DEFAULT_OTLP_PROTOCOL : oneOf(protocol, OTLP_PROTOCOLS),
    headers: resolveHeaders(o.headers, env),
    timeoutMillis: timeout === undefined ? undefined : integer(timeout, 1, MAX_MILLIS),
    temporality: temporality === undefined ? 'cumulative' : oneOf(temporality, TEMPORALITY_PREFERENCES),
  };
}

/** As the spec says: the signal-specific URL is used as is, the generic one gets `v1/metrics`. */
function resolveOtlpUrl(endpoint: string | undefined, env: Env): string {
  const specific = pick('otlp.endpoint', endpoint, env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  if (specific !== undefined) return httpUrl(specific).href;
  const generic = envVar(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (generic === undefined) return DEFAULT_OTLP_URL;
  const base = httpUrl(generic).href;
  return `${base.endsWith('/') ? base : `${base}/`}v1/metrics`;
}

/** Merged key by key: generic env, then metrics env, then options. */
function resolveHeaders(headers: Record<string, string> | undefined, env: Env): Record<string, string> {
  const layers = [envVar(env, 'OTEL_EXPORTER_OTLP_HEADERS'), envVar(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'), pick('otlp.headers', headers, {})];
  return Object.assign({}, ...layers.map((s) => (s === undefined ? {} : keyValues(s, 'header'))));
}

function resolvePush(options: P2pTelemetryOptions, env: Env): ResolvedPush {
  const o = options.otlp ?? {};
  const interval = pick('otlp.exportIntervalMillis', o.exportIntervalMillis, env, 'OTEL_METRIC_EXPORT_INTERVAL');
  const timeout = pick('otlp.exportTimeoutMillis', o.exportTimeoutMillis, env, 'OTEL_METRIC_EXPORT_TIMEOUT');
  const exportIntervalMillis = interval === undefined ? DEFAULT_EXPORT_INTERVAL_MILLIS : integer(interval, 1, MAX_MILLIS);
  if (timeout === undefined) {
    return { exportIntervalMillis, exportTimeoutMillis: Math.min(DEFAULT_EXPORT_TIMEOUT_MILLIS, exportIntervalMillis) };
  }
  const exportTimeoutMillis = integer(timeout, 1, MAX_MILLIS);
  if (exportTimeoutMillis > exportIntervalMillis) {
    // PeriodicExportingMetricReader throws on this too, without saying where the values came from.
    const where = interval === undefined ? 'the default export interval' : interval.setting;
    throw new P2pTelemetryConfigError(timeout.setting, timeout.value, `must not exceed the export interval (${exportIntervalMillis} ms, ${where})`);
  }
  return { exportIntervalMillis, exportTimeoutMillis };
}

/**
 * Lowest to highest: OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME (the spec lets it win over the
 * former), options.resourceAttributes, options.serviceName.
 */
function resolveResourceAttributes(options: P2pTelemetryOptions, env: Env): Attributes {
  const fromEnv = envVar(env, 'OTEL_RESOURCE_ATTRIBUTES');
  const envService = envVar(env, 'OTEL_SERVICE_NAME');
  const attributes: Attributes = fromEnv === undefined ? {} : keyValues(fromEnv, 'attribute');
  if (envService !== undefined) attributes['service.name'] = envService.value as string;
  if (options.resourceAttributes !== undefined) {
    const s: Sourced = { setting: 'options.resourceAttributes', value: options.resourceAttributes, fromEnv: false };
    if (typeof s.value !== 'object' || s.value === null || Array.isArray(s.value)) {
      throw new P2pTelemetryConfigError(s.setting, s.value, 'expected an object of attributes');
    }
    Object.assign(attributes, options.resourceAttributes);
  }
  const service = pick('serviceName', options.serviceName, {});
  if (service !== undefined) attributes['service.name'] = nonEmptyString(service);
  return attributes;
}
