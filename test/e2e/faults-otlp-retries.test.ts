/**
 * How the OTLP exporter (0.223, the line Node 20 resolves) retries when the collector fails, seen
 * at a fake collector, one export at a time (forceFlush; no periodic export). What its source
 * (otlp-exporter-base, retrying-transport.js, is-export-retryable.js, http-transport-utils.js)
 * says, and what this file checks:
 * - retryable: 429, 502, 503, 504, connection errors (refused, reset, ...) and a request timeout;
 *   anything else (500, 400, a response that is not HTTP) fails at once, with no retry;
 * - at most 5 retries (6 attempts), backoff 1 s × 1.5^n with ±20 % jitter, capped at 5 s; a
 *   Retry-After header in seconds replaces the backoff (0 or less: at once);
 * - never past the exporter's timeout (`otlp.timeoutMillis`): a retry that would start after it
 *   is not made; a collector slower than the timeout costs one attempt per export.
 * Every export here is one forceFlush, which resolves once the exporter is done with it.
 */
import { METRICS, instrumentName } from '@p2p-otel/instrumentation';
import { startApp, type AppProcess } from '../support/app-process';
import { decode, startFakeCollector, type CollectorMode, type FakeCollector } from '../support/fake-collector';

jest.setTimeout(60_000);

let collector: FakeCollector;
let app: AppProcess;
const SENT = instrumentName(METRICS.messagesSent);

/** One export under `mode`: the requests it made, their gaps and how long forceFlush took. */
async function exportUnder(mode: CollectorMode): Promise<{ attempts: number; gaps: number[]; flushMs: number }> {
  await collector.setMode(mode);
  const from = collector.requests.length;
  const t0 = performance.now();
  await app.forceFlush();
  const flushMs = performance.now() - t0;
  const got = collector.requests.slice(from);
  return { attempts: got.length, gaps: got.slice(1).map((r, i) => r.at - got[i]!.at), flushMs };
}

beforeAll(async () => {
  collector = await startFakeCollector();
  app = await startApp({
    // A 4 s exporter timeout: room for the first retries, short enough for a test.
    telemetry: { exporter: 'otlp', otlp: { endpoint: collector.url, timeoutMillis: 4_000, exportIntervalMillis: 600_000 }, registerGlobal: false },
    batch: 10,
    tickMs: 20,
    peers: 4,
    diagLevel: 'verbose',
  });
  await app.record();
});

afterAll(async () => {
  await app?.close();
  await collector?.close();
});

// Scheduling slack for timers on a loaded 2-core machine: gaps may run late, never early.
const LATE = 400;

test('503: retried with exponential backoff (1 s, then 1.5 s, each ±20 %) until the 4 s timeout', async () => {
  const { attempts, gaps, flushMs } = await exportUnder({ kind: 'status', status: 503 });
  // 0, ~1 s, ~2.5 s; a fourth at ~4.75 s only if the jitter fits it inside the 4 s deadline (rare).
  expect(attempts).toBeGreaterThanOrEqual(3);
  expect(attempts).toBeLessThanOrEqual(4);
  expect(gaps[0]).toBeGreaterThanOrEqual(800 - 5);
  expect(gaps[0]).toBeLessThanOrEqual(1200 + LATE);
  expect(gaps[1]).toBeGreaterThanOrEqual(1200 - 5);
  expect(gaps[1]).toBeLessThanOrEqual(1800 + LATE);
  expect(flushMs).toBeLessThan(4_000 + 1_000);
  console.log(`503: ${attempts} attempts, gaps ${gaps.map((g) => Math.round(g)).join(', ')} ms, forceFlush ${Math.round(flushMs)} ms`);
});

test('429 with Retry-After: 1 → retried every second, as the collector asked, until the timeout', async () => {
  const { attempts, gaps } = await exportUnder({ kind: 'status', status: 429, retryAfter: '1' });
  expect(attempts).toBe(4); // 0, 1, 2, 3 s; the next (4 s) would start after the 4 s deadline
  for (const g of gaps) {
    expect(g).toBeGreaterThanOrEqual(1000 - 5);
    expect(g).toBeLessThanOrEqual(1000 + LATE);
  }
});

