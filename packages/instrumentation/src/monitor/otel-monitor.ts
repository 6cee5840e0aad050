import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { MetricStore, type MetricSeries } from '../aggregation/metric-store.js';
import type { HistogramCells, ScalarCells } from '../aggregation/cells.js';
import { MessageStage } from '../aggregation/message-stage.js';
import { ACTIVE_CONNECTION_STATES, CONNECTION_STATES, REJECT_REASONS, type RejectReason } from '../schema/label-values.js';
import type { MetricGroup } from '../schema/types.js';
import { GroupCollector } from '../export/group-collector.js';
import { P2pMetricProducer, type CollectionSource, type MetricProducerOptions } from '../export/metric-producer.js';
import { PrometheusTextWriter } from '../export/prometheus-text.js';
import { ENUMS, InputNormalizer, MAX_AMOUNT, type LabelOptions } from './normalizer.js';
import { Topology } from './topology.js';
import { RECORD_METHODS, type P2pMonitor } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';

export interface P2pMonitorConfig extends InstrumentationConfig, LabelOptions {
  /** This node's id, the origin of `p2p_peer_distance_hops` over the known peer graph. */
  localPeerId?: string;
  /** Peers tracked for `p2p_known_peers` (default 100,000); more are counted as over_capacity. */
  maxKnownPeers?: number;
  /** Nodes of the topology graph (default 1,000): the diameter costs nodes × links per change. */
  maxTopologyNodes?: number;
  /**
   * Milliseconds since the epoch, fractional: timestamps and every duration the wrappers measure.
   * Default performance.timeOrigin + performance.now(); inject a virtual clock for simulation.
   */
  clock?: () => number;
}

/** Time constant of the bandwidth moving average. */
const BANDWIDTH_TAU_MS = 60_000;
/** Rate samples closer together than this are merged (several readers may collect at once). */
const BANDWIDTH_MIN_SAMPLE_MS = 1_000;
const GROUPS: readonly MetricGroup[] = ['connection', 'performance', 'discovery', 'resources', 'protocol', 'self'];
/** CONNECTION_STATES index → index in ACTIVE_CONNECTION_STATES, or -1 for terminal states. */
const ACTIVE_INDEX = CONNECTION_STATES.map((s) => (ACTIVE_CONNECTION_STATES as readonly string[]).indexOf(s));
const INBOUND = 0;
const RECORD_METHOD_NAMES = Object.keys(RECORD_METHODS);

/** A memory bound from the options: a positive integer (NaN or a string would silently lift it). */
function boundOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`p2p-otel: ${name} must be a positive integer (got ${typeof value === 'number' ? value : typeof value})`);
  }
  return value;
}
const TIME_ORIGIN = performance.timeOrigin;
const highResolutionNow = (): number => TIME_ORIGIN + performance.now();
const ignore = (): void => undefined;

/**
 * The P2pMonitor that feeds OpenTelemetry. Records aggregate into preallocated typed arrays;
 * exporting happens at collection, either through `createMetricProducer()` (the fast path, used by
 * @p2p-otel/sdk) or through standard instruments on the meter of the registered MeterProvider.
 */
export class OtelP2pMonitor extends InstrumentationBase<P2pMonitorConfig> implements P2pMonitor, CollectionSource {
  // Assigned after super(): InstrumentationBase calls overridable hooks from its constructor.
  readonly store!: MetricStore;
  private n!: InputNormalizer;
  private collectors!: GroupCollector[];
  private fastPath!: boolean;
  private topology!: Topology;
  private knownPeers!: Set<string>;
  private maxKnownPeers!: number;
  private explicitDistance!: ScalarCells;
  private protocolConnections!: ScalarCells;
  private bandwidthLastBytes!: ScalarCells;
  private bandwidthLastTime!: number;
  private pool!: { pooled: number; idle: number };
  private preparing = false;
  private shadowed: boolean | undefined;
  private collectionHooks: (() => void)[] = [];
  private readonly endPreparation = (): void => {
    this.preparing = false;
  };
  readonly clock!: () => number;
  readonly startTimeMs!: number;
  // Hot-path handles.
  private s!: MetricStore['series'];
  private messageTypeCount!: number;

