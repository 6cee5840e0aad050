/**
 * Fuzzing peer-id normalisation (the label policy of docs/metrics.md, "Peer labels"), RUNS cases
 * per property, through the public API only: what a record's peer id becomes in the exported
 * peer_id label, in each mode, and looksLikeAddress itself.
 */
import fc from 'fast-check';
import { OtelP2pMonitor, looksLikeAddress, type PeerIdMode } from '../../src/index.js';
import { hostileFast, oddString, RUNS } from './hostile.js';

// 10,000 cases per property: generous room on a loaded machine (Jest's default is 30 s per test).
jest.setTimeout(120_000);

const HASH_KEY = 'fuzz-deployment-secret-0123456789';

/** One monitor per mode, reused across runs (constructing one costs milliseconds). */
function monitorFor(mode: PeerIdMode, shortLength: number, maxPeers: number) {
  const monitor = new OtelP2pMonitor({ peerId: { mode, shortLength, maxPeers, ...(mode === 'hash' ? { hashKey: HASH_KEY } : {}) } });
  return { monitor, producer: monitor.createMetricProducer() };
}

/** The peer_id labels of p2p_connection_reuses (one series per label the monitor handed out). */
function labels(producer: ReturnType<OtelP2pMonitor['createMetricProducer']>): unknown[] {
  const metric = producer
    .collectSync()
    .resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === 'p2p_connection_reuses');
  return (metric?.dataPoints ?? []).map((p) => p.attributes['peer_id']);
}

/** A peer id as an application could pass it: mostly strings (odd ones included), sometimes not. */
const peerId = fc.oneof({ weight: 4, arbitrary: oddString }, { weight: 1, arbitrary: hostileFast });

describe(`peer-id normalisation, ${RUNS} cases per property`, () => {
  it('looksLikeAddress never throws, is true for every IPv4/IPv6 address (bracketed, with a port), false for a 64-hex node id', () => {
    const address = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.tuple(fc.ipV4(), fc.nat({ max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
      fc.tuple(fc.ipV6(), fc.nat({ max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
      fc.ipV6().map((ip) => `[${ip}]`),
    );
    fc.assert(
      fc.property(address, oddString, fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), (a, s, nodeId) => {
        if (!looksLikeAddress(a)) throw new Error(`${a} not recognised as an address`);
        looksLikeAddress(s); // any string: must not throw
        return !looksLikeAddress(nodeId);
      }),
      { numRuns: RUNS },
    );
  });

  it.each<[PeerIdMode, number]>([
    ['short', 10],
    ['short', 7],
    ['full', 10],
    ['hash', 10],
    ['none', 10],
  ])('mode %s (shortLength %d): labels within the budget, never an address, in the documented form; totals kept', (mode, shortLength) => {
    const maxPeers = 16;
    const { monitor, producer } = monitorFor(mode, shortLength, maxPeers);
    let recorded = 0;
    let runs = 0;
    fc.assert(
      fc.property(peerId, (id) => {
        const before = monitor.rejectedRecords();
        monitor.recordConnectionReuse(id as string);
        recorded++;
        const after = monitor.rejectedRecords();
        const valid = typeof id === 'string' && id.length > 0 && id.length <= 256;
        // An invalid id is counted exactly once, under one reason; a valid one under none, except
        // an address (or, in short mode, an id whose short label is one).
        const moved = Object.keys(after).filter((r) => after[r] !== before[r]);
        if (!valid && (moved.length !== 1 || moved[0] !== 'invalid_peer_id')) throw new Error(`invalid id counted as ${moved.join(',') || 'nothing'}`);
        if (valid && looksLikeAddress(id) && (moved.length !== 1 || moved[0] !== 'peer_id_is_address')) throw new Error(`address counted as ${moved.join(',') || 'nothing'}`);
        if (valid && !looksLikeAddress(id) && moved.some((r) => r !== 'peer_id_is_address')) throw new Error(`valid id counted as ${moved.join(',')}`);
        if (moved.includes('peer_id_is_address') && !(looksLikeAddress(id as string) || (mode === 'short' && looksLikeAddress((id as string).slice(0, shortLength))))) {
          throw new Error('counted as an address without being one');
        }
        if (++runs % 1000 !== 0) return;
        checkLabels();
      }),
      { numRuns: RUNS },
    );
    checkLabels();

    function checkLabels(): void {
      const seen = labels(producer);
      if (mode === 'none') {
        if (seen.length !== 1 || seen[0] !== undefined) throw new Error(`mode none exported peer_id labels ${JSON.stringify(seen)}`);
        return;
      }
      if (seen.length > maxPeers + 1) throw new Error(`${seen.length} labels for a budget of ${maxPeers}`);
      if (new Set(seen).size !== seen.length) throw new Error('duplicate labels');
      for (const label of seen) {
        if (typeof label !== 'string' || label.length === 0) throw new Error(`label ${String(label)}`);
        if (looksLikeAddress(label)) throw new Error(`label ${label} is an address`);
        if (label === 'other') continue;
        if (mode === 'short' && label !== 'other_' && label.length > shortLength) throw new Error(`short label ${label} longer than ${shortLength}`);
        if (mode === 'hash' && !/^[0-9a-f]{16}$/.test(label)) throw new Error(`hash label ${label}`);
      }
    }
    // Folding keeps totals: every record is in some series, the `other` fold included.
    const total = producer
      .collectSync()
      .resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'p2p_connection_reuses')!
      .dataPoints.reduce((sum, p) => sum + (p.value as number), 0);
    expect(total).toBe(recorded);
  });
});

describe('found by this suite', () => {
  it.each(['10.0.0.123-node', '2001:db8::zz', '100.1.1.10-node-b'])('short mode: %s, whose 10-character label would be an address, is folded and counted as peer_id_is_address', (id) => {
    const { monitor, producer } = monitorFor('short', 10, 16);
    monitor.recordConnectionReuse(id);
    expect(monitor.rejectedRecords()['peer_id_is_address']).toBe(1);
    expect(labels(producer)).toEqual(['other']);
  });
});
