import fc from 'fast-check';
import { CONNECTION_SECONDS_BUCKETS, LATENCY_MS_BUCKETS, OPERATION_MS_BUCKETS, OtelP2pMonitor, SIZE_BYTES_BUCKETS } from '../src/index.js';
import { HistogramCells } from '../src/aggregation/cells.js';

/** The reference: first boundary >= value, as the SDK's binarySearchUB. */
const reference = (b: readonly number[], v: number): number => {
  const i = b.findIndex((x) => x >= v);
  return i < 0 ? b.length : i;
};
const bucketOf = (cells: HistogramCells, v: number): number => {
  cells.data.fill(0);
  cells.record(0, v);
  return Array.from({ length: cells.buckets }, (_, i) => cells.bucketCountOf(0, i)).indexOf(1);
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

describe('HistogramCells records', () => {
  const read = (h: HistogramCells, cell: number) => ({
    count: h.countOf(cell),
    sum: h.sumOf(cell),
    min: h.minOf(cell),
    max: h.maxOf(cell),
    buckets: Array.from({ length: h.buckets }, (_, i) => h.bucketCountOf(cell, i)),
  });
  const empty = (h: HistogramCells) => ({ count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array<number>(h.buckets).fill(0) });

  it('keep each cell to itself, merge into one, and survive growth with the new cells empty', () => {
    const h = new HistogramCells([1, 10, 100], 3, 2); // 6 cells
    h.record(2, 5);
    h.record(2, 500);
    h.record(3, 0.5);
    h.merge(4, 3, 30, 2, 20, Float64Array.from([9, 0, 2, 1, 0, 9]), 1); // buckets [0, 2, 1, 0] from index 1
    const before = [0, 1, 2, 3, 4, 5].map((c) => read(h, c));
    expect(before[2]).toEqual({ count: 2, sum: 505, min: 5, max: 500, buckets: [0, 1, 0, 1] });
    expect(before[3]).toEqual({ count: 1, sum: 0.5, min: 0.5, max: 0.5, buckets: [1, 0, 0, 0] });
    expect(before[4]).toEqual({ count: 3, sum: 30, min: 2, max: 20, buckets: [0, 2, 1, 0] });
    for (const c of [0, 1, 5]) expect(before[c]).toEqual(empty(h));
    expect(Array.from(h.touched)).toEqual([0, 0, 1, 1, 1, 0]);
    h.grow(4);
    expect([0, 1, 2, 3, 4, 5].map((c) => read(h, c))).toEqual(before);
    for (const c of [6, 7, 8, 9, 10, 11]) expect(read(h, c)).toEqual(empty(h));
    h.record(11, 50);
    expect(read(h, 11)).toEqual({ count: 1, sum: 50, min: 50, max: 50, buckets: [0, 0, 1, 0] });
    expect(read(h, 10)).toEqual(empty(h));
  });
});

describe('OtelP2pMonitor({ enabled: false })', () => {
  it('records nothing until enabled', () => {
    const m = new OtelP2pMonitor({ enabled: false });
    m.recordRtt('peer-aaaaaaaa', 5);
    expect((m.store.series.rtt.cells as HistogramCells).countOf(1)).toBe(0);
    m.enable();
    m.recordRtt('peer-aaaaaaaa', 5);
    expect((m.store.series.rtt.cells as HistogramCells).countOf(1)).toBe(1);
  });
});
