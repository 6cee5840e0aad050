import type { P2pMonitor } from '../monitor/types.js';
import type { InstrumentationContext } from './context.js';

type Adjacency = Map<string, Set<string>>;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The overlay links one manager reported, so that a full `topology` snapshot can be turned into
 * the link and unlink records the monitor's graph takes. Both directions are stored (a link is
 * looked up from either end). It lives as long as the manager, across instrumentation sessions:
 * a snapshot after disable() then enable() still unlinks what vanished meanwhile. Its size is the
 * size of the manager's own last snapshot.
 */
export class LinkSet {
  private links: Adjacency = new Map();

  up(monitor: P2pMonitor, a: unknown, b: unknown): void {
    monitor.recordPeerLink(a as string, b as string); // validates (and counts) bad ids itself
    if (isId(a) && isId(b) && a !== b) add(this.links, a, b);
  }

  down(monitor: P2pMonitor, a: unknown, b: unknown): void {
    monitor.recordPeerUnlink(a as string, b as string);
    if (isId(a) && isId(b)) remove(this.links, a, b);
  }

  /** Diffs a snapshot against the links so far. A snapshot that is not a map of arrays is rejected whole. */
  replace(ctx: InstrumentationContext, adjacency: unknown): void {
    const entries = entriesOf(adjacency);
    if (entries === undefined) {
      ctx.reject('unknown_value');
      return;
    }
    const monitor = ctx.monitor;
    const next: Adjacency = new Map();
    for (const [node, neighbours] of entries) {
      if (!Array.isArray(neighbours)) {
        ctx.reject('unknown_value');
        continue;
      }
      for (const other of neighbours as unknown[]) {
        if (isId(node) && isId(other)) {
          if (node !== other) add(next, node, other);
        } else {
          monitor.recordPeerLink(node as string, other as string); // counts the bad id, links nothing
        }
      }
    }
    for (const [a, ns] of this.links) for (const b of ns) if (a < b && next.get(a)?.has(b) !== true) monitor.recordPeerUnlink(a, b);
    for (const [a, ns] of next) for (const b of ns) if (a < b && this.links.get(a)?.has(b) !== true) monitor.recordPeerLink(a, b);
    this.links = next;
  }
}

function entriesOf(adjacency: unknown): Iterable<[unknown, unknown]> | undefined {
  if (adjacency instanceof Map) return adjacency.entries();
  if (typeof adjacency !== 'object' || adjacency === null || Array.isArray(adjacency)) return undefined;
  return Object.entries(adjacency);
}

function add(links: Adjacency, a: string, b: string): void {
  let na = links.get(a);
  if (na === undefined) links.set(a, (na = new Set()));
  na.add(b);
  let nb = links.get(b);
  if (nb === undefined) links.set(b, (nb = new Set()));
  nb.add(a);
}

function remove(links: Adjacency, a: string, b: string): void {
  const na = links.get(a);
  const nb = links.get(b);
  na?.delete(b);
  nb?.delete(a);
  if (na?.size === 0) links.delete(a);
  if (nb?.size === 0) links.delete(b);
}

const LINK_SETS = new WeakMap<object, LinkSet>();

/** The manager's link set, kept across instrumentation sessions. */
export function linkSetOf(manager: object): LinkSet {
  let links = LINK_SETS.get(manager);
  if (links === undefined) LINK_SETS.set(manager, (links = new LinkSet()));
  return links;
}