  constructor(config: P2pMonitorConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.clock = config.clock ?? highResolutionNow;
    this.startTimeMs = this.clock();
    let store: MetricStore | undefined;
    this.n = new InputNormalizer(
      config,
      (slot) => store?.ensurePeerRow(slot),
      (reason) => {
        if (store !== undefined) (store.series.rejectedRecords.cells as ScalarCells).add(reason, 1);
      },
    );
    store = new MetricStore(this.n.peers, this.n.domains, this.n.peers.maxPeers);
    this.store = store;
    this.s = store.series;
    this.messageTypeCount = this.n.domains.messageTypes.size;
    this.topology = new Topology(boundOption('maxTopologyNodes', config.maxTopologyNodes, 1_000), config.localPeerId);
    this.knownPeers = new Set();
    this.maxKnownPeers = boundOption('maxKnownPeers', config.maxKnownPeers, 100_000);
    this.explicitDistance = store.createPeerCells(1);
    this.protocolConnections = store.createPeerCells(this.n.domains.protocolVersions.size);
    this.bandwidthLastBytes = store.createPeerCells(2);
    this.bandwidthLastTime = this.startTimeMs;
    this.pool = { pooled: 0, idle: 0 };
    this.touchStateGauges();
    this.fastPath = false;
    this.collectors = GROUPS.map((g) => new GroupCollector(g, this));
    this._updateMetricInstruments();
    if (config.enabled === false) this.disable();
  }

  protected init(): void {
    return undefined;
  }

  /**
   * Records count again. Nothing to patch: the monitor is called directly or by wrappers.
   * Disabling shadows the record methods with no-ops on the instance, so that the enabled hot path
   * carries no flag check; aggregates so far stay and keep being exported (cumulative). Enabling
   * assigns the prototype's methods back rather than deleting the no-ops: `delete` would drop the
   * object into V8's dictionary mode (measured: +30 ns per record, for good).
   */
  override enable(): void {
    if (this.shadowed !== true) return; // never disabled: nothing to restore (also during super())
    const proto = Object.getPrototypeOf(this) as Record<string, unknown>;
    for (const method of RECORD_METHOD_NAMES) (this as unknown as Record<string, unknown>)[method] = proto[method];
    this.shadowed = false;
  }

  /** True between disable() and enable(). */
  protected get isDisabled(): boolean {
    return this.shadowed === true;
  }

  override disable(): void {
    this.shadowed = true;
    for (const method of RECORD_METHOD_NAMES) (this as unknown as Record<string, unknown>)[method] = ignore;
  }

  protected override _updateMetricInstruments(): void {
    if (this.collectors === undefined || this.fastPath) return; // called by super() before fields exist
    for (const c of this.collectors) c.updateMetricInstruments(this.meter);
  }

  /**
   * The fast path: a MetricProducer to give a MetricReader (`metricProducers` option). From the
   * first call on, this monitor stops feeding standard instruments, so nothing is exported twice.
   * Cumulative temporality only; for delta, use the standard-instrument path.
   */
  createMetricProducer(options: MetricProducerOptions = {}): P2pMetricProducer {
    this.detachInstruments();
    return new P2pMetricProducer(this, options);
  }

  /**
   * The fast path for Prometheus: the text exposition of this monitor written straight from its
   * arrays, what @p2p-otel/sdk's scrape endpoint serves. Detaches the standard instruments as
   * createMetricProducer does.
   */
  createPrometheusTextWriter(): PrometheusTextWriter {
    this.detachInstruments();
    return new PrometheusTextWriter(this);
  }

  private detachInstruments(): void {
    if (this.fastPath) return;
    this.fastPath = true;
    for (const c of this.collectors) c.detach();
  }

