/**
 * Connection quality of one peer: the design's `ConnectionQuality` (success rate, moving-average
 * RTT, packet loss, bandwidth) and the weighted 0–1 score published as
 * `p2p_peer_connectivity_score`. Weights, transforms and their reasons: docs/instrumentation/health.md.
 */

/** Relative importance of each factor; only their ratios matter (see {@link scoreQuality}). */
export interface QualityWeights {
  readonly successRate: number;
  readonly rtt: number;
  readonly loss: number;
  readonly bandwidth: number;
}

/**
 * Success rate first: whether the peer answers at all is what "connectivity" means. Latency next,
 * then loss (mostly already visible as failed pings and higher RTT), bandwidth last because an
 * observed rate measures the application's demand as much as the link's capacity.
 */
export const DEFAULT_QUALITY_WEIGHTS: QualityWeights = Object.freeze({ successRate: 0.4, rtt: 0.3, loss: 0.2, bandwidth: 0.1 });

/** How the score is computed from the inputs. */
export interface QualityScoreOptions {
  /** RTT at which the RTT factor is 0.5: factor = 1 / (1 + rtt / rttHalfScoreMs). Default 100 ms. */
  rttHalfScoreMs?: number;
  /** Loss ratio at which the loss factor reaches 0: factor = 1 - min(1, loss / this). Default 0.1. */
  lossZeroScoreRatio?: number;
  /**
   * Rate at which the bandwidth factor saturates at 1:
   * factor = min(1, log10(1 + bw) / log10(1 + reference)). Default 1,000,000 bytes/s.
   */
  bandwidthReferenceBytesPerSecond?: number;
  /** Missing weights take their defaults. Each must be finite and ≥ 0, their sum > 0. */
  weights?: Partial<QualityWeights>;
}

export interface ConnectionQualityOptions extends QualityScoreOptions {
  /** Outcomes (ping successes and failures) the success rate is computed over. Default 20. */
  window?: number;
  /** Weight of each new RTT sample in the moving average (0 < α ≤ 1). Default 0.125, as TCP's SRTT. */
  rttAlpha?: number;
}

/**
 * The score's inputs. `undefined` or NaN means "unknown": that factor is left out and the other
 * weights renormalised. Other values are sanitised, never rejected: the success rate and the loss
 * are clamped to [0, 1], a negative RTT or bandwidth counts as 0, +Infinity RTT gives the RTT
 * factor 0 and +Infinity bandwidth the bandwidth factor 1 (their limits).
 */
export interface QualityInputs {
  /** Fraction of recent outcomes that succeeded, 0–1. */
  readonly successRate?: number | undefined;
  /** Moving-average round-trip time, milliseconds. */
  readonly avgRttMs?: number | undefined;
  /** Packet loss ratio, 0–1. */
  readonly packetLoss?: number | undefined;
  /** Estimated bandwidth, bytes per second. */
  readonly bandwidthBytesPerSecond?: number | undefined;
}

/** A point-in-time copy of a peer's quality. */
export interface ConnectionQualitySnapshot extends QualityInputs {
  /** Outcomes currently in the success-rate window (0 until the first ping ends). */
  readonly samples: number;
  readonly score: number;
}

/** Options resolved and validated once, shared by every peer's ConnectionQuality. */
interface ScoreModel {
  readonly rttHalfScoreMs: number;
  readonly lossZeroScoreRatio: number;
  readonly logBandwidthReference: number;
  readonly weights: QualityWeights;
}

const MAX_WINDOW = 1024;

/**
 * The weighted average of the known factors, in [0, 1]; 0 when no input is known (a peer that has
 * shown nothing has not shown connectivity). Every factor is monotone in its input and the weights
 * are fixed, so improving one input never lowers the score.
 *
 * @example
 *   scoreQuality({ successRate: 1, avgRttMs: 100 }); // (0.4·1 + 0.3·0.5) / 0.7 ≈ 0.786
 */
