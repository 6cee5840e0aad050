import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';

export interface ScrapeLoadOptions {
  readonly url: string;
  readonly scrapers: number;
  readonly durationMs: number;
  readonly headers?: Record<string, string>;
  /** Pause of a scraper after a 429 or 503 (Retry-After is ignored). */
  readonly pauseAfterRefusalMs: number;
}

export interface ScrapeLoadResult {
  /** Responses by status code; -1 counts connection errors. */
  readonly statuses: Record<string, number>;
  readonly bytes: number;
  /** Of the 200 responses, as the scrapers saw them. */
  readonly scrapeLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Runs scrape-load-child.ts in a child process until it reports. `onStart` is called as its
 * scrapers start. The child is killed if it has not reported within the duration plus `graceMs`.
 */
export function runScrapeLoad(options: ScrapeLoadOptions, onStart: () => void = () => undefined, graceMs = 15_000): Promise<ScrapeLoadResult> {
  const child = fork(join(__dirname, 'scrape-load-child.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Lowest CPU priority: the scrapers stand in for other machines, and on a small box they would
  // otherwise take the CPU the measured process needs.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, 19);
    } catch {
      // not permitted here: measure anyway
    }
  }
  return new Promise<ScrapeLoadResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the scrape load child did not report in time'));
    }, options.durationMs + graceMs);
    child.on('message', (m: unknown) => {
      if (m === 'ready') child.send(options);
      else if (m === 'started') onStart();
      else {
        clearTimeout(timer);
        resolve(m as ScrapeLoadResult);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the scrape load child exited with ${code} before reporting`));
    });
  }).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}
