import fc from 'fast-check';
import { CONNECTION_SECONDS_BUCKETS, LATENCY_MS_BUCKETS, OPERATION_MS_BUCKETS, OtelP2pMonitor, SIZE_BYTES_BUCKETS } from '../src/index.js';
import { HistogramCells } from '../src/aggregation/cells.js';

/** The reference: first boundary >= value, as the SDK's binarySearchUB. */
const reference = (b: readonly number[], v: number): number => {
  const i = b.findIndex((x) => x >= v);
  return i < 0 ? b.length : i;
};
const bucketOf = (cells: HistogramCells, v: number): number => {
  cells.counts.fill(0);
  cells.record(0, v);
  return cells.counts.indexOf(1);
};
const nextUp = (x: number): number => {
  const f = new Float64Array([x]);
  const u = new BigUint64Array(f.buffer);
  u[0]! += 1n;
  return f[0]!;
};
const nextDown = (x: number): number => {
  const f = new Float64Array([x]);
  const u = new BigUint64Array(f.buffer);
  u[0]! -= 1n;
  return f[0]!;
};

describe.each([
  ['latency', LATENCY_MS_BUCKETS],
  ['operation', OPERATION_MS_BUCKETS],
  ['size', SIZE_BYTES_BUCKETS],
  ['connection', CONNECTION_SECONDS_BUCKETS],
])('%s buckets', (_, boundaries) => {
  const cells = new HistogramCells(boundaries, 1, 1);

  it('put every boundary, and one ulp either side, where the SDK does (upper-inclusive)', () => {
    const edges = [0, Number.MIN_VALUE, 1e-300, Number.MAX_VALUE, ...boundaries.flatMap((b) => [nextDown(b), b, nextUp(b)])];
    for (const v of edges) expect([v, bucketOf(cells, v)]).toEqual([v, reference(boundaries, v)]);
  });

  it('agree with the reference on arbitrary non-negative values', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), (v) => bucketOf(cells, v) === reference(boundaries, v)),
      { numRuns: 5000 },
    );
  });

  it('agree with the reference where the exponent comes from the integer part ([1, 2^31)) and at its ends', () => {
    const powers = Array.from({ length: 33 }, (_, k) => 2 ** k);
    const edges = powers.flatMap((p) => [p - 1, nextDown(p), p, nextUp(p), p + 1, p + 0.5]);
    for (const v of edges) expect([v, bucketOf(cells, v)]).toEqual([v, reference(boundaries, v)]);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 + 1000 }), fc.double({ min: 0.5, max: 2 ** 32, noNaN: true })), (v) => bucketOf(cells, v) === reference(boundaries, v)),
      { numRuns: 5000 },
    );
  });
});

describe('OtelP2pMonitor({ enabled: false })', () => {
  it('records nothing until enabled', () => {
    const m = new OtelP2pMonitor({ enabled: false });
    m.recordRtt('peer-aaaaaaaa', 5);
    expect((m.store.series.rtt.cells as HistogramCells).count[1]).toBe(0);
    m.enable();
    m.recordRtt('peer-aaaaaaaa', 5);
    expect((m.store.series.rtt.cells as HistogramCells).count[1]).toBe(1);
  });
});
