import { withGlobal } from '@sinonjs/fake-timers';
import * as nodeTimers from 'node:timers';
import * as timersPromises from 'node:timers/promises';
import { createRandom, SIM_EPOCH_MS, withVirtualTime, type Random } from '@p2p-otel/sim';

/**
 * The scheduler behind withVirtualTime fires timers in the order @sinonjs/fake-timers fires them
 * (the simulator ran on fake-timers before, and every catalog value was derived on it): checked
 * here against fake-timers itself on random timer programs, plus the cases the programs may miss.
 */

interface TimerApi {
  setTimeout(fn: () => void, ms?: number): unknown;
  setInterval(fn: () => void, ms?: number): unknown;
  setImmediate(fn: () => void): unknown;
  clearTimeout(handle: unknown): void;
  clearInterval(handle: unknown): void;
  clearImmediate(handle: unknown): void;
}

const DELAYS = [0, 0, 1, 1, 2, 0.5, 2.7, 1e-7, 20, 20, 40, 999, 1_000, 4_095, 4_096, 4_097, 5_000, 10_000, 70_000, 2 ** 31];

/**
 * A random program of timers: each callback logs its name and the virtual time, then may schedule
 * more (directly or from a promise continuation), clear one or re-arm a timeout that already fired
 * (`refresh()`). Decisions are drawn in callback order, so two schedulers that disagree on an
 * order also diverge after it. (It does not refresh a pending timeout: fake-timers 15.5 moves the
 * timer's due time before taking it out of its heap, which can bury another timer for good; here
 * a refresh simply reschedules, as in Node.)
 */
function runProgram(random: Random, api: TimerApi, log: string[]): void {
  let next = 0;
  const pending: { kind: 'timeout' | 'interval' | 'immediate'; handle: unknown; fired: boolean }[] = [];
  const now = (): number => Date.now() - SIM_EPOCH_MS;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const spawn = (depth: number): void => {
    const name = `t${next++}`;
    const r = random();
    const children = (): void => {
      if (depth >= 4) return;
      for (let n = Math.floor(random() * 3); n > 0; n--) spawn(depth + 1);
      if (random() < 0.25) {
        void Promise.resolve().then(() => {
          log.push(`${name}.then ${now()}`);
          spawn(depth + 1);
        });
      }
      if (random() < 0.2 && pending.length > 0) {
        const victim = pending.splice(Math.floor(random() * pending.length), 1)[0]!;
        if (victim.kind === 'timeout') api.clearTimeout(victim.handle);
        else if (victim.kind === 'interval') api.clearInterval(victim.handle);
        else api.clearImmediate(victim.handle);
      }
      if (random() < 0.1) {
        const refreshable = pending.find((p) => p.kind === 'timeout' && p.fired);
        if (refreshable !== undefined) refreshable.fired = false;
        (refreshable?.handle as { refresh?: () => void } | undefined)?.refresh?.();
      }
    };
    if (r < 0.6) {
      const entry = { kind: 'timeout' as const, handle: undefined as unknown, fired: false };
      entry.handle = api.setTimeout(() => {
        entry.fired = true;
        log.push(`${name} ${now()}`);
        children();
      }, pick(DELAYS));
      pending.push(entry);
    } else if (r < 0.8) {
      const handle = api.setImmediate(() => {
        log.push(`${name} immediate ${now()}`);
        children();
      });
      pending.push({ kind: 'immediate', handle, fired: false });
    } else {
      let fires = 0;
      const period = pick([1, 3, 20, 1_000, 5_000]);
      const handle = api.setInterval(() => {
        log.push(`${name} interval ${now()}`);
        if (++fires === 3) api.clearInterval(handle);
        children();
      }, period);
      pending.push({ kind: 'interval', handle, fired: false });
    }
  };
  for (let i = 0; i < 6; i++) spawn(0);
}

const globalApi = (): TimerApi => ({
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  setImmediate: (fn) => setImmediate(fn),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
  clearImmediate: (h) => clearImmediate(h as ReturnType<typeof setImmediate>),
});

async function onFakeTimers(seed: number, ms: number): Promise<string[]> {
  const clock = withGlobal(globalThis).install({
    now: SIM_EPOCH_MS,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance', 'hrtime'],
    shouldClearNativeTimers: false,
  });
  const log: string[] = [];
  try {
    runProgram(createRandom(seed), globalApi(), log);
    await clock.tickAsync(ms);
    log.push(`end ${Date.now() - SIM_EPOCH_MS}`);
  } finally {
    clock.uninstall();
  }
  return log;
}

async function onScheduler(seed: number, ms: number): Promise<string[]> {
  const log: string[] = [];
  await withVirtualTime(async (clock) => {
    runProgram(createRandom(seed), globalApi(), log);
    await clock.tickAsync(ms);
    log.push(`end ${Date.now() - SIM_EPOCH_MS}`);
  });
  return log;
}