  /**
   * Runs `hook` at the start of every collection, before derived gauges are computed: the place to
   * read state that lives elsewhere (a pool's size, a queue's depth) instead of on the data path.
   * Returns the function that removes it.
   */
  addCollectionHook(hook: () => void): () => void {
    this.collectionHooks = [...this.collectionHooks, hook];
    return () => {
      this.collectionHooks = this.collectionHooks.filter((h) => h !== hook);
    };
  }

  /**
   * A stage for one transport side's messages, recorded as recordMessage would record them (see
   * MessageStage). Its owner flushes it from a collection hook, and closes it when done with it.
   *
   * @internal
   */
  protected createMessageStage(direction: 'inbound' | 'outbound'): MessageStage {
    const s = this.s;
    const inbound = direction === 'inbound';
    return new MessageStage(this.n.peers, this.n.domains.messageTypes, {
      messages: (inbound ? s.messagesReceived : s.messagesSent).cells as ScalarCells,
      bytes: (inbound ? s.bytesReceived : s.bytesSent).cells as ScalarCells,
      sizes: s.messageSize.cells as HistogramCells,
      latencies: s.messageLatency.cells as HistogramCells,
    });
  }

  /** Rejected records by reason, as counted in p2p_monitor_rejected_records_total. */
  rejectedRecords(): Record<string, number> {
    return Object.fromEntries(REJECT_REASONS.map((r, i) => [r, this.n.rejected[i] as number]));
  }

  // ---- P2pMonitor: connection lifecycle -------------------------------------------------------

