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
