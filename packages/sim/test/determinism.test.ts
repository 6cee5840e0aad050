import { simulate, type Scenario } from '@p2p-otel/sim';

/** Everything random at once: latency jitter, loss, traffic and health-check jitter, a partition, a crash. */
const noisy: Scenario = {
  nodes: 5,
  durationMs: 120_000,
  link: { latencyMs: 15, jitterMs: 30, distribution: 'exponential', loss: 0.02 },
  steps: [
    {
      at: 20_000,
      do: 'partition',
      groups: [
        [0, 1],
        [2, 3, 4],
      ],
    },
    { at: 50_000, do: 'heal' },
    { at: 60_000, do: 'crash', node: 3 },
    { at: 80_000, do: 'restart', node: 3 },
    { at: 90_000, do: 'sync', node: 0, from: 4, resourceType: 'blob', bytes: 500_000 },
  ],
};

describe('determinism', () => {
  test('the same seed gives a byte-identical snapshot and event log; another seed does not', async () => {
    const a = await simulate(noisy, { seed: 42 });
    const b = await simulate(noisy, { seed: 42 });
    const c = await simulate(noisy, { seed: 43 });
    expect(JSON.stringify(b.snapshot)).toBe(JSON.stringify(a.snapshot));
    expect(JSON.stringify(b.events)).toBe(JSON.stringify(a.events));
    expect(JSON.stringify(c.snapshot)).not.toBe(JSON.stringify(a.snapshot));
    expect(a.snapshot.n3!.incarnation).toBe(2);
  });

  test('the snapshot is plain JSON', async () => {
    const { snapshot } = await simulate({ nodes: 2, durationMs: 5_000 }, { seed: 1 });
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  test('real timers, Date and performance are back after a run, and after a run that throws', async () => {
    const realSetTimeout = globalThis.setTimeout;
    const realPerformanceNow = performance.now;
    await simulate({ nodes: 2, durationMs: 3_600_000, behaviour: { trafficIntervalMs: 0 } }, { seed: 1 });
    expect(globalThis.setTimeout).toBe(realSetTimeout);
    // biome-ignore lint/complexity/useDateNow: the point is that both of Date's clocks are real again
    expect(Math.abs(Date.now() - new Date().getTime())).toBeLessThan(1_000);
    expect(Date.now()).toBeGreaterThan(Date.UTC(2025, 0, 1, 1)); // not the virtual 2025-01-01T01:00
    await expect(
      simulate(
        {
          nodes: 2,
          durationMs: 1_000,
          script: () => {
            throw new Error('boom');
          },
        },
        { seed: 1 },
      ),
    ).rejects.toThrow('boom');
    expect(globalThis.setTimeout).toBe(realSetTimeout);
    expect(performance.now).toBe(realPerformanceNow);
    await new Promise((resolve) => setTimeout(resolve, 1)); // a real timer fires
  });

  test('simulations do not run concurrently', async () => {
    const first = simulate({ nodes: 2, durationMs: 10_000 }, { seed: 1 });
    await expect(simulate({ nodes: 2, durationMs: 10_000 }, { seed: 1 })).rejects.toThrow('already running');
    await first;
  });

  test('a simulated hour advances virtual time only', async () => {
    const t0 = Date.now();
    const { snapshot } = await simulate({ nodes: 2, durationMs: 3_600_000, behaviour: { trafficIntervalMs: 0, healthIntervalMs: 0 } }, { seed: 7 });
    expect(snapshot.n0!.endTimeMs).toBe(3_600_000);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});

describe('third-party timers run on virtual time', () => {
  test("opossum's timeout and generic-pool's acquire timeout fire in virtual time", async () => {
    const { withVirtualTime, SIM_EPOCH_MS } = await import('@p2p-otel/sim');
    const CircuitBreaker = (await import('opossum')).default;
    const { createPool } = await import('generic-pool');
    const realStart = performance.now();
    const outcome = await withVirtualTime(async (clock) => {
      const breaker = new CircuitBreaker(() => new Promise<never>(() => undefined), { timeout: 300_000 });
      const fired = breaker.fire().catch((e: { code?: string }) => `${e.code} at ${Date.now() - SIM_EPOCH_MS}`);
      const pool = createPool({ create: () => new Promise<object>(() => undefined), destroy: async () => undefined }, { max: 1, acquireTimeoutMillis: 600_000 });
      const acquired = pool.acquire().then(
        () => 'acquired',
        (e: Error) => `${e.name}: ${e.message} at ${Date.now() - SIM_EPOCH_MS}`,
      );
      await clock.tickAsync(600_000);
      breaker.shutdown();
      return [await fired, await acquired];
    });
    expect(outcome).toEqual(['ETIMEDOUT at 300000', 'TimeoutError: ResourceRequest timed out at 600000']);
    expect(performance.now() - realStart).toBeLessThan(5_000);
  });
});