test('429 with Retry-After: 0 → retried at once, at most 5 times (6 attempts)', async () => {
  const { attempts, flushMs } = await exportUnder({ kind: 'status', status: 429, retryAfter: '0' });
  expect(attempts).toBe(6);
  expect(flushMs).toBeLessThan(1_000);
  const { diagTail } = await app.status();
  expect(diagTail.slice(-5).some((l) => l.includes('Export failed after maximum retry attempts (5)'))).toBe(true);
});

test.each<[string, CollectorMode]>([
  ['500', { kind: 'status', status: 500 }],
  ['400', { kind: 'status', status: 400 }],
  ['a response that is not HTTP', { kind: 'garbage-http' }],
])('%s: not retried (one attempt per export)', async (_, mode) => {
  const { attempts, flushMs } = await exportUnder(mode);
  expect(attempts).toBe(1);
  expect(flushMs).toBeLessThan(1_000);
});

test('a connection reset is retried like a 503', async () => {
  const { attempts, gaps } = await exportUnder({ kind: 'reset' });
  expect(attempts).toBeGreaterThanOrEqual(3);
  expect(gaps[0]).toBeGreaterThanOrEqual(800 - 5);
  expect(gaps[0]).toBeLessThanOrEqual(1200 + LATE);
});

test('refused connections are retried too (seen in the exporter’s diag: nothing reaches the collector)', async () => {
  await collector.setMode({ kind: 'down' });
  const before = (await app.status()).diagTotal;
  const t0 = performance.now();
  await app.forceFlush();
  const flushMs = performance.now() - t0;
  const { diagTail, diagTotal } = await app.status();
  const scheduled = diagTail
    .slice(Math.max(0, diagTail.length - (diagTotal - before)))
    .map((l) => /Scheduling export retry in (\d+)ms/.exec(l)?.[1])
    .filter((ms): ms is string => ms !== undefined)
    .map(Number);
  // This export's retries: ~1000 ms, then ~1500 ms (each ±20 %); a third only if the jitter fits it in.
  expect(scheduled.length).toBeGreaterThanOrEqual(2);
  expect(scheduled[0]).toBeGreaterThanOrEqual(800);
  expect(scheduled[0]).toBeLessThanOrEqual(1200);
  expect(scheduled[1]).toBeGreaterThanOrEqual(1200);
  expect(scheduled[1]).toBeLessThanOrEqual(1800);
  expect(flushMs).toBeLessThan(4_000 + 1_000);
  await collector.setMode({ kind: 'ok' });
});

test('a collector slower than the exporter timeout: one attempt, abandoned at the timeout, not retried', async () => {
  const { attempts, flushMs } = await exportUnder({ kind: 'slow', delayMs: 8_000 });
  expect(attempts).toBe(1); // it did arrive: the collector got the data, the exporter gave up on the answer
  expect(flushMs).toBeGreaterThanOrEqual(4_000 - 50);
  expect(flushMs).toBeLessThan(4_000 + 1_000);
});

test('a 200 with a body that is not an OTLP response counts as success: one attempt', async () => {
  const { attempts } = await exportUnder({ kind: 'garbage-body' });
  expect(attempts).toBe(1);
});

test('after all that, the application kept recording and one export to a healthy collector carries the exact total', async () => {
  const recorded = await app.stop();
  const { attempts } = await exportUnder({ kind: 'ok' });
  expect(attempts).toBe(1);
  const last = collector.requests[collector.requests.length - 1]!;
  const total = decode(last)
    .metrics.get(SENT)!
    .points.reduce((sum, p) => sum + (p.value ?? 0), 0);
  expect(total).toBe(recorded);
  const s = await app.status();
  expect(s.unhandledRejections).toEqual([]);
  expect(s.uncaughtExceptions).toEqual([]);
  expect(recorded).toBeGreaterThan(1_000); // it recorded throughout: 10 records every 20 ms
});
