import { catalog, simulate, value, type NodeSnapshot } from '@p2p-otel/sim';

/** The examples of docs/simulation.md and packages/sim/README.md, as written there. */
describe('docs/simulation.md examples', () => {
  test('the opening example', async () => {
    const { snapshot, events } = await simulate(
      {
        nodes: 5,
        links: 'full-mesh',
        durationMs: 60_000,
        steps: [
          {
            at: 10_000,
            do: 'partition',
            groups: [
              [0, 1],
              [2, 3, 4],
            ],
          },
          { at: 40_000, do: 'heal' },
        ],
      },
      { seed: 1 },
    );
    expect(value(snapshot.n0!, 'p2p_connection_attempts', { peer_id: 'n2', result: 'timeout' })).toBe(4);
    expect(events.some((e) => e.kind === 'partition')).toBe(true);
  });

  test('the README example', async () => {
    const { snapshot } = await simulate(catalog.partitionAndHeal(), { seed: 1 });
    expect(value(snapshot.n0!, 'p2p_connection_attempts', { peer_id: 'n2', result: 'timeout' })).toBe(4);
  });

  test('the script example', async () => {
    let during: NodeSnapshot | undefined;
    await simulate(
      {
        ...catalog.partitionAndHeal(),
        script: (world) => {
          world.at(35_000, () => (during = world.collect(0)));
          for (let t = 5_000; t < 60_000; t += 20_000) {
            world.at(t, () => world.crash(4));
            world.at(t + 5_000, () => world.restart(4));
          }
        },
      },
      { seed: 1 },
    );
    expect(value(during!, 'p2p_cluster_diameter_hops')).toBe(1);
  });
});
