import { diag } from '@opentelemetry/api';
import {
  ATTEMPT_RESULTS,
  BREAKER_STATES,
  CONNECTION_STATES,
  DIRECTIONS,
  DISCOVERY_FAILURE_REASONS,
  DISCOVERY_METHODS,
  ERROR_TYPES,
  EVICTION_REASONS,
  REJECT_REASONS,
  SYNC_FAILURE_REASONS,
  type RejectReason,
} from '../schema/label-values.js';
import { PeerLabels, resolvePeerLabelOptions, type PeerLabelOptions } from '../labels/peer-labels.js';
import { ValueIndex } from '../labels/value-index.js';
import type { ConfiguredDomain } from '../schema/types.js';
import type { ParamKind } from './types.js';

export interface LabelOptions {
  peerId?: PeerLabelOptions;
  /** Message types, as a closed set; omitted: the first 16 seen, then `other`. */
  messageTypes?: readonly string[];
  /** Resource types, as a closed set; omitted: the first 16 seen, then `other`. */
  resourceTypes?: readonly string[];
  /** ALPN protocols, as a closed set; omitted: the first 8 seen, then `other`. */
  protocolVersions?: readonly string[];
}

/**
 * Largest amount (bytes, duration, count) a record accepts: 2^53 - 1. Larger finite values (up to
 * 1.8e308) are accepted by no real measurement, and two of them summed overflow a counter or a
 * histogram sum to Infinity for good. Below this bound a sum cannot overflow in any realistic
 * number of records.
 */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

const LEARNED: Record<ConfiguredDomain, number> = { messageTypes: 16, resourceTypes: 16, protocolVersions: 8 };

/** Closed label sets used for validation, shared with the store so one index serves both. */
export const ENUMS = {
  attemptResult: new ValueIndex(ATTEMPT_RESULTS),
  connectionState: new ValueIndex(CONNECTION_STATES),
  breakerState: new ValueIndex(BREAKER_STATES),
  direction: new ValueIndex(DIRECTIONS),
  errorType: new ValueIndex(ERROR_TYPES),
  discoveryMethod: new ValueIndex(DISCOVERY_METHODS),
  discoveryFailureReason: new ValueIndex(DISCOVERY_FAILURE_REASONS),
  evictionReason: new ValueIndex(EVICTION_REASONS),
  syncFailureReason: new ValueIndex(SYNC_FAILURE_REASONS),
} as const;

/**
 * Turns raw record arguments into dense indexes, counting every drop and fold. Shared by every
 * monitor so that they all accept, fold and reject exactly the same inputs.
 */
export class InputNormalizer {
  readonly peers: PeerLabels;
  readonly domains: Record<ConfiguredDomain, ValueIndex>;
  readonly rejected = new Float64Array(REJECT_REASONS.length);
  private readonly warned = new Uint8Array(REJECT_REASONS.length);
  private readonly onReject: ((reasonIndex: number) => void) | undefined;

  constructor(options: LabelOptions, onNewPeerSlot: (slot: number) => void, onReject?: (reasonIndex: number) => void) {
    this.onReject = onReject;
    this.peers = new PeerLabels(resolvePeerLabelOptions(options.peerId), (r) => this.reject(r), onNewPeerSlot);
    this.domains = {
      messageTypes: configured('messageTypes', options.messageTypes),
      resourceTypes: configured('resourceTypes', options.resourceTypes),
      protocolVersions: configured('protocolVersions', options.protocolVersions),
    };
  }

  reject(reason: RejectReason): void {
    const i = REJECT_INDEX[reason];
    this.rejected[i] = (this.rejected[i] as number) + 1;
    if (this.onReject !== undefined) this.onReject(i);
    if (this.warned[i] === 0) {
      this.warned[i] = 1;
      diag.warn(`p2p-otel: rejected a record (${reason}); further ones are counted in p2p_monitor_rejected_records_total`);
    }
  }

