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
  DEFAULT_MAX_CONCURRENT_SCRAPES,
  DEFAULT_SCRAPE_RATE_LIMIT,
  SCRAPE_ENV,
  type ResolvedRateLimit,
  type ResolvedScrapeAuth,
  type ResolvedScrapeSecurity,
  type ResolvedScrapeTls,
} from './config/scrape-security.js';
export {
  EXPORTER_NAMES,
  OTLP_PROTOCOLS,
  TEMPORALITY_PREFERENCES,
  type ExporterName,
  type OtlpProtocol,
  type TemporalityPreference,
  type OtlpOptions,
  type PrometheusOptions,
  type ScrapeRateLimitOptions,
  type P2pTelemetryOptions,
} from './options.js';
