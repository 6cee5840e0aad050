export * from './schema/label-values.js';
export * from './schema/types.js';
export { METRICS, METRIC_IDS, DESIGN_METRIC_IDS, LATENCY_MS_BUCKETS, OPERATION_MS_BUCKETS, SIZE_BYTES_BUCKETS, CONNECTION_SECONDS_BUCKETS } from './schema/metrics.js';
export type { MetricId } from './schema/metrics.js';
export { instrumentName } from './schema/naming.js';
export type { P2pMonitor, RecordMethod, ParamKind } from './monitor/types.js';
export { RECORD_METHODS } from './monitor/types.js';
export { OtelP2pMonitor, type P2pMonitorConfig } from './monitor/otel-monitor.js';
export type { MessageStage } from './aggregation/message-stage.js';
export { RecordingP2pMonitor, type RecordedCall } from './monitor/recording-monitor.js';
export type { LabelOptions } from './monitor/normalizer.js';
export { type PeerIdMode, type PeerLabelOptions, DEFAULT_MAX_PEERS, looksLikeAddress } from './labels/peer-labels.js';
export {
  P2pMetricProducer,
  type MetricProducerOptions,
  type CollectionSource,
  type ProducedCollection,
  type ProducedMetric,
  type ProducedSum,
  type ProducedGauge,
  type ProducedHistogramMetric,
  type ProducedDataPoint,
  type ProducedHistogram,
} from './export/metric-producer.js';
export { PrometheusTextWriter, PrometheusTextScrape } from './export/prometheus-text.js';
export { createP2pViews, type P2pViewOptions } from './export/views.js';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
export { P2pInstrumentation, type P2pInstrumentationConfig, type P2pObjects, type P2pObjectOptions } from './instrumentation/p2p-instrumentation.js';
export type { ConnectorOptions, PeerConnectorLike, ConnectionLike, BreakerSource, PoolSource } from './instrumentation/connector.js';
export type { CloseSubscriber } from './instrumentation/connector-connections.js';
export { classifyError, isTimeout } from './instrumentation/error-classification.js';
export { observeCircuitBreaker, type CircuitBreakerLike } from './instrumentation/circuit-breaker.js';
export { observePool, type PoolLike, type PoolObserverOptions } from './instrumentation/connection-pool.js';
export { acknowledgeMessage, transportAckStats, type TransportOptions, type MessageExtractors, type SendQueueLike, type AckStats } from './instrumentation/transport.js';
export type { ManagerOptions } from './instrumentation/manager.js';
export {
  P2P_EVENT_TYPES,
  type P2pEvent,
  type P2pEventType,
  type PeerDiscoveredEvent,
  type PeerLostEvent,
  type DiscoveryFailedEvent,
  type ResourceSyncStartedEvent,
  type ResourceTransferProgressEvent,
  type ResourceSyncCompletedEvent,
  type ResourceSyncFailedEvent,
  type PeerLinkUpEvent,
  type PeerLinkDownEvent,
  type TopologyEvent,
} from './instrumentation/p2p-events.js';
export type { InstrumentationContext, Instrumented } from './instrumentation/context.js';
export { wrapMethod, unwrapMethod, isWrapped, type CallObserver, type HookErrorSink } from './instrumentation/method-wrapper.js';
export {
  P2pHealthChecker,
  ConnectionQuality,
  DEFAULT_QUALITY_WEIGHTS,
  scoreQuality,
  type HealthCheckerOptions,
  type QualitySample,
  type PingFunction,
  type HealthCheckTimers,
  type ConnectionQualityOptions,
  type ConnectionQualitySnapshot,
  type QualityInputs,
  type QualityScoreOptions,
  type QualityWeights,
} from './health/index.js';
