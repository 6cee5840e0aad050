/**
 * Fuzzing every record method of OtelP2pMonitor (the P2pMonitor interface) with hostile arguments,
 * RUNS cases per method. Properties:
 * - a record method never throws and returns undefined, whatever it is given (arity too);
 * - it rejects exactly what the reference model (RecordingP2pMonitor: the generic validation by
 *   parameter kinds) rejects, reason by reason, so p2p_monitor_rejected_records_total is consistent;
 *   internal_error never moves (a hostile argument is bad input, never a failure of ours);
 * - what is exported stays in documented ranges: counters finite and >= 0, histogram counts equal
 *   to their bucket sums, ratios in [0, 1], state sets one-hot, peer labels within the budget and
 *   never addresses, and the exported rejected-records counter equals rejectedRecords().
 */
import fc from 'fast-check';
import {
  METRICS,
  OtelP2pMonitor,
  P2pInstrumentation,
  RECORD_METHODS,
  RecordingP2pMonitor,
  instrumentName,
  looksLikeAddress,
  type LabelOptions,
  type P2pMetricProducer,
  type RecordMethod,
} from '../../src/index.js';
import { VALID } from '../support/arbitraries.js';
import { hostileFast as hostile, RUNS } from './hostile.js';

// 10,000 cases per property: generous room on a loaded machine (Jest's default is 30 s per test).
jest.setTimeout(120_000);

const METHODS = Object.keys(RECORD_METHODS) as RecordMethod[];
const MAX_PEERS = 8;
const LABELS: LabelOptions = { messageTypes: ['raft', 'gossip', 'sync', 'ping'], resourceTypes: ['blob', 'vm_image'], protocolVersions: ['p2p/1', 'p2p/2'] };
/** Checks the export every this many runs (and at the end): collection is the costly part. */
const COLLECT_EVERY = 500;

type Fn = (...a: unknown[]) => unknown;
const call = (m: object, method: string, args: unknown[]): unknown => (m as Record<string, Fn>)[method]!(...args);

/** Each argument valid for its kind or hostile; the arity sometimes short, sometimes long. */
function args(method: RecordMethod): fc.Arbitrary<unknown[]> {
  const kinds = RECORD_METHODS[method];
  return fc
    .tuple(fc.tuple(...kinds.map((k) => fc.oneof(VALID[k], hostile))), fc.array(hostile, { maxLength: 2 }), fc.nat({ max: kinds.length + 2 }))
    .map(([given, extra, cut]) => (cut >= kinds.length ? [...given, ...extra.slice(0, cut - kinds.length)] : given.slice(0, cut)));
}

const RATIO_METRICS = new Set([METRICS.connectivityScore, METRICS.quicPacketLoss, METRICS.poolUtilization].map((d) => instrumentName(d)));
const ONE_HOT = new Set([instrumentName(METRICS.circuitBreakerState)]);
const BINARY = new Set([instrumentName(METRICS.protocolVersion)]);
const REJECTED = instrumentName(METRICS.rejectedRecords);

