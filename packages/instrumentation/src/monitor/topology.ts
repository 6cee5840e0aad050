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
    this.neighbours(a).add(b);
    this.neighbours(b).add(a);
    this.dirty = true;
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

  private refresh(): void {
    if (!this.dirty) return;
    this.dirty = false;
    let diameter = 0;
    for (const node of this.adjacency.keys()) {
      const dist = this.bfs(node);
      for (const d of dist.values()) if (d > diameter) diameter = d;
    }
    this.diameterHops = diameter;
    const local = this.localId;
    this.distances = local !== undefined && this.adjacency.has(local) ? this.bfs(local) : new Map();
    this.distances.delete(local as string);
  }

  private bfs(from: string): Map<string, number> {
    const dist = new Map<string, number>([[from, 0]]);
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] as string;
      const d = (dist.get(node) as number) + 1;
      for (const next of this.adjacency.get(node) ?? []) {
        if (!dist.has(next)) {
          dist.set(next, d);
          queue.push(next);
        }
      }
    }
    return dist;
  }

  private neighbours(id: string): Set<string> {
    let set = this.adjacency.get(id);
    if (set === undefined) this.adjacency.set(id, (set = new Set()));
    return set;
  }
}