export function scoreQuality(inputs: QualityInputs, options: QualityScoreOptions = {}): number {
  return computeScore(inputs, resolveScoreModel(options));
}

/**
 * One peer's quality accumulator. The success rate is over a fixed window of the last `window`
 * outcomes (exact and easy to read: "17 of the last 20 pings"); the RTT is an exponentially
 * weighted moving average of successful pings only (a failure is already in the success rate, so
 * it adds no RTT sample); loss and bandwidth are the latest values fed in, as their sources (QUIC
 * stats, the monitor's bandwidth average) are already smoothed. Memory is O(window).
 */
export class ConnectionQuality {
  private readonly model: ScoreModel;
  private readonly alpha: number;
  /** Ring of the last outcomes: 1 success, 0 failure. */
  private readonly outcomes: Uint8Array;
  private next = 0;
  private count = 0;
  private successes = 0;
  private rtt: number | undefined;
  private loss: number | undefined;
  private bandwidth: number | undefined;

  constructor(options: ConnectionQualityOptions = {}) {
    this.model = resolveScoreModel(options);
    const window = options.window ?? 20;
    if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
      throw new TypeError(`p2p-otel: ConnectionQuality window must be an integer from 1 to ${MAX_WINDOW} (got ${show(window)})`);
    }
    this.alpha = options.rttAlpha ?? 0.125;
    if (!(typeof this.alpha === 'number' && this.alpha > 0 && this.alpha <= 1)) {
      throw new TypeError(`p2p-otel: ConnectionQuality rttAlpha must be in (0, 1] (got ${show(options.rttAlpha)})`);
    }
    this.outcomes = new Uint8Array(window);
  }

  /**
   * A successful exchange. The RTT sample joins the moving average only if it is a finite number
   * ≥ 0 (the outcome still counts as a success otherwise); the first sample starts the average.
   */
  recordSuccess(rttMs?: number): void {
    this.push(1);
    if (typeof rttMs === 'number' && rttMs >= 0 && rttMs < Infinity) {
      this.rtt = this.rtt === undefined ? rttMs : this.rtt + this.alpha * (rttMs - this.rtt);
    }
  }

  /** A failed or timed-out exchange. */
  recordFailure(): void {
    this.push(0);
  }

  /** Latest packet loss ratio; above 1 counts as 1; NaN, infinite or negative values are ignored. */
  recordLoss(ratio: number): void {
    if (typeof ratio === 'number' && ratio >= 0 && ratio < Infinity) this.loss = Math.min(1, ratio);
  }

  /** Latest bandwidth estimate in bytes/s; NaN, infinite or negative values are ignored. */
  recordBandwidth(bytesPerSecond: number): void {
    if (typeof bytesPerSecond === 'number' && bytesPerSecond >= 0 && bytesPerSecond < Infinity) this.bandwidth = bytesPerSecond;
  }

  /** Successes / outcomes over the window; undefined before the first outcome. */
  get successRate(): number | undefined {
    return this.count === 0 ? undefined : this.successes / this.count;
  }

  get avgRttMs(): number | undefined {
    return this.rtt;
  }

  get packetLoss(): number | undefined {
    return this.loss;
  }

  get bandwidthBytesPerSecond(): number | undefined {
    return this.bandwidth;
  }

  /** Outcomes in the window (≤ window). */
  get samples(): number {
    return this.count;
  }

  /** See {@link scoreQuality}. */
  score(): number {
    return computeScore(this, this.model);
  }

  snapshot(): ConnectionQualitySnapshot {
    return {
      successRate: this.successRate,
      avgRttMs: this.rtt,
      packetLoss: this.loss,
      bandwidthBytesPerSecond: this.bandwidth,
      samples: this.count,
      score: this.score(),
    };
  }

  private push(outcome: 0 | 1): void {
    if (this.count === this.outcomes.length) this.successes -= this.outcomes[this.next] as number;
    else this.count++;
    this.outcomes[this.next] = outcome;
    this.successes += outcome;
    this.next = (this.next + 1) % this.outcomes.length;
  }
}

