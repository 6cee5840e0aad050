import { diag } from '@opentelemetry/api';
import type { P2pMonitor } from '../monitor/types.js';
import { ConnectionQuality, show, type ConnectionQualityOptions, type ConnectionQualitySnapshot } from './connection-quality.js';
import { PeerQualityTable } from './peer-table.js';
import { StopScope, timedPing, type PingFunction, type PingOutcome, type SignalLease } from './timed-ping.js';
import { REAL_TIMERS, schedule, type HealthCheckTimers } from './timers.js';

export interface HealthCheckerOptions {
  /** Where RTTs, ping latencies, errors and connectivity scores go. */
  monitor: P2pMonitor;
  /** The peers to check this round (the connected ones). Called once per round. */
  peers: () => Iterable<string>;
  /** Pings one peer; see {@link PingFunction}. */
  ping: PingFunction;
  /** Mean time between the end of a round and the start of the next. Default 5000 ms. */
  intervalMs?: number;
  /** Each gap is intervalMs × (1 ± jitter), uniformly: nodes started together drift apart. 0–1, default 0.1. */
  jitter?: number;
  /** A ping still pending after this long is aborted and counted as a timeout. Default 2000 ms. */
  timeoutMs?: number;
  /** Pings in flight at once within a round. Default 16. */
  concurrency?: number;
  /**
   * Whether a failed ping is also counted in p2p_connection_errors_total{error_type} (default
   * true). Turn off when `ping` goes through an instrumented transport that already counts its
   * own failures, so that one failure is not counted twice.
   */
  recordErrors?: boolean;
  /** A peer missing from `peers()` for this many consecutive rounds is forgotten. Default 3. */
  forgetAfterRounds?: number;
  /** Peers checked and tracked at most (the first ones `peers()` yields). Default 10,000. */
  maxPeers?: number;
  /** Window, moving average and score settings of every peer's ConnectionQuality. */
  quality?: ConnectionQualityOptions;
  /** Measures RTTs. Default: timers.now when timers are given, else the monitor's clock, else performance.now. */
  clock?: () => number;
  /** Default: the real timers (unref'd). Inject virtual ones to drive the checker in simulation. */
  timers?: HealthCheckTimers;
  /** Uniform in [0, 1), for jitter. Default Math.random. */
  random?: () => number;
}

/** Quality inputs measured elsewhere (QUIC stats, bandwidth averages). */
export interface QualitySample {
  lossRatio?: number;
  bytesPerSecond?: number;
}

type Problem = 'peers' | 'peer_id' | 'max_peers' | 'monitor' | 'random' | 'feed' | 'round';
const PROBLEMS: { readonly [P in Problem]: string } = {
  peers: 'peers() threw or did not return an iterable; the round was skipped',
  peer_id: 'peers() yielded a value that is not a non-empty string; it was skipped',
  max_peers: 'peers() yielded more than maxPeers peers; the rest were not checked',
  monitor: 'the monitor threw',
  random: 'random() threw',
  feed: 'feed() got an invalid sample',
  round: 'internal error during a round',
};

/**
 * The design's P2pHealthChecker: pings every connected peer each interval, records RTT
 * (p2p_rtt_milliseconds, p2p_ping_latency_milliseconds), failures (p2p_connection_errors_total)
 * and each peer's ConnectionQuality score (p2p_peer_connectivity_score). Never throws into the
 * application once constructed; its timers never keep the process alive.
 *
 * @example
 *   const checker = new P2pHealthChecker({
 *     monitor: p2p,
 *     peers: () => node.connectedPeerIds(),
 *     ping: (peer, signal) => node.ping(peer, { signal }),
 *   });
 *   checker.start();
 *   // on shutdown:
 *   checker.stop();
 */
export class P2pHealthChecker {
  private readonly monitor: P2pMonitor;
  private readonly peers: () => Iterable<string>;
  private readonly ping: PingFunction;
  private readonly intervalMs: number;
  private readonly jitter: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly recordErrors: boolean;
  private readonly maxPeers: number;
  private readonly timers: HealthCheckTimers;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly table: PeerQualityTable;
  private readonly warned = new Set<Problem>();
  /** Replaced at each stop(): aborting it ends every ping of the rounds started before. */
  private stopScope = new StopScope();
  private active = false;
  private timer: { handle: unknown } | undefined;
  private round: Promise<void> | undefined;
  /** The abort controllers of the worker slots (at most `concurrency`), kept across rounds. */
  private readonly leases: SignalLease[] = [];

