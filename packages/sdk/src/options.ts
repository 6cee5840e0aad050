import type { Attributes } from '@opentelemetry/api';
import type { OtelP2pMonitor, P2pMonitorConfig } from '@p2p-otel/instrumentation';

export const EXPORTER_NAMES = ['prometheus', 'otlp', 'console', 'none'] as const;
export type ExporterName = (typeof EXPORTER_NAMES)[number];

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const TEMPORALITY_PREFERENCES = ['cumulative', 'delta', 'lowmemory'] as const;
/** As OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE. Anything but cumulative uses the standard-instrument path. */
export type TemporalityPreference = (typeof TEMPORALITY_PREFERENCES)[number];

export interface PrometheusOptions {
  /** Interface to listen on. Default 127.0.0.1 (env OTEL_EXPORTER_PROMETHEUS_HOST). */
  host?: string;
  /** Default 9464 (env OTEL_EXPORTER_PROMETHEUS_PORT); 0 picks a free port, see `metricsUrl`. */
  port?: number;
  /** Path of the scrape endpoint. Default /metrics. */
  endpoint?: string;
  /**
   * Requires `Authorization: Bearer <token>` (env P2P_OTEL_METRICS_BEARER_TOKEN). RFC 6750 token
   * characters only. Not combinable with `basicAuth`. Default: no authentication.
   */
  bearerToken?: string;
  /**
   * Requires HTTP Basic authentication with these credentials (env P2P_OTEL_METRICS_BASIC_AUTH,
   * `user:password`). Not combinable with `bearerToken`. Default: no authentication.
   */
  basicAuth?: { username: string; password: string };
  /**
   * Serves HTTPS with this PEM key and certificate (chain), read at startup (env
   * P2P_OTEL_METRICS_TLS_KEY and P2P_OTEL_METRICS_TLS_CERT). Default: plain HTTP.
   */
  tls?: { keyFile: string; certFile: string };
  /**
   * Token bucket per client address: 429 with Retry-After once spent. `false` turns it off
   * (env P2P_OTEL_METRICS_RATE_LIMIT=off). Default 5 requests/s, burst 20, 1024 clients tracked.
   */
  rateLimit?: ScrapeRateLimitOptions | false;
  /**
   * Scrapes served at once; more are answered 503 with Retry-After (not queued). Env
   * P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES. Default 4.
   */
  maxConcurrentScrapes?: number;
}

export interface ScrapeRateLimitOptions {
  /** Sustained rate per client, may be fractional (env P2P_OTEL_METRICS_RATE_LIMIT: `2`, `2/s`, `30/m`, `100/h`). Default 5. */
  requestsPerSecond?: number;
  /** Bucket size: requests a client may make at once (env P2P_OTEL_METRICS_RATE_LIMIT_BURST). Default 20. */
  burst?: number;
  /**
   * Client addresses tracked at most; past it the least recently seen is forgotten (env
   * P2P_OTEL_METRICS_RATE_LIMIT_MAX_CLIENTS). Default 1024.
   */
  maxClients?: number;
}

export interface OtlpOptions {
  /** Full URL of the metrics endpoint, used as is. Default http://localhost:4318/v1/metrics. */
  endpoint?: string;
  /** Default http/protobuf. gRPC is not supported. */
  protocol?: OtlpProtocol;
  /** Merged over OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_METRICS_HEADERS. */
  headers?: Record<string, string>;
  /** Timeout of one export request. Default 10000 (the exporter's). */
  timeoutMillis?: number;
  /** Interval between exports (also used by the console exporter). Default 60000. */
  exportIntervalMillis?: number;
  /** Timeout of one collect-and-export cycle. Default 30000, at most the interval. */
  exportTimeoutMillis?: number;
  /** Default cumulative. */
  temporality?: TemporalityPreference;
}

export interface P2pTelemetryOptions {
  /** Default prometheus (env OTEL_METRICS_EXPORTER, a comma-separated list). */
  exporter?: ExporterName | readonly ExporterName[];
  prometheus?: PrometheusOptions;
  otlp?: OtlpOptions;
  /** Resource `service.name` (env OTEL_SERVICE_NAME). */
  serviceName?: string;
  /** Resource attributes, over OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes?: Attributes;
  /** Configuration for a new P2pInstrumentation (the monitor plus wrappers), or an existing monitor to export. */
  monitor?: P2pMonitorConfig | OtelP2pMonitor;
  /** Register the MeterProvider as the global one, unless one is registered already. Default true. */
  registerGlobal?: boolean;
}