  /** A number from 0 to MAX_AMOUNT, else counts and returns false: the caller drops the record. */
  amount(value: unknown): boolean {
    if (typeof value === 'number' && value >= 0 && value <= MAX_AMOUNT) return true;
    this.reject(typeof value === 'number' && value < 0 && value > -Infinity ? 'negative' : 'invalid_number');
    return false;
  }

  /** A ratio in [0, 1]: above 1 is clamped (and counted); -1 means drop. */
  ratio(value: unknown): number {
    if (!this.amount(value)) return -1;
    if ((value as number) > 1) {
      this.reject('invalid_number');
      return 1;
    }
    return value as number;
  }

  /** Index in a set without `other`; -1 (counted) drops the record. */
  closed(index: ValueIndex, value: unknown): number {
    const i = index.indexOf(value);
    if (i < 0) this.reject('unknown_value');
    return i;
  }

  /** Index in a set with `other`; unknown values fold into it, counted. */
  folded(index: ValueIndex, value: unknown): number {
    const i = index.indexOf(value);
    if (i >= 0) return i;
    this.reject('unknown_value');
    return index.otherIndex;
  }

  /** Index in an application-configured set: unknown strings fold silently, non-strings counted. */
  configured(index: ValueIndex, value: unknown): number {
    const i = index.indexOf(value);
    if (i >= 0) return i;
    if (typeof value !== 'string') this.reject('unknown_value');
    return index.otherIndex;
  }

  attemptResult(value: unknown): number {
    if (value === true) return 0;
    if (value === false) return 1;
    return this.closed(ENUMS.attemptResult, value);
  }

  /**
   * Validates arguments by their declared kinds (see RECORD_METHODS): the generic form of what
   * each OtelP2pMonitor method does inline. Returns false when the record is dropped.
   */
  validate(kinds: readonly ParamKind[], args: readonly unknown[]): boolean {
    for (let i = 0; i < kinds.length; i++) if (!this.dropCheck(kinds[i] as ParamKind, args[i])) return false;
    for (let i = 0; i < kinds.length; i++) this.foldCheck(kinds[i] as ParamKind, args[i]);
    return true;
  }

  private dropCheck(kind: ParamKind, value: unknown): boolean {
    switch (kind) {
      case 'amount':
        return this.amount(value);
      case 'optionalAmount':
        return value === undefined || this.amount(value);
      case 'ratio':
        return this.ratio(value) >= 0;
      case 'attemptResult':
        return this.attemptResult(value) >= 0;
      case 'connectionState':
      case 'breakerState':
      case 'direction':
        return this.closed(ENUMS[kind], value) >= 0;
      case 'optionalDirection':
        return value === undefined || this.closed(ENUMS.direction, value) >= 0;
      case 'boolean':
        if (typeof value === 'boolean') return true;
        this.reject('unknown_value');
        return false;
      default:
        return true;
    }
  }

  private foldCheck(kind: ParamKind, value: unknown): void {
    switch (kind) {
      case 'peer':
        this.peers.slotOf(value);
        return;
      case 'peerRef':
        this.peers.check(value);
        return;
      case 'errorType':
      case 'discoveryMethod':
      case 'discoveryFailureReason':
      case 'evictionReason':
      case 'syncFailureReason':
        this.folded(ENUMS[kind], value);
        return;
      case 'messageType':
        this.configured(this.domains.messageTypes, value);
        return;
      case 'resourceType':
        this.configured(this.domains.resourceTypes, value);
        return;
      case 'protocolVersion':
        this.configured(this.domains.protocolVersions, value);
        return;
      default:
        return;
    }
  }
}

export const REJECT_INDEX = Object.fromEntries(REJECT_REASONS.map((r, i) => [r, i])) as Record<RejectReason, number>;

function configured(domain: ConfiguredDomain, values: readonly string[] | undefined): ValueIndex {
  if (values === undefined) return new ValueIndex([], LEARNED[domain]);
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new TypeError(`p2p-otel: ${domain} must be an array of non-empty strings`);
  }
  return new ValueIndex([...values, 'other']);
}