  /** Throws a TypeError naming the option when the configuration is invalid. */
  constructor(options: HealthCheckerOptions) {
    const o = options ?? ({} as HealthCheckerOptions);
    if (typeof o.monitor !== 'object' || o.monitor === null) throw new TypeError('p2p-otel: P2pHealthChecker needs a monitor');
    if (typeof o.peers !== 'function') throw new TypeError('p2p-otel: P2pHealthChecker peers must be a function');
    if (typeof o.ping !== 'function') throw new TypeError('p2p-otel: P2pHealthChecker ping must be a function');
    this.monitor = o.monitor;
    this.peers = o.peers;
    this.ping = o.ping;
    this.intervalMs = check('intervalMs', o.intervalMs, 5000, (v) => v > 0 && v < Infinity);
    this.jitter = check('jitter', o.jitter, 0.1, (v) => v >= 0 && v <= 1);
    this.timeoutMs = check('timeoutMs', o.timeoutMs, 2000, (v) => v > 0 && v < Infinity);
    this.concurrency = check('concurrency', o.concurrency, 16, isPositiveInteger);
    const forgetAfterRounds = check('forgetAfterRounds', o.forgetAfterRounds, 3, isPositiveInteger);
    this.maxPeers = check('maxPeers', o.maxPeers, 10_000, isPositiveInteger);
    this.recordErrors = o.recordErrors ?? true;
    const qualityOptions = { ...o.quality };
    new ConnectionQuality(qualityOptions); // fail now, not at the first round
    this.table = new PeerQualityTable(qualityOptions, forgetAfterRounds, this.maxPeers);
    this.timers = o.timers ?? REAL_TIMERS;
    const now = o.clock ?? (o.timers !== undefined ? () => this.timers.now() : (clockOf(o.monitor) ?? REAL_TIMERS.now));
    this.now = () => {
      try {
        return now();
      } catch {
        return NaN; // the RTT becomes invalid and the monitor counts it; the ping still settles
      }
    };
    this.random = o.random ?? Math.random;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.active;
  }

  /** Peers whose quality is currently tracked (≤ maxPeers). */
  get trackedPeers(): number {
    return this.table.size;
  }

