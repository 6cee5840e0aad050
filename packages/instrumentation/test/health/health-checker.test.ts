import { getEventListeners } from 'node:events';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import fc from 'fast-check';
import { RecordingP2pMonitor, type P2pMonitor } from '../../src/index.js';
import { P2pHealthChecker, scoreQuality, type HealthCheckerOptions } from '../../src/health/index.js';
import { settle, VirtualTimers } from './support/virtual-timers.js';

const A = 'peerA1b2c3d4e5f6';
const B = 'peerB1b2c3d4e5f6';
const C = 'peerC1b2c3d4e5f6';

interface Harness {
  checker: P2pHealthChecker;
  monitor: RecordingP2pMonitor;
  timers: VirtualTimers;
  /** Virtual time of each peers() call, i.e. of each round's start. */
  rounds: number[];
}

/** A checker on virtual timers; by default it checks A and pings answer at once with 10 ms. */
function harness(options: Partial<HealthCheckerOptions> = {}, peers: () => Iterable<string> = () => [A]): Harness {
  const monitor = new RecordingP2pMonitor({ peerId: { mode: 'full' } });
  const timers = (options.timers as VirtualTimers | undefined) ?? new VirtualTimers();
  const rounds: number[] = [];
  const checker = new P2pHealthChecker({
    monitor,
    peers: () => {
      rounds.push(timers.now());
      return peers();
    },
    ping: async () => 10,
    timers,
    random: () => 0.5,
    ...options,
  });
  return { checker, monitor, timers, rounds };
}

/** A ping that never answers on its own but rejects when aborted, as a well-behaved ping does. */
function hangingPing(signals: AbortSignal[]) {
  return (_peer: string, signal: AbortSignal) =>
    new Promise<number>((_resolve, reject) => {
      signals.push(signal);
      signal.addEventListener('abort', () => reject(signal.reason));
    });
}

function captureDiag(): { messages: string[]; restore: () => void } {
  const messages: string[] = [];
  const log = (m: string): void => {
    messages.push(m);
  };
  const logger: DiagLogger = { error: log, warn: log, info: log, debug: log, verbose: log };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return { messages, restore: () => diag.disable() };
}

