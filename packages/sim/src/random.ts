/**
 * A seeded pseudo-random number generator: mulberry32 (32-bit state, period 2^32), plenty for a
 * simulation and a few lines. `fork(label)` derives an independent stream, so that adding a random
 * draw in one place (one node's traffic) does not shift every other stream of the run.
 */
export interface Random {
  /** Uniform in [0, 1). */
  (): number;
  readonly seed: number;
  /** An independent stream for `label`, the same for the same seed and label. */
  fork(label: string | number): Random;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the label, mixed with the seed. */
function mix(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function createRandom(seed: number): Random {
  if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer (got ${seed})`);
  // The generator itself, called directly on every draw (no wrapper around it).
  const random = mulberry32(seed) as Random;
  Object.defineProperty(random, 'seed', { value: seed >>> 0 });
  random.fork = (label) => createRandom(mix(seed >>> 0, String(label)));
  return random;
}

/** A standard normal draw (Box-Muller). */
export function normal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
