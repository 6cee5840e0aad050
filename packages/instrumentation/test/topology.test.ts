import fc from 'fast-check';
import { Topology } from '../src/monitor/topology.js';

/** The plain definition: a breadth-first search with a Map per source, over the same adjacency order. */
function reference(links: readonly (readonly [string, string])[], local: string): { diameter: number; distances: [string, number][] } {
  const adjacency = new Map<string, Set<string>>();
  const add = (a: string, b: string): void => {
    let set = adjacency.get(a);
    if (set === undefined) adjacency.set(a, (set = new Set()));
    set.add(b);
  };
  for (const [a, b] of links) {
    if (a === b) continue;
    add(a, b);
    add(b, a);
  }
  const bfs = (from: string): Map<string, number> => {
    const dist = new Map([[from, 0]]);
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] as string;
      for (const next of adjacency.get(node) ?? []) {
        if (!dist.has(next)) {
          dist.set(next, (dist.get(node) as number) + 1);
          queue.push(next);
        }
      }
    }
    return dist;
  };
  let diameter = 0;
  for (const node of adjacency.keys()) for (const d of bfs(node).values()) diameter = Math.max(diameter, d);
  const distances = adjacency.has(local) ? [...bfs(local)].filter(([node]) => node !== local) : [];
  return { diameter, distances };
}

const node = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l');
const link = fc.tuple(node, node);

describe('Topology', () => {
  it('diameter and distances from the local node (in visit order) match a plain breadth-first search, through links and unlinks', () => {
    fc.assert(
      fc.property(fc.array(link, { maxLength: 40 }), fc.array(link, { maxLength: 10 }), (links, unlinks) => {
        const topology = new Topology(1_000, 'a');
        for (const [a, b] of links) topology.link(a, b);
        const before = reference(links, 'a');
        expect(topology.diameter()).toBe(before.diameter);
        expect([...topology.distancesFromLocal()]).toEqual(before.distances);
        for (const [a, b] of unlinks) topology.unlink(a, b);
        // The graph after the unlinks, in the order the topology keeps (insertion order of what remains).
        const gone = new Set(unlinks.flatMap(([a, b]) => [`${a}|${b}`, `${b}|${a}`]));
        const after = reference(
          links.filter(([a, b]) => !gone.has(`${a}|${b}`)),
          'a',
        );
        expect(topology.diameter()).toBe(after.diameter);
        expect(new Map(topology.distancesFromLocal())).toEqual(new Map(after.distances));
      }),
      { numRuns: 300 },
    );
  });

  it('a link reported again leaves the results as they are; a new one updates them', () => {
    const topology = new Topology(1_000, 'a');
    topology.link('a', 'b');
    topology.link('b', 'c');
    expect(topology.diameter()).toBe(2);
    topology.link('a', 'b');
    expect(topology.diameter()).toBe(2);
    topology.link('c', 'a');
    expect(topology.diameter()).toBe(1);
    expect([...topology.distancesFromLocal()]).toEqual([
      ['b', 1],
      ['c', 1],
    ]);
  });
});
