/**
 * Just enough of the Prometheus text format to read a node's /metrics: samples with their labels,
 * sums over label matches, and quantiles from histogram buckets (as histogram_quantile does).
 */
import { get } from 'node:http';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[3] as string;
    samples.push({ name: m[1] as string, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

/** Samples of `name` whose labels include `match`. */
export function select(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((total, s) => total + s.value, 0);
}

/** Cumulative bucket counts of a histogram, summed over its series: [upper bound, count] by bound. */
export function buckets(samples: readonly Sample[], name: string): [number, number][] {
  const byBound = new Map<number, number>();
  for (const s of select(samples, `${name}_bucket`)) {
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  return [...byBound].sort((a, b) => a[0] - b[0]);
}

/** The q-quantile of cumulative buckets, interpolated linearly within a bucket; undefined when empty. */
export function quantile(q: number, cumulative: readonly [number, number][]): number | undefined {
  const total = cumulative[cumulative.length - 1]?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of cumulative) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1e-9);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** Bucket counts of `now` minus those of `before` (a counter reset counts from zero). */
export function bucketDelta(now: readonly [number, number][], before: readonly [number, number][]): [number, number][] {
  const previous = new Map(before);
  const delta = now.map(([le, count]): [number, number] => [le, count - (previous.get(le) ?? 0)]);
  return delta.some(([, count]) => count < 0) ? [...now] : delta;
}

/** GET a URL's body over HTTP (what Prometheus does), with a timeout. */
export function scrape(url: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode ?? 0}`))));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
