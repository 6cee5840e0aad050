import fc from 'fast-check';
import { ConnectionQuality, type DEFAULT_QUALITY_WEIGHTS, scoreQuality, type QualityInputs, type QualityScoreOptions } from '../../src/health/index.js';

/** Any number at all: NaN, ±Infinity, -0, subnormals and huge values included. */
const anyNumber = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 0.5, 1e300));
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const anyInputs: fc.Arbitrary<QualityInputs> = fc.record({
  successRate: maybe(anyNumber),
  avgRttMs: maybe(anyNumber),
  packetLoss: maybe(anyNumber),
  bandwidthBytesPerSecond: maybe(anyNumber),
});
const weight = fc.double({ min: 0, max: 100, noNaN: true });
const anyOptions: fc.Arbitrary<QualityScoreOptions> = fc.record(
  {
    rttHalfScoreMs: fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
    lossZeroScoreRatio: fc.double({ min: 1e-3, max: 1, noNaN: true }),
    bandwidthReferenceBytesPerSecond: fc.double({ min: 1, max: 1e12, noNaN: true }),
    weights: fc.record({ successRate: weight, rtt: weight, loss: weight, bandwidth: weight }).filter((w) => w.successRate + w.rtt + w.loss + w.bandwidth > 0),
  },
  { requiredKeys: [] },
);
/** Two comparable values of one input (NaN excluded: it means "unknown", which is not ordered). */
const orderedPair = fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true })).map(([a, b]): readonly [number, number] => (a <= b ? [a, b] : [b, a]));

const inUnitInterval = (x: number): boolean => x >= 0 && x <= 1;

describe('scoreQuality: documented examples', () => {
  it('is 0 when nothing is known', () => {
    expect(scoreQuality({})).toBe(0);
    expect(scoreQuality({ successRate: NaN, avgRttMs: undefined })).toBe(0);
    expect(new ConnectionQuality().score()).toBe(0);
  });

  it('renormalises over the known factors: all pings fine at 100 ms, nothing fed → 0.55 / 0.7', () => {
    expect(scoreQuality({ successRate: 1, avgRttMs: 100 })).toBeCloseTo(0.55 / 0.7, 15);
    expect(scoreQuality({ successRate: 1, avgRttMs: 100 })).toBeCloseTo(0.785714285714286, 14);
  });

  it('weighs all four: 90 % success, 50 ms, 2 % loss, 1 MB/s → 0.82', () => {
    expect(scoreQuality({ successRate: 0.9, avgRttMs: 50, packetLoss: 0.02, bandwidthBytesPerSecond: 1_000_000 })).toBeCloseTo(0.82, 14);
  });

  it('is 1 for a perfect peer and 0 for one that never answers', () => {
    expect(scoreQuality({ successRate: 1, avgRttMs: 0, packetLoss: 0, bandwidthBytesPerSecond: 1e9 })).toBe(1);
    expect(scoreQuality({ successRate: 0 })).toBe(0);
    expect(scoreQuality({ successRate: 0, packetLoss: 0.1 })).toBe(0);
  });

  it('maps each input through its documented transform', () => {
    const only = (k: keyof typeof DEFAULT_QUALITY_WEIGHTS, inputs: QualityInputs): number => scoreQuality(inputs, { weights: { successRate: 0, rtt: 0, loss: 0, bandwidth: 0, [k]: 1 } });
    expect(only('rtt', { avgRttMs: 100 })).toBe(0.5);
    expect(only('rtt', { avgRttMs: 300 })).toBe(0.25);
    expect(only('rtt', { avgRttMs: Infinity })).toBe(0);
    expect(only('loss', { packetLoss: 0.05 })).toBeCloseTo(0.5, 15);
    expect(only('loss', { packetLoss: 0.5 })).toBe(0);
    expect(only('bandwidth', { bandwidthBytesPerSecond: 999 })).toBeCloseTo(0.5, 6); // 3 decades of 6
    expect(only('bandwidth', { bandwidthBytesPerSecond: 0 })).toBe(0);
    expect(only('bandwidth', { bandwidthBytesPerSecond: 1e7 })).toBe(1);
    expect(only('successRate', { successRate: 0.75 })).toBe(0.75);
  });

  it('half the pings failing at 300 ms → (0.4·0.5 + 0.3·0.25) / 0.7', () => {
    expect(scoreQuality({ successRate: 0.5, avgRttMs: 300 })).toBeCloseTo(0.275 / 0.7, 15);
  });

  it('sanitises out-of-range inputs to their limits', () => {
    expect(scoreQuality({ successRate: 7 })).toBe(1);
    expect(scoreQuality({ successRate: -Infinity })).toBe(0);
    expect(scoreQuality({ avgRttMs: -5 })).toBe(1);
    expect(scoreQuality({ packetLoss: -1 })).toBe(1);
    expect(scoreQuality({ bandwidthBytesPerSecond: Infinity })).toBe(1);
  });

  it('rejects invalid options, naming them', () => {
    expect(() => scoreQuality({}, { rttHalfScoreMs: 0 })).toThrow(/rttHalfScoreMs/);
    expect(() => scoreQuality({}, { lossZeroScoreRatio: 2 })).toThrow(/lossZeroScoreRatio/);
    expect(() => scoreQuality({}, { bandwidthReferenceBytesPerSecond: NaN })).toThrow(/bandwidthReference/);
    expect(() => scoreQuality({}, { weights: { rtt: -1 } })).toThrow(/weights.rtt/);
    expect(() => scoreQuality({}, { weights: { successRate: 0, rtt: 0, loss: 0, bandwidth: 0 } })).toThrow(/weight/);
    expect(() => new ConnectionQuality({ window: 0 })).toThrow(/window/);
    expect(() => new ConnectionQuality({ rttAlpha: 0 })).toThrow(/rttAlpha/);
    expect(scoreQuality({ successRate: 1 }, { weights: { rtt: undefined } })).toBe(1); // undefined = default
  });
});