describe('P2pHealthChecker: scheduling', () => {
  it('runs rounds at intervalMs × (1 ± jitter), from the end of the previous round', async () => {
    const randoms = [0, 0.999, 0.5, 0.25];
    const h = harness({ intervalMs: 1000, jitter: 0.2, random: () => randoms.shift() ?? 0.5 });
    h.checker.start();
    await h.timers.advance(799);
    expect(h.rounds).toEqual([]);
    await h.timers.advance(4000);
    // Gaps 800, 1199.6, 1000, 900; the next would be at 4899.6.
    expect(h.rounds.map((t) => Math.round(t * 10) / 10)).toEqual([800, 1999.6, 2999.6, 3899.6]);
    h.checker.stop();
  });

  it('property: every gap between rounds is within interval ± jitter, and equal to its formula', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 1, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 6 }),
        async (intervalMs, jitter, randoms) => {
          const queue = [...randoms];
          const h = harness({ intervalMs, jitter, random: () => queue.shift() ?? 0.5 });
          h.checker.start();
          await h.timers.advance(intervalMs * 2 * randoms.length + 1);
          h.checker.stop();
          let previous = 0;
          h.rounds.slice(0, randoms.length).forEach((t, i) => {
            const gap = t - previous;
            previous = t;
            expect(gap).toBeCloseTo(intervalMs * (1 + jitter * (2 * (randoms[i] as number) - 1)), 6);
            expect(gap).toBeGreaterThanOrEqual(intervalMs * (1 - jitter) - 1e-6);
            expect(gap).toBeLessThanOrEqual(intervalMs * (1 + jitter) + 1e-6);
          });
          expect(h.rounds.length).toBeGreaterThanOrEqual(randoms.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('uses the defaults: 5000 ms ± 10 %', async () => {
    const h = harness({ random: () => 0 });
    h.checker.start();
    await h.timers.advance(4499);
    expect(h.rounds).toEqual([]);
    await h.timers.advance(1);
    expect(h.rounds).toEqual([4500]);
    h.checker.stop();
  });

  it('start() is idempotent; every timer is unref’d', async () => {
    const h = harness();
    h.checker.start();
    h.checker.start();
    expect(h.timers.active).toBe(1);
    expect(h.checker.running).toBe(true);
    await h.timers.advance(12_000);
    expect(h.rounds).toHaveLength(2);
    h.checker.stop();
    expect(h.timers.handles.length).toBeGreaterThan(0);
    expect(h.timers.handles.every((t) => t.unrefd)).toBe(true);
  });

  it('treats a throwing or out-of-range random() as no jitter', async () => {
    const h = harness({ intervalMs: 1000, random: () => NaN });
    h.checker.start();
    await h.timers.advance(1000);
    expect(h.rounds).toEqual([1000]);
    h.checker.stop();
    const d = captureDiag();
    try {
      const h2 = harness({
        intervalMs: 1000,
        random: () => {
          throw new Error('no entropy');
        },
      });
      h2.checker.start();
      await h2.timers.advance(1000);
      expect(h2.rounds).toEqual([1000]);
      h2.checker.stop();
      expect(d.messages.some((m) => m.includes('random() threw'))).toBe(true);
    } finally {
      d.restore();
    }
  });
});

describe('P2pHealthChecker: what a round records', () => {
  it('on success records RTT, ping latency and the connectivity score, exactly', async () => {
    const h = harness({ ping: async () => 12 }, () => [A, B]);
    await h.checker.checkNow();
    const score = scoreQuality({ successRate: 1, avgRttMs: 12 });
    expect(h.monitor.accepted('recordRtt')).toEqual([
      [A, 12],
      [B, 12],
    ]);
    expect(h.monitor.accepted('recordPingLatency')).toEqual([
      [A, 12],
      [B, 12],
    ]);
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([
      [A, score],
      [B, score],
    ]);
    expect(score).toBeCloseTo((0.4 + 0.3 / 1.12) / 0.7, 15);
    expect(h.monitor.callsTo('recordError')).toEqual([]);
    expect(h.monitor.calls).toHaveLength(6); // nothing else
    expect(h.checker.quality(A)).toEqual({ successRate: 1, avgRttMs: 12, packetLoss: undefined, bandwidthBytesPerSecond: undefined, samples: 1, score });
  });

  it('times the ping itself when it resolves with nothing', async () => {
    const timers = new VirtualTimers();
    const h = harness({ timers, ping: (_p, signal) => timers.sleep(30, signal) });
    const round = h.checker.checkNow();
    await timers.advance(30);
    await round;
    expect(h.monitor.accepted('recordRtt')).toEqual([[A, 30]]);
  });

  it('measures with the clock option when given, else with the monitor’s clock', async () => {
    let t = 1000;
    const h = harness({ clock: () => (t += 7), ping: () => undefined });
    await h.checker.checkNow();
    expect(h.monitor.accepted('recordRtt')).toEqual([[A, 7]]);

    let m = 0;
    const monitor = Object.assign(new RecordingP2pMonitor(), { clock: () => (m += 3) });
    const checker = new P2pHealthChecker({ monitor, peers: () => [A], ping: () => undefined }); // real timers
    await checker.checkNow();
    expect(monitor.accepted('recordRtt')).toEqual([[A, 3]]);
  });

  it('aborts a ping that exceeds timeoutMs and counts it as a timeout failure', async () => {
    const signals: AbortSignal[] = [];
    const h = harness({ timeoutMs: 500, ping: hangingPing(signals) });
    const round = h.checker.checkNow();
    await h.timers.advance(499);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await h.timers.advance(1);
    await round;
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as Error).name).toBe('TimeoutError');
    expect(h.monitor.accepted('recordError')).toEqual([[A, 'timeout']]);
    expect(h.monitor.callsTo('recordRtt')).toEqual([]);
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([[A, 0]]);
    expect(h.timers.active).toBe(0);
  });

  it('abandons a ping that ignores the signal, and ignores its late answer', async () => {
    const timers = new VirtualTimers();
    const h = harness({ timers, ping: () => timers.sleep(5000).then(() => 42) }); // default timeout 2000
    const round = h.checker.checkNow();
    await timers.advance(2000);
    await round;
    expect(h.monitor.accepted('recordError')).toEqual([[A, 'timeout']]);
    await timers.advance(5000);
    expect(h.monitor.callsTo('recordRtt')).toEqual([]);
  });

  it('counts rejections and synchronous throws as "other", the app’s own timeouts as "timeout"', async () => {
    const failures: Record<string, () => unknown> = {
      [A]: () => Promise.reject(new Error('reset by peer')),
      [B]: () => {
        throw new Error('not connected');
      },
      [C]: () => Promise.reject(Object.assign(new Error('slow'), { code: 'ETIMEDOUT' })),
    };
    const h = harness({ ping: (peer) => failures[peer]!() as Promise<number> }, () => [A, B, C]);
    await h.checker.checkNow();
    expect(h.monitor.accepted('recordError')).toEqual([
      [A, 'other'],
      [B, 'other'],
      [C, 'timeout'],
    ]);
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([
      [A, 0],
      [B, 0],
      [C, 0],
    ]);
  });

  it('with recordErrors: false, a failure lowers the score but is not a connection error', async () => {
    const h = harness({ recordErrors: false, ping: () => Promise.reject(new Error('x')) });
    await h.checker.checkNow();
    expect(h.monitor.callsTo('recordError')).toEqual([]);
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([[A, 0]]);
  });

  it('scores over the recent window: one failure after one success at 100 ms', async () => {
    let fail = false;
    const h = harness({ ping: async () => (fail ? Promise.reject(new Error('x')) : 100) });
    await h.checker.checkNow();
    fail = true;
    await h.checker.checkNow();
    expect(h.monitor.accepted('recordConnectivityScore').map(([, s]) => s)).toEqual([scoreQuality({ successRate: 1, avgRttMs: 100 }), scoreQuality({ successRate: 0.5, avgRttMs: 100 })]);
    expect(h.monitor.accepted('recordConnectivityScore')[1]![1]).toBeCloseTo((0.2 + 0.15) / 0.7, 15);
  });

  it('uses fed loss and bandwidth from the next ping on (documented example: 100 ms, 5 % loss, 1 MB/s → 0.75)', async () => {
    const h = harness({ ping: async () => 100 });
    h.checker.feed(A, { lossRatio: 0.05, bytesPerSecond: 1_000_000 });
    expect(h.monitor.calls).toEqual([]); // feeding records nothing
    await h.checker.checkNow();
    expect(h.monitor.accepted('recordConnectivityScore')[0]![1]).toBeCloseTo(0.75, 15);
  });

  it('passes an invalid RTT from ping() to the monitor, which rejects it; quality keeps the success', async () => {
    const h = harness({ ping: async () => -5 });
    await h.checker.checkNow();
    expect(h.monitor.callsTo('recordRtt').map((c) => c.accepted)).toEqual([false]);
    expect(h.monitor.rejectedRecords().negative).toBe(2); // rtt and ping latency
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([[A, 1]]);
  });

  it('pings at most `concurrency` peers at once, and every peer once per round', async () => {
    const timers = new VirtualTimers();
    const peers = Array.from({ length: 40 }, (_, i) => `peer${String(i).padStart(2, '0')}xxxxxxxxxxx`);
    let inFlight = 0;
    let maxInFlight = 0;
    const pinged: string[] = [];
    const h = harness(
      {
        timers,
        ping: async (peer, signal) => {
          pinged.push(peer);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await timers.sleep(10, signal);
          inFlight--;
        },
      },
      () => peers,
    );
    const round = h.checker.checkNow();
    await timers.advance(30); // three waves of 16, 16, 8
    await round;
    expect(maxInFlight).toBe(16);
    expect([...pinged].sort()).toEqual(peers);
    expect(h.monitor.accepted('recordRtt')).toHaveLength(40);

    inFlight = maxInFlight = 0;
    const h4 = harness({ timers, concurrency: 4, ping: h.checker['ping' as never] }, () => peers);
    const round4 = h4.checker.checkNow();
    await timers.advance(100); // ten waves of 4
    await round4;
    expect(maxInFlight).toBe(4);
    expect(h4.monitor.accepted('recordRtt')).toHaveLength(40);
    expect(() => harness({ concurrency: 0 })).toThrow(/concurrency/);
  });

  it('checkNow() during a round joins it instead of starting another', async () => {
    const timers = new VirtualTimers();
    const h = harness({ timers, ping: (_p, signal) => timers.sleep(10, signal) });
    const first = h.checker.checkNow();
    const second = h.checker.checkNow();
    expect(second).toBe(first);
    await timers.advance(10);
    await first;
    expect(h.rounds).toHaveLength(1);
    const third = h.checker.checkNow();
    expect(third).not.toBe(first);
    await timers.advance(10);
    await third;
    expect(h.rounds).toHaveLength(2);
  });
});

