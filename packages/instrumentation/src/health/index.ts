export {
  ConnectionQuality,
  DEFAULT_QUALITY_WEIGHTS,
  scoreQuality,
  type ConnectionQualityOptions,
  type ConnectionQualitySnapshot,
  type QualityInputs,
  type QualityScoreOptions,
  type QualityWeights,
} from './connection-quality.js';
export { P2pHealthChecker, type HealthCheckerOptions, type QualitySample } from './health-checker.js';
export type { PingFunction } from './timed-ping.js';
export type { HealthCheckTimers } from './timers.js';