describe('scoreQuality: properties', () => {
  it('is always in [0, 1], whatever the inputs and options', () => {
    fc.assert(fc.property(anyInputs, anyOptions, (inputs, options) => inUnitInterval(scoreQuality(inputs, options))));
  });

  const monotone = (key: keyof QualityInputs, better: 'higher' | 'lower'): void => {
    fc.assert(
      fc.property(anyInputs, anyOptions, orderedPair, (base, options, [lo, hi]) => {
        const [worse, good] = better === 'higher' ? [lo, hi] : [hi, lo];
        return scoreQuality({ ...base, [key]: good }, options) >= scoreQuality({ ...base, [key]: worse }, options);
      }),
    );
  };

  it('never decreases with a higher success rate', () => monotone('successRate', 'higher'));
  it('never decreases with a lower RTT', () => monotone('avgRttMs', 'lower'));
  it('never decreases with a lower loss', () => monotone('packetLoss', 'lower'));
  it('never decreases with a higher bandwidth', () => monotone('bandwidthBytesPerSecond', 'higher'));
});

type Op = { op: 'success'; rtt: number | undefined } | { op: 'failure' } | { op: 'loss'; v: number } | { op: 'bandwidth'; v: number };
const anyOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('success' as const), rtt: maybe(anyNumber) }),
  fc.record({ op: fc.constant('failure' as const) }),
  fc.record({ op: fc.constant('loss' as const), v: anyNumber }),
  fc.record({ op: fc.constant('bandwidth' as const), v: anyNumber }),
);
function replay(ops: readonly Op[], q = new ConnectionQuality({ window: 8 })): ConnectionQuality {
  for (const o of ops) {
    if (o.op === 'success') q.recordSuccess(o.rtt);
    else if (o.op === 'failure') q.recordFailure();
    else if (o.op === 'loss') q.recordLoss(o.v);
    else q.recordBandwidth(o.v);
  }
  return q;
}