describe('P2pHealthChecker: stop()', () => {
  it("a worker's pings share one signal; stop() aborts the one in flight, not those of workers that are done", async () => {
    const done: AbortSignal[] = [];
    const hanging: AbortSignal[] = [];
    const peers = Array.from({ length: 50 }, (_, i) => `peer${i}`);
    const h = harness(
      {
        intervalMs: 1000,
        concurrency: 4,
        ping: (peer, signal) => {
          if (peer === 'peer49') return hangingPing(hanging)(peer, signal);
          done.push(signal);
          return 10;
        },
      },
      () => peers,
    );
    h.checker.start();
    await h.timers.advance(1000);
    expect(done).toHaveLength(49);
    const distinct = new Set(done);
    expect(distinct.size).toBeLessThanOrEqual(4); // one per worker, not one per ping
    h.checker.stop();
    expect(hanging[0]!.aborted).toBe(true);
    expect([...distinct].filter((s) => s !== hanging[0] && s.aborted)).toHaveLength(0);
  });

  it('rounds reuse the signals of the rounds before (one per worker slot), and a stop does not leave them aborted', async () => {
    const signals: AbortSignal[] = [];
    const h = harness({ intervalMs: 1000, jitter: 0, ping: (_peer, signal) => (signals.push(signal), 10) }, () => [A, B]);
    h.checker.start();
    await h.timers.advance(3000);
    expect(signals).toHaveLength(6);
    expect(new Set(signals).size).toBe(2);
    h.checker.stop();
    h.checker.start();
    await h.timers.advance(1000);
    expect(signals).toHaveLength(8);
    expect(signals.every((s) => !s.aborted)).toBe(true);
    h.checker.stop();
  });

  it('a ping that leaves an abort listener on its signal gets a new one next time: listeners never pile up', async () => {
    const signals: AbortSignal[] = [];
    const h = harness(
      {
        intervalMs: 1000,
        jitter: 0,
        concurrency: 1,
        ping: (peer, signal) => {
          signals.push(signal);
          // A adds a listener it never removes; B sets onabort.
          if (peer === A) signal.addEventListener('abort', () => undefined);
          else if (peer === B) signal.onabort = () => undefined;
          return 10;
        },
      },
      () => [A, B, C],
    );
    h.checker.start();
    await h.timers.advance(5000);
    expect(signals).toHaveLength(15);
    // Each round: A gets a fresh signal and leaves a listener; B a fresh one (onabort); C a fresh
    // one it leaves clean, which the next round's A gets.
    expect(new Set(signals).size).toBe(11);
    expect(Math.max(...signals.map((s) => getEventListeners(s, 'abort').length))).toBe(1);
    h.checker.stop();
  });

  it('a signal aborted by a timeout is never handed to another ping', async () => {
    const signals: AbortSignal[] = [];
    const h = harness(
      {
        intervalMs: 1000,
        timeoutMs: 100,
        concurrency: 1,
        ping: (peer, signal) => {
          signals.push(signal);
          return peer === A ? hangingPing([])(peer, signal) : 10;
        },
      },
      () => [A, B, C],
    );
    h.checker.start();
    await h.timers.advance(1100);
    expect(signals).toHaveLength(3);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]).not.toBe(signals[0]);
    expect(signals[1]!.aborted).toBe(false);
    expect(signals[2]).toBe(signals[1]); // B's ended normally: C gets the same signal
    h.checker.stop();
  });

  it('aborts pings in flight, clears every timer, records nothing more and settles checkNow()', async () => {
    const signals: AbortSignal[] = [];
    const h = harness({ intervalMs: 1000, ping: hangingPing(signals) }, () => [A, B]);
    h.checker.start();
    await h.timers.advance(1000);
    expect(signals).toHaveLength(2);
    const pending = h.checker.checkNow(); // joins the round in flight
    expect(h.timers.active).toBe(2); // the two ping timeouts
    h.checker.stop();
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(signals.map((s) => (s.reason as Error).name)).toEqual(['AbortError', 'AbortError']);
    expect(h.timers.active).toBe(0);
    await expect(pending).resolves.toBeUndefined();
    await h.timers.advance(60_000);
    expect(h.rounds).toEqual([1000]);
    expect(h.monitor.calls).toEqual([]);
    expect(h.checker.running).toBe(false);
    h.checker.stop(); // idempotent
    expect(h.timers.active).toBe(0);
  });

  it('can start again after stop(), and a stale round does not double the schedule', async () => {
    const timers = new VirtualTimers();
    const h = harness({ timers, intervalMs: 1000, ping: (_p, signal) => timers.sleep(100, signal).then(() => 5) });
    h.checker.start();
    await timers.advance(1050); // round 1 in flight
    h.checker.stop();
    h.checker.start();
    await timers.advance(1000);
    expect(timers.active).toBe(2); // round 2's ping and its timeout; round 1 left nothing
    await timers.advance(100);
    expect(timers.active).toBe(1); // the next round's timer only
    expect(h.rounds).toEqual([1000, 2050]);
    expect(h.monitor.accepted('recordRtt')).toEqual([[A, 5]]);
    h.checker.stop();
    expect(timers.active).toBe(0);
  });

  it('stop() before any start() is harmless', () => {
    const h = harness();
    expect(() => h.checker.stop()).not.toThrow();
    expect(h.timers.active).toBe(0);
  });
});

