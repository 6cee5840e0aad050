/**
 * The known peer graph: undirected overlay links between node ids. Distances and the diameter are
 * breadth-first searches, recomputed at collection only when a link changed since the last one.
 */
export class Topology {
  private readonly adjacency = new Map<string, Set<string>>();
  private dirty = false;
  private distances = new Map<string, number>();
  private diameterHops = 0;

  constructor(
    private readonly maxNodes: number,
    private readonly localId: string | undefined,
  ) {}

  /** False when the graph is full and a new node would be needed. */
  link(a: string, b: string): boolean {
    if (a === b) return true;
    const missing = (this.adjacency.has(a) ? 0 : 1) + (this.adjacency.has(b) ? 0 : 1);
    if (this.adjacency.size + missing > this.maxNodes) return false;
    const na = this.neighbours(a);
    const known = na.size;
    na.add(b);
    this.neighbours(b).add(a);
    if (na.size !== known) this.dirty = true; // a link seen again (a snapshot republished) costs no search
    return true;
  }

  unlink(a: string, b: string): void {
    const na = this.adjacency.get(a);
    const nb = this.adjacency.get(b);
    if (na?.delete(b)) this.dirty = true;
    if (nb?.delete(a)) this.dirty = true;
    if (na?.size === 0) this.adjacency.delete(a);
    if (nb?.size === 0) this.adjacency.delete(b);
  }

  get nodeCount(): number {
    return this.adjacency.size;
  }

  /** Hops from the local node to every reachable node (local node excluded). */
  distancesFromLocal(): ReadonlyMap<string, number> {
    this.refresh();
    return this.distances;
  }

  /** Longest shortest path between any two connected nodes; 0 for an empty graph. */
  diameter(): number {
    this.refresh();
    return this.diameterHops;
  }

  /**
   * The graph as arrays (nodes numbered in insertion order, neighbours in CSR form) and one
   * breadth-first search per node over typed arrays: nodes × links steps, without a Map per
   * search.
   */
  private refresh(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const ids = [...this.adjacency.keys()];
    const n = ids.length;
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) index.set(ids[i] as string, i);
    const offsets = new Int32Array(n + 1);
    let links = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = links;
      links += (this.adjacency.get(ids[i] as string) as Set<string>).size;
    }
    offsets[n] = links;
    const edges = new Int32Array(links);
    let e = 0;
    for (const neighbours of this.adjacency.values()) for (const next of neighbours) edges[e++] = index.get(next) as number;
    const dist = new Int32Array(n);
    const order = new Int32Array(n);
    let diameter = 0;
    for (let from = 0; from < n; from++) {
      const farthest = dist[order[search(from, offsets, edges, dist, order) - 1] as number] as number;
      if (farthest > diameter) diameter = farthest;
    }
    this.diameterHops = diameter;
    const distances = new Map<string, number>();
    const local = this.localId === undefined ? undefined : index.get(this.localId);
    if (local !== undefined) {
      const reached = search(local, offsets, edges, dist, order);
      // Visit order (as the labels were handed out before); the local node itself left out.
      for (let k = 1; k < reached; k++) distances.set(ids[order[k] as number] as string, dist[order[k] as number] as number);
    }
    this.distances = distances;
  }

  private neighbours(id: string): Set<string> {
    let set = this.adjacency.get(id);
    if (set === undefined) this.adjacency.set(id, (set = new Set()));
    return set;
  }
}

/** Breadth-first search from `from`: fills dist (hops, -1 when unreached) and order (visit order); returns the number of nodes reached. */
function search(from: number, offsets: Int32Array, edges: Int32Array, dist: Int32Array, order: Int32Array): number {
  dist.fill(-1);
  dist[from] = 0;
  order[0] = from;
  let tail = 1;
  for (let head = 0; head < tail; head++) {
    const node = order[head] as number;
    const d = (dist[node] as number) + 1;
    const end = offsets[node + 1] as number;
    for (let k = offsets[node] as number; k < end; k++) {
      const next = edges[k] as number;
      if (dist[next] === -1) {
        dist[next] = d;
        order[tail++] = next;
      }
    }
  }
  return tail;
}
