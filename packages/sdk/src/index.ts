export { startP2pTelemetry, type P2pTelemetry, type ExportPath } from './start.js';
export { P2pTelemetryConfigError } from './errors.js';
export {
  resolveP2pTelemetryConfig,
  type ResolvedConfig,
  type ResolvedOtlp,
  type ResolvedPrometheus,
  type ResolvedPush,
  type ActiveExporter,
} from './config/resolve.js';
export type { Env } from './config/settings.js';
export {
  EXPORTER_NAMES,
  OTLP_PROTOCOLS,
  TEMPORALITY_PREFERENCES,
  type ExporterName,
  type OtlpProtocol,
  type TemporalityPreference,
  type OtlpOptions,
  type PrometheusOptions,
  type P2pTelemetryOptions,
} from './options.js';