describe('ConnectionQuality', () => {
  it('computes the success rate over a fixed window of the last outcomes', () => {
    const q = new ConnectionQuality({ window: 4 });
    expect(q.successRate).toBeUndefined();
    q.recordSuccess(10);
    q.recordSuccess(10);
    expect(q.successRate).toBe(1);
    q.recordFailure();
    q.recordFailure();
    expect(q.successRate).toBe(0.5);
    q.recordFailure(); // the first success leaves the window
    expect(q.successRate).toBe(0.25);
    expect(q.samples).toBe(4);
  });

  it('averages RTT exponentially (α = 1/8), started by the first sample, over successes only', () => {
    const q = new ConnectionQuality();
    q.recordSuccess(100);
    expect(q.avgRttMs).toBe(100);
    q.recordFailure();
    q.recordSuccess(200);
    expect(q.avgRttMs).toBe(112.5);
    for (const bad of [NaN, -1, Infinity, undefined]) q.recordSuccess(bad);
    expect(q.avgRttMs).toBe(112.5); // invalid samples ignored...
    expect(q.successRate).toBe(6 / 7); // ...but still successes
  });

  it('keeps the latest valid loss and bandwidth; clamps loss above 1', () => {
    const q = new ConnectionQuality();
    q.recordLoss(0.02);
    q.recordLoss(NaN);
    q.recordLoss(-0.1);
    expect(q.packetLoss).toBe(0.02);
    q.recordLoss(3);
    expect(q.packetLoss).toBe(1);
    q.recordBandwidth(5000);
    q.recordBandwidth(-1);
    q.recordBandwidth(Infinity);
    expect(q.bandwidthBytesPerSecond).toBe(5000);
  });

  it('scores like scoreQuality over its snapshot (documented example: 18 of 20 at 50 ms, 2 % loss, 1 MB/s)', () => {
    const q = new ConnectionQuality();
    for (let i = 0; i < 18; i++) q.recordSuccess(50);
    q.recordFailure();
    q.recordFailure();
    q.recordLoss(0.02);
    q.recordBandwidth(1_000_000);
    expect(q.score()).toBeCloseTo(0.82, 14);
    const s = q.snapshot();
    expect(s).toEqual({ successRate: 0.9, avgRttMs: 50, packetLoss: 0.02, bandwidthBytesPerSecond: 1_000_000, samples: 20, score: q.score() });
  });

  it('property: any sequence of any samples leaves a score in [0, 1] and sane state', () => {
    fc.assert(
      fc.property(fc.array(anyOp, { maxLength: 40 }), (ops) => {
        const q = replay(ops);
        const s = q.snapshot();
        expect(inUnitInterval(s.score)).toBe(true);
        expect(s.successRate === undefined || inUnitInterval(s.successRate)).toBe(true);
        expect(s.avgRttMs === undefined || (s.avgRttMs >= 0 && Number.isFinite(s.avgRttMs))).toBe(true);
        expect(s.packetLoss === undefined || inUnitInterval(s.packetLoss)).toBe(true);
        expect(s.bandwidthBytesPerSecond === undefined || (s.bandwidthBytesPerSecond >= 0 && Number.isFinite(s.bandwidthBytesPerSecond))).toBe(true);
        expect(s.samples).toBeLessThanOrEqual(8);
      }),
    );
  });

  it('property: turning any failure into a success never lowers the score', () => {
    fc.assert(
      fc.property(fc.array(anyOp, { maxLength: 40 }), fc.nat(), (ops, pick) => {
        const failures = ops.flatMap((o, i) => (o.op === 'failure' ? [i] : []));
        fc.pre(failures.length > 0);
        const at = failures[pick % failures.length] as number;
        const better = ops.map((o, i): Op => (i === at ? { op: 'success', rtt: undefined } : o));
        return replay(better).score() >= replay(ops).score();
      }),
    );
  });
});