describe('the scheduler fires timers as @sinonjs/fake-timers does', () => {
  test.each(Array.from({ length: 40 }, (_, i) => i + 1))('random timer program, seed %i', async (seed) => {
    const expected = await onFakeTimers(seed, 120_000);
    const actual = await onScheduler(seed, 120_000);
    expect(actual).toEqual(expected);
    expect(actual.length).toBeGreaterThan(6);
  });

  test('a program ticked in several steps, timers scheduled between the ticks', async () => {
    const steps = [0, 1, 4_096, 3, 70_000, 10];
    const run = async (tick: (ms: number) => Promise<unknown>, log: string[]): Promise<void> => {
      runProgram(createRandom(99), globalApi(), log);
      for (const ms of steps) {
        await tick(ms);
        setTimeout(() => log.push(`between ${ms} ${Date.now() - SIM_EPOCH_MS}`), 0);
        setImmediate(() => log.push(`between-immediate ${ms} ${Date.now() - SIM_EPOCH_MS}`));
      }
      await tick(100_000);
    };
    const expected: string[] = [];
    const clock = withGlobal(globalThis).install({
      now: SIM_EPOCH_MS,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'],
      shouldClearNativeTimers: false,
    });
    try {
      await run((ms) => clock.tickAsync(ms), expected);
    } finally {
      clock.uninstall();
    }
    const actual: string[] = [];
    await withVirtualTime((c) => run((ms) => c.tickAsync(ms), actual));
    expect(actual).toEqual(expected);
  });
});

describe('withVirtualTime', () => {
  test('a timer due beyond the wheel fires before one scheduled later for the same instant', async () => {
    const log: string[] = [];
    await withVirtualTime(async (clock) => {
      setTimeout(() => log.push('far, scheduled first'), 10_000); // beyond the 4,096 ms wheel
      setTimeout(() => setTimeout(() => log.push('near, scheduled later'), 3_000), 7_000);
      setTimeout(() => setImmediate(() => log.push('immediate at 10,000')), 9_999);
      await clock.tickAsync(20_000);
      expect(clock.fired).toBe(5);
      expect(clock.countTimers()).toBe(0);
    });
    expect(log).toEqual(['immediate at 10,000', 'far, scheduled first', 'near, scheduled later']);
  });

  test('node:timers and node:timers/promises are virtual during the run, real after it', async () => {
    const realSetTimeout = nodeTimers.setTimeout;
    const log: string[] = [];
    await withVirtualTime(async (clock) => {
      const timers = ((nodeTimers as { default?: typeof nodeTimers }).default ?? nodeTimers) as typeof nodeTimers;
      const promises = ((timersPromises as { default?: typeof timersPromises }).default ?? timersPromises) as typeof timersPromises;
      timers.setTimeout(() => log.push(`timers.setTimeout ${Date.now() - SIM_EPOCH_MS}`), 5_000);
      void promises.setTimeout(6_000, 'value').then((v) => log.push(`promises.setTimeout ${v} ${Date.now() - SIM_EPOCH_MS}`));
      const ticks: number[] = [];
      void (async () => {
        for await (const _ of promises.setInterval(1_000)) if (ticks.push(Date.now() - SIM_EPOCH_MS) === 3) break;
      })();
      const aborted = new AbortController();
      const rejected: Promise<string> = promises.setTimeout(9_000, 'late', { signal: aborted.signal }).catch((e: Error) => `aborted: ${e.name}`);
      timers.setTimeout(() => aborted.abort(), 8_000);
      await clock.tickAsync(10_000);
      log.push(`interval ${ticks.join(',')}`, await rejected);
    });
    expect(log).toEqual(['timers.setTimeout 5000', 'promises.setTimeout value 6000', 'interval 1000,2000,3000', 'aborted: AbortError']);
    expect(((nodeTimers as { default?: typeof nodeTimers }).default ?? nodeTimers).setTimeout).toBe(realSetTimeout);
  });

  test('handles: numeric ids, refresh, unref; an error in a timer rejects the tick once it is over', async () => {
    const log: string[] = [];
    await withVirtualTime(async (clock) => {
      const byId = setTimeout(() => log.push('cleared by id'), 100);
      clearTimeout(Number(byId));
      const refreshed = setTimeout(() => log.push(`refreshed ${Date.now() - SIM_EPOCH_MS}`), 1_000);
      setTimeout(() => refreshed.refresh(), 600);
      expect(
        setInterval(() => undefined, 10)
          .unref()
          .hasRef(),
      ).toBe(false);
      setTimeout(() => {
        throw new Error('boom');
      }, 50);
      setTimeout(() => log.push(`after the error ${Date.now() - SIM_EPOCH_MS}`), 60);
      await expect(clock.tickAsync(2_000)).rejects.toThrow('boom');
      expect(clock.now - SIM_EPOCH_MS).toBe(2_000);
    });
    expect(log).toEqual(['after the error 60', 'refreshed 1600']);
  });
});
