/**
 * Scrapers in their own process (started by scrape-load.ts), so that the process under test pays
 * only for serving them. Each of `scrapers` loops for `durationMs`: GET, read the whole body,
 * GET again at once; after a refusal (429, 503) it waits `pauseAfterRefusalMs`, ignoring
 * Retry-After, as an impatient client would. Keep-alive connections, one per scraper.
 */
import { Agent, request } from 'node:http';
import type { ScrapeLoadOptions, ScrapeLoadResult } from './scrape-load';

function scrapeOnce(agent: Agent, options: ScrapeLoadOptions): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve) => {
    const req = request(options.url, { agent, headers: options.headers ?? {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', () => resolve({ status: -1, bytes }));
    });
    req.on('error', () => resolve({ status: -1, bytes: 0 }));
    req.end();
  });
}

async function run(options: ScrapeLoadOptions): Promise<ScrapeLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.scrapers });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let bytes = 0;
  const end = Date.now() + options.durationMs;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const scraper = async (): Promise<void> => {
    while (Date.now() < end) {
      const t0 = performance.now();
      const r = await scrapeOnce(agent, options);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      bytes += r.bytes;
      if (r.status === 200) latencies.push(performance.now() - t0);
      else await sleep(options.pauseAfterRefusalMs);
    }
  };
  await Promise.all(Array.from({ length: options.scrapers }, scraper));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { statuses, bytes, scrapeLatencyMs: { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN } };
}

process.once('message', (options: ScrapeLoadOptions) => {
  process.send?.('started');
  void run(options).then((result) => process.send?.(result, () => process.exit(0)));
});
process.send?.('ready');