describe('P2pHealthChecker: bounded state', () => {
  it('forgets a peer absent from peers() for forgetAfterRounds rounds', async () => {
    let current = [A, B];
    const h = harness({ forgetAfterRounds: 2 }, () => current);
    await h.checker.checkNow();
    current = [A];
    await h.checker.checkNow();
    expect(h.checker.quality(B)).toBeDefined(); // absent once
    await h.checker.checkNow();
    expect(h.checker.quality(B)).toBeUndefined(); // absent twice: forgotten
    expect(h.checker.trackedPeers).toBe(1);
    current = [A, B];
    await h.checker.checkNow();
    expect(h.checker.quality(B)?.samples).toBe(1); // back, from scratch
  });

  it('checks and tracks at most maxPeers peers; feed() does not exceed it either', async () => {
    let current = ['peer1xxxxxxxxxxx', 'peer2xxxxxxxxxxx', 'peer3xxxxxxxxxxx', 'peer4xxxxxxxxxxx', 'peer5xxxxxxxxxxx'];
    const d = captureDiag();
    try {
      const h = harness({ maxPeers: 3, forgetAfterRounds: 10 }, () => current);
      await h.checker.checkNow();
      expect(h.monitor.accepted('recordRtt').map(([p]) => p)).toEqual(current.slice(0, 3));
      expect(h.checker.trackedPeers).toBe(3);
      expect(d.messages.some((m) => m.includes('more than maxPeers'))).toBe(true);
      current = ['peer6xxxxxxxxxxx', 'peer7xxxxxxxxxxx'];
      await h.checker.checkNow(); // stale peers make room, oldest first
      expect(h.checker.trackedPeers).toBe(3);
      expect(h.checker.quality('peer6xxxxxxxxxxx')).toBeDefined();
      expect(h.checker.quality('peer3xxxxxxxxxxx')).toBeDefined();
      h.checker.feed('peer8xxxxxxxxxxx', { lossRatio: 0.1 });
      expect(h.checker.trackedPeers).toBe(3);
      expect(h.checker.quality('peer8xxxxxxxxxxx')).toBeUndefined();
    } finally {
      d.restore();
    }
  });

  it('stays bounded over many rounds of churning peers (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 8 }), { maxLength: 15 }), async (roundsOfPeers) => {
        let current: string[] = [];
        const h = harness({ maxPeers: 5, forgetAfterRounds: 2 }, () => current);
        for (const ids of roundsOfPeers) {
          current = ids.map((i) => `peer${i}xxxxxxxxxxxx`);
          h.checker.feed(`peer${ids.length}xxxxxxxxxxxx`, { bytesPerSecond: 1 });
          await h.checker.checkNow();
          expect(h.checker.trackedPeers).toBeLessThanOrEqual(5);
          for (const p of current.slice(0, 5)) expect(h.checker.quality(p)).toBeDefined();
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('P2pHealthChecker: never throws into the application', () => {
  it('skips the round when peers() throws or returns no iterable, logs to diag, keeps the schedule', async () => {
    const d = captureDiag();
    try {
      let mode: 'throw' | 'null' | 'ok' = 'throw';
      const h = harness({ intervalMs: 1000 }, () => {
        if (mode === 'throw') throw new Error('peer table locked');
        if (mode === 'null') return null as unknown as string[];
        return [A];
      });
      await expect(h.checker.checkNow()).resolves.toBeUndefined();
      mode = 'null';
      await expect(h.checker.checkNow()).resolves.toBeUndefined();
      expect(h.monitor.calls).toEqual([]);
      expect(d.messages.filter((m) => m.includes('peers() threw'))).toHaveLength(2); // warn, then debug
      mode = 'ok';
      h.checker.start();
      await h.timers.advance(1000);
      expect(h.monitor.accepted('recordRtt')).toEqual([[A, 10]]);
      h.checker.stop();
    } finally {
      d.restore();
    }
  });

  it('skips peer ids that are not non-empty strings', async () => {
    const h = harness({}, () => [A, '', 42 as unknown as string, A, B]);
    await h.checker.checkNow();
    expect(h.monitor.accepted('recordRtt').map(([p]) => p)).toEqual([A, B]);
  });

  it('survives a monitor that throws, and invalid feed() calls', async () => {
    const throwing = new Proxy({} as P2pMonitor, {
      get: () => () => {
        throw new Error('broken monitor');
      },
    });
    const timers = new VirtualTimers();
    const checker = new P2pHealthChecker({ monitor: throwing, peers: () => [A], ping: async () => 1, timers });
    await expect(checker.checkNow()).resolves.toBeUndefined();
    expect(checker.quality(A)?.samples).toBe(1);
    expect(() => checker.feed(A, null as never)).not.toThrow();
    expect(() => checker.feed(5 as never, { lossRatio: 1 })).not.toThrow();
    checker.feed(A, { lossRatio: NaN, bytesPerSecond: -1 });
    expect(checker.quality(A)?.packetLoss).toBeUndefined();
  });

  it('survives a throwing clock: the RTT is invalid, the monitor rejects it, the round ends', async () => {
    const h = harness({
      ping: () => undefined,
      clock: () => {
        throw new Error('clock gone');
      },
    });
    await expect(h.checker.checkNow()).resolves.toBeUndefined();
    expect(h.monitor.callsTo('recordRtt').map((c) => c.accepted)).toEqual([false]);
    expect(h.monitor.accepted('recordConnectivityScore')).toEqual([[A, 1]]);
  });

  it('rejects an invalid configuration at construction, naming the option', () => {
    const monitor = new RecordingP2pMonitor();
    const base = { monitor, peers: () => [], ping: async () => 1 };
    expect(() => new P2pHealthChecker({ ...base, intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => new P2pHealthChecker({ ...base, jitter: 1.5 })).toThrow(/jitter/);
    expect(() => new P2pHealthChecker({ ...base, timeoutMs: Infinity })).toThrow(/timeoutMs/);
    expect(() => new P2pHealthChecker({ ...base, forgetAfterRounds: 0.5 })).toThrow(/forgetAfterRounds/);
    expect(() => new P2pHealthChecker({ ...base, maxPeers: 0 })).toThrow(/maxPeers/);
    expect(() => new P2pHealthChecker({ ...base, quality: { window: 0 } })).toThrow(/window/);
    expect(() => new P2pHealthChecker({ ...base, ping: undefined as never })).toThrow(/ping/);
  });
});

afterAll(async () => {
  await settle();
});