  /**
   * Starts periodic rounds; the first one comes one jittered interval from now (call checkNow()
   * for one at once). A no-op when already running.
   */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.scheduleNext();
  }

  /**
   * Stops the rounds: clears the timer, aborts every ping in flight (their results are discarded)
   * and settles pending checkNow() promises. Idempotent; start() may be called again. Quality
   * state is kept.
   */
  stop(): void {
    this.active = false;
    if (this.timer !== undefined) {
      this.clearTimer(this.timer.handle);
      this.timer = undefined;
    }
    const stopping = this.stopScope;
    this.stopScope = new StopScope();
    this.round = undefined;
    stopping.abort();
  }

  /**
   * One round now: pings every peer and records the results. Resolves when the round ends (never
   * rejects). While a round is in flight, returns that round instead of starting another.
   */
  checkNow(): Promise<void> {
    if (this.round !== undefined) return this.round;
    const round: Promise<void> = this.runRound(this.stopScope).then(
      () => this.endRound(round),
      (e: unknown) => {
        this.report('round', e);
        this.endRound(round);
      },
    );
    this.round = round;
    return round;
  }

  /**
   * Feeds quality inputs measured elsewhere; they count from the next ping's score on. Nothing is
   * recorded to the monitor (the feeder reports its own metrics). Invalid values are ignored; a
   * new peer is not tracked when maxPeers are.
   */
  feed(peerId: string, sample: QualitySample): void {
    try {
      if (typeof peerId !== 'string' || peerId === '') return;
      const quality = this.table.getOrTrack(peerId);
      if (quality === undefined) return;
      const { lossRatio, bytesPerSecond } = sample;
      if (lossRatio !== undefined) quality.recordLoss(lossRatio);
      if (bytesPerSecond !== undefined) quality.recordBandwidth(bytesPerSecond);
    } catch (e) {
      this.report('feed', e);
    }
  }

  /** A copy of the peer's quality, or undefined when it is not tracked. */
  quality(peerId: string): ConnectionQualitySnapshot | undefined {
    return this.table.get(peerId)?.snapshot();
  }

  private scheduleNext(): void {
    const scope = this.stopScope;
    const timer: { handle: unknown } = { handle: undefined };
    const fire = (): void => {
      if (this.timer === timer) this.timer = undefined;
      void this.checkNow().then(() => {
        // A stop() (and maybe a start()) since this timer was set owns the schedule now.
        if (this.active && this.timer === undefined && scope === this.stopScope) this.scheduleNext();
      });
    };
    try {
      timer.handle = schedule(this.timers, fire, this.nextDelay());
      this.timer = timer;
    } catch (e) {
      this.report('round', e); // injected timers that throw: no more rounds, but no throw either
    }
  }

  private nextDelay(): number {
    let r = 0.5;
    try {
      r = this.random();
    } catch (e) {
      this.report('random', e);
    }
    if (!(r >= 0 && r <= 1)) r = 0.5; // NaN or out of range: no jitter rather than a broken delay
    return this.intervalMs * (1 + this.jitter * (2 * r - 1));
  }

  private async runRound(stop: StopScope): Promise<void> {
    const peers = this.collectPeers();
    if (peers === undefined || stop.aborted) return;
    this.table.beginRound(peers);
    let next = 0;
    const options = { timeoutMs: this.timeoutMs, timers: this.timers, now: this.now, stop };
    const worker = async (_: unknown, slot: number): Promise<void> => {
      // Worker `slot` of every round pings one peer after the other, and rounds never overlap: its
      // pings share a signal until one is aborted.
      const lease = (this.leases[slot] ??= { controller: undefined });
      while (next < peers.length && !stop.aborted) {
        const peerId = peers[next++] as string;
        const outcome = await timedPing(this.ping, peerId, options, lease);
        if (outcome.kind !== 'stopped' && !stop.aborted) this.apply(peerId, outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, peers.length) }, worker));
  }

  private endRound(round: Promise<void>): void {
    if (this.round === round) this.round = undefined;
  }

  /** The distinct valid peer ids, at most maxPeers; undefined when peers() failed. */
  private collectPeers(): string[] | undefined {
    const seen = new Set<string>();
    try {
      for (const peerId of this.peers()) {
        if (typeof peerId !== 'string' || peerId === '') {
          this.report('peer_id', peerId);
        } else if (!seen.has(peerId)) {
          if (seen.size === this.maxPeers) {
            this.report('max_peers', undefined);
            break;
          }
          seen.add(peerId);
        }
      }
    } catch (e) {
      // A half-read list would age out peers that are still connected: skip the round instead.
      this.report('peers', e);
      return undefined;
    }
    return [...seen];
  }

  private apply(peerId: string, outcome: Exclude<PingOutcome, { kind: 'stopped' }>): void {
    const quality = this.table.getOrTrack(peerId);
    const m = this.monitor;
    if (outcome.kind === 'success') {
      const rtt = outcome.rttMs;
      quality?.recordSuccess(rtt);
      // An invalid number returned by ping() goes to the monitor as is: it counts the rejection.
      this.safely(() => m.recordRtt(peerId, rtt));
      this.safely(() => m.recordPingLatency(peerId, rtt));
    } else {
      quality?.recordFailure();
      if (this.recordErrors) this.safely(() => m.recordError(peerId, outcome.errorType));
    }
    if (quality !== undefined) this.safely(() => m.recordConnectivityScore(peerId, quality.score()));
  }

  private safely(record: () => void): void {
    try {
      record();
    } catch (e) {
      this.report('monitor', e);
    }
  }

  private clearTimer(handle: unknown): void {
    try {
      this.timers.clearTimeout(handle);
    } catch (e) {
      this.report('round', e);
    }
  }

  /** The first occurrence of each problem is a warning, later ones debug: a bad peers() must not flood logs. */
  private report(problem: Problem, detail: unknown): void {
    try {
      const message = `p2p-otel: health checker: ${PROBLEMS[problem]}`;
      if (this.warned.has(problem)) {
        diag.debug(message, detail);
      } else {
        this.warned.add(problem);
        diag.warn(`${message} (further ones are logged at debug level)`, detail);
      }
    } catch {
      // Reporting must not be what throws into the application.
    }
  }
}

function check(name: string, value: number | undefined, fallback: number, valid: (v: number) => boolean): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !valid(v)) throw new TypeError(`p2p-otel: P2pHealthChecker ${name} is invalid (got ${show(value)})`);
  return v;
}

function isPositiveInteger(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

/** OtelP2pMonitor (and P2pInstrumentation) carry the clock every other duration is measured with. */
function clockOf(monitor: P2pMonitor): (() => number) | undefined {
  const clock = (monitor as { clock?: unknown }).clock;
  return typeof clock === 'function' ? () => (clock as () => number).call(monitor) : undefined;
}
