/**
 * Fuzzing the health checker and the connection quality score (docs/instrumentation/health.md),
 * RUNS cases per property:
 * - scoreQuality: any inputs, any options: a TypeError for invalid options (exactly when
 *   ConnectionQuality refuses them too), otherwise a number in [0, 1], never NaN;
 * - ConnectionQuality: any sequence of any samples keeps the success rate equal to the last
 *   `window` outcomes (a model), the RTT average, loss and bandwidth in their ranges, the score in [0, 1];
 * - P2pHealthChecker: any options either construct or throw a TypeError; feed() with anything
 *   never throws; a round with any peers() and any ping outcome never rejects, records every
 *   connectivity score in [0, 1] and tracks at most maxPeers peers.
 */
import { diag } from '@opentelemetry/api';
import fc from 'fast-check';
import { ConnectionQuality, P2pHealthChecker, RecordingP2pMonitor, scoreQuality, type ConnectionQualityOptions } from '../../src/index.js';
import { VirtualTimers } from '../health/support/virtual-timers.js';
import { hostileFast, oddNumber, RUNS, trapProxy } from './hostile.js';

// 10,000 cases per property: generous room on a loaded machine (Jest's default is 30 s per test).
jest.setTimeout(120_000);

/** A number where one is expected: mostly odd numbers, sometimes not a number at all. */
const numberish: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: oddNumber }, { weight: 1, arbitrary: hostileFast });
/** An option: usually absent or a valid-looking number, sometimes anything. */
const option = (valid: fc.Arbitrary<number>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: valid }, { weight: 2, arbitrary: numberish });