  recordConnectionAttempt(peerId: string, result: unknown): void {
    try {
      const r = this.n.attemptResult(result);
      if (r < 0) return;
      (this.s.connectionAttempts.cells as ScalarCells).add(this.n.peers.slotOf(peerId) * 3 + r, 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordConnectionStateChange(peerId: string, from: unknown, to: unknown): void {
    try {
      const f = this.n.closed(ENUMS.connectionState, from);
      if (f < 0) return;
      const t = this.n.closed(ENUMS.connectionState, to);
      if (t < 0) return;
      const row = this.n.peers.slotOf(peerId);
      (this.s.connectionStateTransitions.cells as ScalarCells).add(row * 25 + f * 5 + t, 1);
      const active = this.s.connectionsActive.cells as ScalarCells;
      const af = ACTIVE_INDEX[f] as number;
      const at = ACTIVE_INDEX[t] as number;
      // A connection leaving a live state it was never counted in would go negative: clamp at 0.
      if (af >= 0 && (active.values[af] as number) > 0) active.add(af, -1);
      if (at >= 0) active.add(at, 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordConnectionDuration(peerId: string, durationSeconds: number): void {
    this.peerHistogram(this.s.connectionDuration, peerId, durationSeconds);
  }

  recordHandshake(peerId: string, durationMs: number): void {
    this.peerHistogram(this.s.handshakeDuration, peerId, durationMs);
  }

  recordError(peerId: string, errorType: unknown): void {
    try {
      const row = this.n.peers.slotOf(peerId);
      (this.s.connectionErrors.cells as ScalarCells).add(row * 6 + this.n.folded(ENUMS.errorType, errorType), 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordCircuitBreakerState(peerId: string, state: unknown): void {
    try {
      const st = this.n.closed(ENUMS.breakerState, state);
      if (st < 0) return;
      const cells = this.s.circuitBreakerState.cells as ScalarCells;
      const base = this.n.peers.slotOf(peerId) * 3;
      for (let i = 0; i < 3; i++) cells.set(base + i, i === st ? 1 : 0);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordCircuitBreakerFailure(peerId: string): void {
    this.peerCount(this.s.circuitBreakerFailures, peerId, 1);
  }

  recordPoolState(pooled: number, idle: number): void {
    try {
      if (!this.n.amount(pooled) || !this.n.amount(idle)) return;
      this.pool.pooled = pooled;
      this.pool.idle = idle;
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPoolWait(durationMs: number): void {
    try {
      if (this.n.amount(durationMs)) (this.s.poolWaitTime.cells as HistogramCells).record(0, durationMs);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPoolEviction(reason: unknown): void {
    try {
      (this.s.poolEvictions.cells as ScalarCells).add(this.n.folded(ENUMS.evictionReason, reason), 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordConnectionReuse(peerId: string): void {
    this.peerCount(this.s.connectionReuses, peerId, 1);
  }

  // ---- performance ------------------------------------------------------------------------------

  recordRtt(peerId: string, rttMs: number): void {
    this.peerHistogram(this.s.rtt, peerId, rttMs);
  }

  recordPingLatency(peerId: string, latencyMs: number): void {
    this.peerGauge(this.s.pingLatency, peerId, latencyMs);
  }

  recordMessage(peerId: string, messageType: string, sizeBytes: number, latencyMs?: number, direction?: unknown): void {
    try {
      if (!(typeof sizeBytes === 'number' && sizeBytes >= 0 && sizeBytes <= MAX_AMOUNT) && !this.n.amount(sizeBytes)) return;
      if (latencyMs !== undefined && !(typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs <= MAX_AMOUNT) && !this.n.amount(latencyMs)) return;
      let inbound = false;
      if (direction !== undefined && direction !== 'outbound') {
        if (direction !== 'inbound') {
          this.n.closed(ENUMS.direction, direction);
          return;
        }
        inbound = true;
      }
      const row = this.n.peers.slotOf(peerId);
      const cell = row * this.messageTypeCount + this.n.configured(this.n.domains.messageTypes, messageType);
      const s = this.s;
      if (inbound) {
        (s.messagesReceived.cells as ScalarCells).add(cell, 1);
        (s.bytesReceived.cells as ScalarCells).add(row, sizeBytes);
      } else {
        (s.messagesSent.cells as ScalarCells).add(cell, 1);
        (s.bytesSent.cells as ScalarCells).add(row, sizeBytes);
      }
      (s.messageSize.cells as HistogramCells).record(cell, sizeBytes);
      if (latencyMs !== undefined) (s.messageLatency.cells as HistogramCells).record(cell, latencyMs);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordBytesTransferred(peerId: string, direction: unknown, bytes: number): void {
    try {
      const d = this.n.closed(ENUMS.direction, direction);
      if (d < 0 || !this.n.amount(bytes)) return;
      const series = d === INBOUND ? this.s.bytesReceived : this.s.bytesSent;
      (series.cells as ScalarCells).add(this.n.peers.slotOf(peerId), bytes);
    } catch (e) {
      this.internalError(e);
    }
  }

  // ---- discovery and topology ---------------------------------------------------------------------

  recordPeerDiscovered(peerId: string, method: unknown): void {
    try {
      const known = typeof peerId === 'string' && this.knownPeers.has(peerId);
      const valid = this.n.peers.check(peerId); // discovery alone does not spend a peer label
      (this.s.discoveredPeers.cells as ScalarCells).add(this.n.folded(ENUMS.discoveryMethod, method), 1);
      if (known || !valid) return;
      if (this.knownPeers.size >= this.maxKnownPeers) this.n.reject('over_capacity');
      else this.knownPeers.add(peerId);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPeerLost(peerId: string): void {
    try {
      if (this.n.peers.check(peerId)) this.knownPeers.delete(peerId);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordDiscoveryDuration(method: unknown, durationMs: number): void {
    try {
      if (!this.n.amount(durationMs)) return;
      const m = this.n.folded(ENUMS.discoveryMethod, method);
      (this.s.discoveryDuration.cells as HistogramCells).record(m, durationMs);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordDiscoveryFailure(method: unknown, reason: unknown): void {
    try {
      const m = this.n.folded(ENUMS.discoveryMethod, method);
      const r = this.n.folded(ENUMS.discoveryFailureReason, reason);
      (this.s.discoveryFailures.cells as ScalarCells).add(m * ENUMS.discoveryFailureReason.size + r, 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPeerLink(a: string, b: string): void {
    try {
      const valid = this.n.peers.check(a);
      if (!this.n.peers.check(b) || !valid) return;
      if (!this.topology.link(a, b)) this.n.reject('over_capacity');
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPeerUnlink(a: string, b: string): void {
    try {
      const valid = this.n.peers.check(a);
      if (this.n.peers.check(b) && valid) this.topology.unlink(a, b);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordPeerDistance(peerId: string, hops: number): void {
    try {
      if (!this.n.amount(hops)) return;
      this.explicitDistance.set(this.n.peers.slotOf(peerId), hops);
    } catch (e) {
      this.internalError(e);
    }
  }

  clearPeerDistance(peerId: string): void {
    try {
      if (!this.n.peers.check(peerId)) return;
      const slot = this.n.peers.existingSlot(peerId); // a peer never labelled has nothing to clear: spend no label
      if (slot >= 0) this.explicitDistance.touched[slot] = 0;
    } catch (e) {
      this.internalError(e);
    }
  }

  recordConnectivityScore(peerId: string, score: number): void {
    try {
      const v = this.n.ratio(score);
      if (v < 0) return;
      (this.s.connectivityScore.cells as ScalarCells).set(this.n.peers.slotOf(peerId), v);
    } catch (e) {
      this.internalError(e);
    }
  }

  // ---- buffers ------------------------------------------------------------------------------------

  recordBufferEnqueue(peerId: string, bytes: number): void {
    try {
      if (!this.n.amount(bytes)) return;
      const row = this.n.peers.slotOf(peerId);
      (this.s.bufferedMessages.cells as ScalarCells).add(row, 1);
      (this.s.bufferedBytes.cells as ScalarCells).add(row, bytes);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordBufferDequeue(peerId: string, bytes: number, delayMs?: number): void {
    try {
      if (!this.n.amount(bytes)) return;
      if (delayMs !== undefined && !this.n.amount(delayMs)) return;
      const row = this.n.peers.slotOf(peerId);
      const messages = this.s.bufferedMessages.cells as ScalarCells;
      const buffered = this.s.bufferedBytes.cells as ScalarCells;
      // Never below zero: a dequeue without its enqueue (or folded peers) must not underflow.
      messages.add(row, (messages.values[row] as number) >= 1 ? -1 : 0);
      buffered.add(row, -Math.min(bytes, buffered.values[row] as number));
      if (delayMs !== undefined) (this.s.deliveryDelay.cells as HistogramCells).record(row, delayMs);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordBufferOverflow(peerId: string): void {
    this.peerCount(this.s.bufferOverflows, peerId, 1);
  }

  // ---- QUIC and protocol ----------------------------------------------------------------------------

  recordQuicStreamOpened(peerId: string, direction: unknown): void {
    this.streamDelta(peerId, direction, 1);
  }

  recordQuicStreamClosed(peerId: string, direction: unknown): void {
    this.streamDelta(peerId, direction, -1);
  }

  recordQuicRetransmissions(peerId: string, packets: number): void {
    try {
      if (this.n.amount(packets)) (this.s.quicRetransmissions.cells as ScalarCells).add(this.n.peers.slotOf(peerId), packets);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordQuicPacketLoss(peerId: string, ratio: number): void {
    try {
      const v = this.n.ratio(ratio);
      if (v >= 0) (this.s.quicPacketLoss.cells as ScalarCells).set(this.n.peers.slotOf(peerId), v);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordProtocolVersion(peerId: string, version: string, active: unknown): void {
    try {
      if (typeof active !== 'boolean') {
        this.n.reject('unknown_value');
        return;
      }
      const row = this.n.peers.slotOf(peerId);
      const domain = this.n.domains.protocolVersions;
      const cell = row * domain.size + this.n.configured(domain, version);
      const connections = this.protocolConnections;
      const count = Math.max(0, (connections.values[cell] as number) + (active ? 1 : -1));
      connections.set(cell, count);
      (this.s.protocolVersion.cells as ScalarCells).set(cell, count > 0 ? 1 : 0);
    } catch (e) {
      this.internalError(e);
    }
  }

  // ---- resource synchronisation ---------------------------------------------------------------------

  recordResourceTransferStarted(resourceType: string): void {
    this.transferDelta(resourceType, 1);
  }

  recordResourceTransferFinished(resourceType: string): void {
    this.transferDelta(resourceType, -1);
  }

  recordResourceTransferBytes(peerId: string, resourceType: string, bytes: number): void {
    try {
      if (!this.n.amount(bytes)) return;
      const domain = this.n.domains.resourceTypes;
      const cell = this.n.peers.slotOf(peerId) * domain.size + this.n.configured(domain, resourceType);
      (this.s.resourceTransferBytes.cells as ScalarCells).add(cell, bytes);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordResourceSync(resourceType: string, durationMs: number): void {
    try {
      if (!this.n.amount(durationMs)) return;
      const r = this.n.configured(this.n.domains.resourceTypes, resourceType);
      (this.s.resourceSyncDuration.cells as HistogramCells).record(r, durationMs);
    } catch (e) {
      this.internalError(e);
    }
  }

  recordResourceSyncFailure(peerId: string, resourceType: string, reason: unknown): void {
    try {
      const domain = this.n.domains.resourceTypes;
      const row = this.n.peers.slotOf(peerId);
      const r = this.n.configured(domain, resourceType);
      const why = this.n.folded(ENUMS.syncFailureReason, reason);
      const reasons = ENUMS.syncFailureReason.size;
      (this.s.resourceSyncFailures.cells as ScalarCells).add((row * domain.size + r) * reasons + why, 1);
    } catch (e) {
      this.internalError(e);
    }
  }

  // ---- collection ---------------------------------------------------------------------------------

  /**
   * Brings derived gauges up to date; every exporter calls it before reading the store. Once per
   * collection: the SDK runs all batch callbacks (one per group) synchronously in one pass, so a
   * flag cleared on the next microtask dedupes them, and readers collecting together share it.
   */
  prepareCollection(): void {
    if (this.preparing) return;
    this.preparing = true;
    queueMicrotask(this.endPreparation);
    for (const hook of this.collectionHooks) {
      try {
        hook();
      } catch (e) {
        this.internalError(e);
      }
    }
    try {
      const s = this.s;
      const { pooled, idle } = this.pool;
      (s.connectionsPooled.cells as ScalarCells).set(0, pooled);
      (s.connectionsIdle.cells as ScalarCells).set(0, idle);
      (s.poolUtilization.cells as ScalarCells).set(0, pooled > 0 ? Math.max(0, pooled - idle) / pooled : 0);
      (s.knownPeers.cells as ScalarCells).set(0, this.knownPeers.size);
      (s.clusterDiameter.cells as ScalarCells).set(0, this.topology.diameter());
      this.updateDistances();
      this.updateBandwidth();
    } catch (e) {
      this.internalError(e);
    }
  }

  private updateDistances(): void {
    const cells = this.s.peerDistance.cells as ScalarCells;
    cells.touched.fill(0); // peers no longer reachable stop being reported
    for (const [node, hops] of this.topology.distancesFromLocal()) cells.set(this.n.peers.slotOf(node), hops);
    const explicit = this.explicitDistance;
    for (let row = 0; row < explicit.rows; row++) {
      if (explicit.touched[row] === 1) cells.set(row, explicit.values[row] as number);
    }
  }

  private updateBandwidth(): void {
    const now = this.clock();
    const dt = now - this.bandwidthLastTime;
    if (dt < BANDWIDTH_MIN_SAMPLE_MS) return;
    this.bandwidthLastTime = now;
    const alpha = 1 - Math.exp(-dt / BANDWIDTH_TAU_MS);
    const bandwidth = this.s.bandwidth.cells as ScalarCells;
    const last = this.bandwidthLastBytes;
    const sources = [this.s.bytesReceived.cells as ScalarCells, this.s.bytesSent.cells as ScalarCells]; // inbound, outbound
    for (let d = 0; d < 2; d++) {
      const bytes = sources[d] as ScalarCells;
      for (let row = 0; row < bytes.rows; row++) {
        if (bytes.touched[row] === 0) continue;
        const cell = row * 2 + d;
        const rate = (((bytes.values[row] as number) - (last.values[cell] as number)) * 1000) / dt;
        last.set(cell, bytes.values[row] as number);
        const first = bandwidth.touched[cell] === 0;
        bandwidth.set(cell, first ? rate : (bandwidth.values[cell] as number) + alpha * (rate - (bandwidth.values[cell] as number)));
      }
    }
  }

  // ---- shared record shapes -------------------------------------------------------------------------

  private peerCount(series: MetricSeries, peerId: unknown, value: number): void {
    try {
      (series.cells as ScalarCells).add(this.n.peers.slotOf(peerId), value);
    } catch (e) {
      this.internalError(e);
    }
  }

  private peerGauge(series: MetricSeries, peerId: unknown, value: number): void {
    try {
      if (this.n.amount(value)) (series.cells as ScalarCells).set(this.n.peers.slotOf(peerId), value);
    } catch (e) {
      this.internalError(e);
    }
  }

  private peerHistogram(series: MetricSeries, peerId: unknown, value: number): void {
    try {
      if (this.n.amount(value)) (series.cells as HistogramCells).record(this.n.peers.slotOf(peerId), value);
    } catch (e) {
      this.internalError(e);
    }
  }

  private streamDelta(peerId: unknown, direction: unknown, delta: number): void {
    try {
      const d = this.n.closed(ENUMS.direction, direction);
      if (d < 0) return;
      const cells = this.s.quicStreams.cells as ScalarCells;
      const cell = this.n.peers.slotOf(peerId) * 2 + d;
      cells.add(cell, delta < 0 && (cells.values[cell] as number) <= 0 ? 0 : delta);
    } catch (e) {
      this.internalError(e);
    }
  }

  private transferDelta(resourceType: unknown, delta: number): void {
    try {
      const cells = this.s.resourceTransfersActive.cells as ScalarCells;
      const cell = this.n.configured(this.n.domains.resourceTypes, resourceType);
      cells.add(cell, delta < 0 && (cells.values[cell] as number) <= 0 ? 0 : delta);
    } catch (e) {
      this.internalError(e);
    }
  }

  /** State gauges are reported from the start, zero included, so alerts on them work at once. */
  private touchStateGauges(): void {
    const s = this.s;
    for (const series of [s.connectionsActive, s.rejectedRecords]) {
      const cells = series.cells as ScalarCells;
      for (let i = 0; i < cells.stride; i++) cells.add(i, 0);
    }
    for (const series of [s.connectionsPooled, s.connectionsIdle, s.poolUtilization, s.knownPeers, s.clusterDiameter]) {
      (series.cells as ScalarCells).set(0, 0);
    }
  }

  /** Counts input that no record method can carry (for wrappers: a malformed event). */
  protected rejectInput(reason: RejectReason): void {
    try {
      this.n.reject(reason);
    } catch (e) {
      this.internalError(e);
    }
  }

  /**
   * For instrumentations built on this monitor (the Iroh one): a failure inside their observation
   * code, counted as `internal_error` in p2p_monitor_rejected_records_total and logged to diag.
   * Never throws.
   */
  reportInternalError(error: unknown): void {
    this.internalError(error);
  }

  /** Counts and logs a failure of ours (a hook, an extractor) that the application must not see. */
  protected internalError(error: unknown): void {
    try {
      this.n.reject('internal_error');
      this._diag.error('p2p-otel: internal error while recording', error);
    } catch {
      // Reporting must not be the thing that throws into the application.
    }
  }
}
