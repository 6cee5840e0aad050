import { RecordingP2pMonitor } from '../../src/index.js';
import { P2pHealthChecker } from '../../src/health/index.js';

const A = 'peerA1b2c3d4e5f6';
const B = 'peerB1b2c3d4e5f6';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Timers keeping the event loop alive (unref'd ones are not listed). */
const refTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('P2pHealthChecker on real timers', () => {
  it('runs rounds about every interval ± jitter, times out slow pings, keeps no handle and stops cleanly', async () => {
    const monitor = new RecordingP2pMonitor({ peerId: { mode: 'full' } });
    const rounds: number[] = [];
    const signalsOfB: AbortSignal[] = [];
    const setSpy = jest.spyOn(global, 'setTimeout');
    const clearSpy = jest.spyOn(global, 'clearTimeout');
    const checker = new P2pHealthChecker({
      monitor,
      peers: () => {
        rounds.push(performance.now());
        return [A, B];
      },
      ping: async (peer, signal) => {
        if (peer === A) return;
        signalsOfB.push(signal); // B never answers
        await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      intervalMs: 40,
      jitter: 0.25,
      timeoutMs: 15,
    });
    const baseline = refTimers();
    checker.start();
    expect(refTimers()).toBe(baseline); // the round timer is unref'd
    await sleep(400);
    checker.stop();

    // The checker's timers (round gaps of 30–50 ms, ping timeouts of 15 ms; our sleeps are longer).
    const ours = setSpy.mock.calls.flatMap((call, i) => ((call[1] ?? 0) < 100 ? [setSpy.mock.results[i]!.value as NodeJS.Timeout] : []));
    expect(ours.length).toBeGreaterThan(3);
    expect(ours.every((t) => !t.hasRef())).toBe(true); // never keep the process alive
    expect(clearSpy).toHaveBeenCalledWith(ours[ours.length - 1]); // stop() cleared the pending one
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    // Gap = 40 × (1 ± 0.25) after a round that lasts the 15 ms timeout; allow for a loaded machine.
    for (let i = 1; i < rounds.length; i++) {
      const gap = (rounds[i] as number) - (rounds[i - 1] as number);
      expect(gap).toBeGreaterThanOrEqual(30 + 15 - 2);
      expect(gap).toBeLessThanOrEqual(50 + 15 + 250);
    }
    expect(signalsOfB.every((s) => s.aborted)).toBe(true);
    const timeouts = monitor.accepted('recordError');
    expect(timeouts.length).toBeGreaterThanOrEqual(rounds.length - 1); // the last may have been stopped
    expect(timeouts.every(([peer, type]) => peer === B && type === 'timeout')).toBe(true);
    expect(monitor.accepted('recordRtt').every(([peer, rtt]) => peer === A && rtt >= 0 && rtt < 15)).toBe(true);
    setSpy.mockRestore();
    clearSpy.mockRestore();

    // Stopped: no further round, and nothing left for the event loop.
    const roundsAtStop = rounds.length;
    await sleep(150);
    expect(rounds).toHaveLength(roundsAtStop);
    expect(refTimers()).toBeLessThanOrEqual(baseline);
  });
});