/** Every exported point within its documented range; returns the exported rejected counts. */
function checkExport(producer: P2pMetricProducer, maxPeers: number): Record<string, number> {
  // Plain checks: this walks thousands of points, expect() per point would dominate the run.
  const { resourceMetrics, errors } = producer.collectSync();
  if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
  const peerLabels = new Set<unknown>();
  const rejected: Record<string, number> = {};
  for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
    const name = metric.descriptor.name;
    const breakerStates = new Map<unknown, number>();
    for (const point of metric.dataPoints) {
      for (const [key, value] of Object.entries(point.attributes)) {
        if (typeof value !== 'string') throw new Error(`${name}: attribute ${key} is ${typeof value}`);
        if (key === 'peer_id') {
          peerLabels.add(value);
          if (looksLikeAddress(value as string)) throw new Error(`${name}: peer_id label ${JSON.stringify(value)} is an address`);
        }
      }
      if (metric.dataPointType === 0) {
        const h = point.value as { count: number; sum: number; min: number; max: number; buckets: { counts: number[] } };
        const total = h.buckets.counts.reduce((a, b) => a + b, 0);
        if (!(h.count === total && h.count > 0 && Number.isFinite(h.sum) && h.sum >= 0 && h.min >= 0 && h.min <= h.max && Number.isFinite(h.max))) {
          throw new Error(`${name}: histogram point out of range ${JSON.stringify(h)}`);
        }
        continue;
      }
      const v = point.value as number;
      if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${name}${JSON.stringify(point.attributes)} = ${v}: not a finite number >= 0`);
      if (RATIO_METRICS.has(name) && v > 1) throw new Error(`${name} = ${v} above 1`);
      if (BINARY.has(name) && v !== 0 && v !== 1) throw new Error(`${name} = ${v}, expected 0 or 1`);
      if (ONE_HOT.has(name)) breakerStates.set(point.attributes['peer_id'], (breakerStates.get(point.attributes['peer_id']) ?? 0) + v);
      if (name === REJECTED) rejected[point.attributes['reason'] as string] = v;
    }
    for (const [peer, ones] of breakerStates) if (ones !== 1) throw new Error(`${name}{peer_id=${String(peer)}}: ${ones} states at 1`);
  }
  // The budget plus `other`.
  if (peerLabels.size > maxPeers + 1) throw new Error(`${peerLabels.size} peer labels for a budget of ${maxPeers}`);
  return rejected;
}

describe(`every record method, ${RUNS} hostile calls each`, () => {
  const otel = new OtelP2pMonitor({ ...LABELS, peerId: { maxPeers: MAX_PEERS } });
  const producer = otel.createMetricProducer();
  const model = new RecordingP2pMonitor({ ...LABELS, peerId: { maxPeers: MAX_PEERS } });

  it.each(METHODS)('%s', (method) => {
    let runs = 0;
    fc.assert(
      fc.property(args(method), (a) => {
        // Plain checks in the loop: expect() costs more than the call under test.
        const returned = call(otel, method, a);
        if (returned !== undefined) throw new Error(`returned ${String(returned)}`);
        call(model, method, a);
        model.calls.length = 0; // the model keeps every call: only its counts matter here
        // Both saw the same calls from zero: equal counts after every call.
        const counts = otel.rejectedRecords();
        const expected = model.rejectedRecords();
        for (const reason in counts) {
          if (counts[reason] !== expected[reason]) throw new Error(`${reason}: ${counts[reason]} vs the model's ${expected[reason]}`);
        }
        if (++runs % COLLECT_EVERY === 0) checkExport(producer, MAX_PEERS);
      }),
      { numRuns: RUNS },
    );
    expect(otel.rejectedRecords()['internal_error']).toBe(0);
    expect(checkExport(producer, MAX_PEERS)).toEqual(otel.rejectedRecords());
  });

  it('a disabled monitor ignores every call, hostile or not, and exports what it had', () => {
    const inst = new P2pInstrumentation({ ...LABELS, peerId: { maxPeers: MAX_PEERS }, clock: () => 1_700_000_000_000 }); // a fixed clock: derived gauges stay put
    const p = inst.createMetricProducer();
    inst.recordMessage('peerA1b2c3d4e5f6', 'raft', 10);
    inst.disable();
    const before = checkExport(p, MAX_PEERS);
    const snapshot = JSON.stringify(p.collectSync().resourceMetrics.scopeMetrics[0]!.metrics.map((m) => m.dataPoints.map((d) => [d.attributes, d.value])));
    fc.assert(
      fc.property(
        fc.constantFrom(...METHODS).chain((m) => fc.tuple(fc.constant(m), args(m))),
        ([method, a]) => call(inst, method, a) === undefined,
      ),
      { numRuns: RUNS },
    );
    expect(checkExport(p, MAX_PEERS)).toEqual(before);
    expect(JSON.stringify(p.collectSync().resourceMetrics.scopeMetrics[0]!.metrics.map((m) => m.dataPoints.map((d) => [d.attributes, d.value])))).toBe(snapshot);
  });
});

describe('found by this suite', () => {
  it('an amount above 2^53 - 1 is rejected as invalid_number: two of them no longer sum to Infinity', () => {
    const m = new OtelP2pMonitor();
    const p = m.createMetricProducer();
    for (let i = 0; i < 2; i++) {
      m.recordMessage('peerA1b2c3d4e5f6', 'raft', Number.MAX_VALUE);
      m.recordBytesTransferred('peerA1b2c3d4e5f6', 'outbound', 1e308);
      m.recordRtt('peerA1b2c3d4e5f6', 2 ** 53);
    }
    m.recordMessage('peerA1b2c3d4e5f6', 'raft', Number.MAX_SAFE_INTEGER); // the largest accepted
    expect(m.rejectedRecords()['invalid_number']).toBe(6);
    const bytes = p.collectSync().resourceMetrics.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'p2p_bytes_sent');
    expect(bytes?.dataPoints.map((d) => d.value)).toEqual([Number.MAX_SAFE_INTEGER]);
  });
});