/** Plain data options (no throwing getters: those throw what they throw, see the last property). */
const scoreOptions = fc.record(
  {
    rttHalfScoreMs: option(fc.double({ min: 0.001, max: 1e6, noNaN: true })),
    lossZeroScoreRatio: option(fc.double({ min: 0.001, max: 1, noNaN: true })),
    bandwidthReferenceBytesPerSecond: option(fc.double({ min: 1, max: 1e12, noNaN: true })),
    weights: fc.oneof(
      fc.constant(undefined),
      fc.record(
        {
          successRate: option(fc.double({ min: 0, max: 10, noNaN: true })),
          rtt: option(fc.double({ min: 0, max: 10, noNaN: true })),
          loss: option(fc.double({ min: 0, max: 10, noNaN: true })),
          bandwidth: option(fc.double({ min: 0, max: 10, noNaN: true })),
        },
        { requiredKeys: [] },
      ),
    ),
    window: option(fc.integer({ min: 1, max: 64 })),
    rttAlpha: option(fc.double({ min: 0.01, max: 1, noNaN: true })),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ConnectionQualityOptions>;

const inputs = fc.record({ successRate: numberish, avgRttMs: numberish, packetLoss: numberish, bandwidthBytesPerSecond: numberish }, { requiredKeys: [] });

function settled(f: () => unknown): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

const in01 = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1;

beforeAll(() => diag.disable()); // the checker warns about bad input: not what is measured here

describe(`health checks, ${RUNS} cases per property`, () => {
  it('scoreQuality: a score in [0, 1], or a TypeError exactly when ConnectionQuality refuses the options', () => {
    fc.assert(
      fc.property(inputs, scoreOptions, (i, o) => {
        const score = settled(() => scoreQuality(i as never, o));
        const quality = settled(() => new ConnectionQuality({ ...o, window: undefined, rttAlpha: undefined }));
        if (score.ok !== quality.ok) throw new Error(`scoreQuality ${score.ok ? 'accepted' : 'refused'} options ConnectionQuality ${quality.ok ? 'accepted' : 'refused'}`);
        if (!score.ok) {
          if (!(score.error instanceof TypeError) || !/^p2p-otel: /.test(score.error.message)) throw new Error(`threw ${String(score.error)}`);
          return;
        }
        if (!in01(score.value)) throw new Error(`score ${String(score.value)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('ConnectionQuality: any samples keep every figure in range and the success rate equal to the last `window` outcomes', () => {
    type Op = { op: 'success'; rtt: unknown } | { op: 'failure' } | { op: 'loss'; v: unknown } | { op: 'bandwidth'; v: unknown };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('success' as const), rtt: fc.oneof(fc.constant(undefined), numberish) }),
      fc.constant({ op: 'failure' as const }),
      fc.record({ op: fc.constant('loss' as const), v: numberish }),
      fc.record({ op: fc.constant('bandwidth' as const), v: numberish }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 30 }), (window, ops) => {
        const q = new ConnectionQuality({ window });
        const outcomes: number[] = [];
        for (const o of ops) {
          if (o.op === 'success') q.recordSuccess(o.rtt as number);
          else if (o.op === 'failure') q.recordFailure();
          else if (o.op === 'loss') q.recordLoss(o.v as number);
          else q.recordBandwidth(o.v as number);
          if (o.op === 'success' || o.op === 'failure') outcomes.push(o.op === 'success' ? 1 : 0);
        }
        const last = outcomes.slice(-window);
        const s = q.snapshot();
        const expectedRate = last.length === 0 ? undefined : last.reduce((a, b) => a + b, 0) / last.length;
        if (s.successRate !== expectedRate) throw new Error(`success rate ${s.successRate} vs ${expectedRate}`);
        if (s.samples !== last.length) throw new Error(`samples ${s.samples} vs ${last.length}`);
        if (s.avgRttMs !== undefined && !(Number.isFinite(s.avgRttMs) && s.avgRttMs >= 0)) throw new Error(`rtt ${s.avgRttMs}`);
        if (s.packetLoss !== undefined && !in01(s.packetLoss)) throw new Error(`loss ${s.packetLoss}`);
        if (s.bandwidthBytesPerSecond !== undefined && !(Number.isFinite(s.bandwidthBytesPerSecond) && s.bandwidthBytesPerSecond >= 0)) throw new Error(`bandwidth ${s.bandwidthBytesPerSecond}`);
        if (!in01(s.score) || s.score !== q.score()) throw new Error(`score ${s.score}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('P2pHealthChecker: any options construct or throw a TypeError naming one; feed() and a round with any peers and pings never throw; scores in [0, 1]', async () => {
    const monitor = new RecordingP2pMonitor({ peerId: { mode: 'full' } });
    const checkerOptions = fc.record(
      {
        intervalMs: option(fc.integer({ min: 1, max: 10_000 })),
        jitter: option(fc.double({ min: 0, max: 1, noNaN: true })),
        timeoutMs: option(fc.integer({ min: 1, max: 10_000 })),
        concurrency: option(fc.integer({ min: 1, max: 8 })),
        forgetAfterRounds: option(fc.integer({ min: 1, max: 5 })),
        maxPeers: option(fc.integer({ min: 1, max: 4 })),
        recordErrors: fc.oneof(fc.constant(undefined), fc.boolean()),
        quality: fc.oneof(fc.constant(undefined), scoreOptions),
      },
      { requiredKeys: [] },
    );
    type PingResult = { kind: 'value'; v: unknown } | { kind: 'throw'; e: unknown } | { kind: 'reject'; e: unknown } | { kind: 'resolve'; v: unknown };
    const pingResult: fc.Arbitrary<PingResult> = fc.oneof(
      fc.record({ kind: fc.constant('value' as const), v: numberish }),
      fc.record({ kind: fc.constant('throw' as const), e: hostileFast }),
      fc.record({ kind: fc.constant('reject' as const), e: hostileFast }),
      fc.record({ kind: fc.constant('resolve' as const), v: numberish }),
    );
    const peers = fc.oneof(
      { weight: 5, arbitrary: fc.array(fc.oneof(fc.constantFrom('peerA1b2c3d4e5f6', 'peerB1b2c3d4e5f6', 'peerC1b2c3d4e5f6', 'peerD1b2c3d4e5f6', 'peerE1b2c3d4e5f6'), hostileFast), { maxLength: 8 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(undefined, null, 42, 'peerA1b2c3d4e5f6', trapProxy('peers'), {
          [Symbol.iterator]: () => {
            throw new Error('iterator');
          },
        }),
      },
    );
    let constructed = 0;
    await fc.assert(
      fc.asyncProperty(
        checkerOptions,
        peers,
        fc.array(pingResult, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(hostileFast, fc.record({ lossRatio: numberish, bytesPerSecond: numberish }, { requiredKeys: [] })), { maxLength: 3 }),
        async (o, list, results, feeds) => {
          const timers = new VirtualTimers();
          let n = 0;
          const ping = (): unknown => {
            const r = results[n++ % results.length]!;
            if (r.kind === 'value') return r.v;
            if (r.kind === 'throw') throw r.e;
            if (r.kind === 'reject') return Promise.reject(r.e);
            return Promise.resolve(r.v);
          };
          const made = settled(() => new P2pHealthChecker({ monitor, peers: () => list as Iterable<string>, ping: ping as never, timers, random: () => 0.5, ...(o as object) }));
          if (!made.ok) {
            if (!(made.error instanceof TypeError) || !/^p2p-otel: /.test(made.error.message)) throw new Error(`constructor threw ${String(made.error)}`);
            return;
          }
          constructed++;
          const checker = made.value as P2pHealthChecker;
          for (const [peer, sample] of feeds) checker.feed(peer as string, sample as never);
          monitor.calls.length = 0;
          await checker.checkNow();
          await checker.checkNow();
          const maxPeers = (o as { maxPeers?: number }).maxPeers ?? 10_000;
          if (checker.trackedPeers > maxPeers) throw new Error(`${checker.trackedPeers} peers tracked, maxPeers ${maxPeers}`);
          for (const call of monitor.callsTo('recordConnectivityScore')) {
            if (!call.accepted || !in01(call.args[1])) throw new Error(`connectivity score ${String(call.args[1])}`);
          }
          for (const call of monitor.calls) if (typeof call.args[0] !== 'string' || call.args[0] === '') throw new Error(`recorded for peer ${String(call.args[0])}`);
          checker.start();
          checker.stop();
          if (timers.active !== 0) throw new Error(`${timers.active} timers left after stop()`);
        },
      ),
      { numRuns: RUNS },
    );
    expect(constructed).toBeGreaterThan(RUNS / 4); // the property is not only about refused options
  });

  it('hostile option objects (throwing getters, Proxies) throw at construction at worst, never later', () => {
    fc.assert(
      fc.property(fc.constantFrom('weights', 'quality', 'options'), (where) => {
        const trap = trapProxy(where);
        const attempt = (): unknown =>
          where === 'weights'
            ? scoreQuality({ successRate: 1 }, { weights: trap as never })
            : where === 'quality'
              ? new P2pHealthChecker({ monitor: new RecordingP2pMonitor(), peers: () => [], ping: () => 1, quality: trap as never })
              : new P2pHealthChecker(trap as never);
        const r = settled(attempt);
        return !r.ok || (typeof r.value === 'number' ? in01(r.value) : r.value instanceof P2pHealthChecker);
      }),
      { numRuns: 100 },
    );
  });
});

describe('found by this suite', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['a Symbol weight', () => scoreQuality({ successRate: 1 }, { weights: { rtt: Symbol('w') as never } }), /weights\.rtt/],
    ['a BigInt rttHalfScoreMs (accepted, then failing in arithmetic)', () => scoreQuality({ avgRttMs: 10 }, { rttHalfScoreMs: 10n as never }), /rttHalfScoreMs/],
    ['a null-prototype timeoutMs', () => new P2pHealthChecker({ monitor: new RecordingP2pMonitor(), peers: () => [], ping: () => 1, timeoutMs: Object.create(null) }), /timeoutMs/],
    ['a Symbol rttAlpha', () => new ConnectionQuality({ rttAlpha: Symbol('a') as never }), /rttAlpha/],
  ])('%s is a TypeError naming the option', (_, make, names) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(names);
  });
});