function computeScore(inputs: QualityInputs, m: ScoreModel): number {
  let sum = 0;
  let weight = 0;
  const s = inputs.successRate;
  if (known(s)) {
    sum += m.weights.successRate * clamp01(s);
    weight += m.weights.successRate;
  }
  const rtt = inputs.avgRttMs;
  if (known(rtt)) {
    // Decreasing from 1 at 0 ms towards 0; 1/(1+x) never hits 0, so slow peers still rank.
    sum += m.weights.rtt * (1 / (1 + Math.max(0, rtt) / m.rttHalfScoreMs));
    weight += m.weights.rtt;
  }
  const loss = inputs.packetLoss;
  if (known(loss)) {
    sum += m.weights.loss * (1 - Math.min(1, clamp01(loss) / m.lossZeroScoreRatio));
    weight += m.weights.loss;
  }
  const bw = inputs.bandwidthBytesPerSecond;
  if (known(bw)) {
    // Logarithmic: each decade of bandwidth is worth the same, until the reference saturates it.
    sum += m.weights.bandwidth * Math.min(1, Math.log10(1 + Math.max(0, bw)) / m.logBandwidthReference);
    weight += m.weights.bandwidth;
  }
  // A weight of 0 makes a known factor count for nothing; all weights 0 is the same as unknown.
  return weight > 0 ? clamp01(sum / weight) : 0;
}

function known(x: number | undefined): x is number {
  return typeof x === 'number' && !Number.isNaN(x);
}

function clamp01(x: number): number {
  return x > 1 ? 1 : x > 0 ? x : 0;
}

function resolveScoreModel(o: QualityScoreOptions): ScoreModel {
  const rttHalfScoreMs = positive('rttHalfScoreMs', o.rttHalfScoreMs, 100);
  const lossZeroScoreRatio = positive('lossZeroScoreRatio', o.lossZeroScoreRatio, 0.1);
  if (lossZeroScoreRatio > 1) throw new TypeError(`p2p-otel: lossZeroScoreRatio must be in (0, 1] (got ${lossZeroScoreRatio})`);
  const reference = positive('bandwidthReferenceBytesPerSecond', o.bandwidthReferenceBytesPerSecond, 1_000_000);
  const weights = { ...DEFAULT_QUALITY_WEIGHTS, ...definedOnly(o.weights) };
  for (const [name, w] of Object.entries(weights)) {
    if (!(typeof w === 'number' && w >= 0 && w < Infinity)) throw new TypeError(`p2p-otel: weights.${name} must be a finite number ≥ 0 (got ${show(w)})`);
  }
  if (weights.successRate + weights.rtt + weights.loss + weights.bandwidth <= 0) {
    throw new TypeError('p2p-otel: at least one quality weight must be above 0');
  }
  return { rttHalfScoreMs, lossZeroScoreRatio, logBandwidthReference: Math.log10(1 + reference), weights };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  // typeof first: a BigInt passes the comparisons and fails later, in arithmetic; a Symbol throws in them.
  if (!(typeof v === 'number' && v > 0 && v < Infinity)) throw new TypeError(`p2p-otel: ${name} must be a finite number above 0 (got ${show(value)})`);
  return v;
}

/** `{ rtt: undefined }` must mean "default", not erase the default with undefined. */
function definedOnly(weights: Partial<QualityWeights> | undefined): Partial<QualityWeights> {
  return Object.fromEntries(Object.entries(weights ?? {}).filter(([, w]) => w !== undefined));
}

/** An option value in an error message: never throws (String() does on a Symbol-less null-prototype object). */
export function show(value: unknown): string {
  try {
    return typeof value === 'symbol' ? value.toString() : String(value);
  } catch {
    return `[unprintable ${typeof value}]`;
  }
}
