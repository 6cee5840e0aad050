/**
 * SIGTERM to an application that follows the README (`process.once('SIGTERM', ...)` stopping its
 * own work, then `await telemetry.shutdown()`): the final export reaches the collector with the
 * last counts, and the process then exits by itself, code 0: fault-app.ts never calls
 * process.exit(), so a timer, socket or server left open by the telemetry would keep it alive and
 * fail these tests. No unhandled rejection or uncaught exception along the way.
 * shutdown-flush.test.ts covers shutdown() itself (one final export, idempotent); this file the
 * signal, the exit, and shutdown with the collector away.
 */
import { METRICS, instrumentName } from '@p2p-otel/instrumentation';
import { httpGet } from '../support/http';
import { startApp, type AppProcess } from '../support/app-process';
import { decode, startFakeCollector, type FakeCollector } from '../support/fake-collector';

jest.setTimeout(60_000);

const SENT = instrumentName(METRICS.messagesSent);
/** The process ends this soon after shutdown() settled, or something keeps it alive. */
const EXIT_WITHIN_MS = 2_000;

let collector: FakeCollector | undefined;
let app: AppProcess | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await collector?.close();
  collector = undefined;
});

const total = (r: Parameters<typeof decode>[0]): number =>
  decode(r)
    .metrics.get(SENT)
    ?.points.reduce((sum, p) => sum + (p.value ?? 0), 0) ?? -1;

async function recordExactly(a: AppProcess, n: number): Promise<void> {
  await a.record(n);
  for (let i = 0; i < 200 && (await a.status()).recording; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect((await a.status()).recorded).toBe(n);
}

test('OTLP: SIGTERM sends the last counts before the interval elapses, then the process exits by itself with code 0', async () => {
  collector = await startFakeCollector();
  app = await startApp({
    telemetry: { exporter: 'otlp', otlp: { endpoint: collector.url, exportIntervalMillis: 3_600_000 }, registerGlobal: false },
    batch: 100,
    tickMs: 5,
    peers: 32,
  });
  await recordExactly(app, 5_000);
  expect(collector.requests).toHaveLength(0); // nothing exported yet: the interval is an hour

  const { status, shutdownMs } = await app.sigterm();
  const flushed = performance.now();
  expect(collector.requests).toHaveLength(1); // shutdown() settled after the collector had it
  expect(total(collector.requests[0]!)).toBe(5_000);
  const exit = await app.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(exit.at - flushed).toBeLessThan(EXIT_WITHIN_MS);
  expect(status.unhandledRejections).toEqual([]);
  expect(status.uncaughtExceptions).toEqual([]);
  expect(status.diagCounts['error'] ?? 0).toBe(0);
  console.log(`SIGTERM → final export received, shutdown() ${Math.round(shutdownMs)} ms, exit ${Math.round(exit.at - flushed)} ms after it`);
});

test('OTLP with the collector down: shutdown() gives up after the exporter timeout, and the process still exits with code 0', async () => {
  collector = await startFakeCollector({ kind: 'down' });
  app = await startApp({
    telemetry: { exporter: 'otlp', otlp: { endpoint: collector.url, exportIntervalMillis: 3_600_000, timeoutMillis: 2_000 }, registerGlobal: false },
    batch: 100,
    tickMs: 5,
    peers: 32,
  });
  await recordExactly(app, 1_000);
  const { status, shutdownMs } = await app.sigterm();
  expect(shutdownMs).toBeLessThan(2_000 + 1_000); // retries stop at the timeout: no hang
  const exit = await app.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(status.unhandledRejections).toEqual([]);
  expect(status.uncaughtExceptions).toEqual([]);
  expect(status.diagTail.some((l) => l.startsWith('error:') && l.includes('export failed'))).toBe(true); // the loss is reported, in diag
  console.log(`SIGTERM with the collector down → shutdown() ${Math.round(shutdownMs)} ms (exporter timeout 2000 ms), exit code ${exit.code}`);
});

test('Prometheus: SIGTERM closes the scrape endpoint and the process exits by itself with code 0', async () => {
  app = await startApp({ telemetry: { prometheus: { port: 0 }, registerGlobal: false }, batch: 10, tickMs: 10, peers: 4 });
  await recordExactly(app, 100);
  const url = app.metricsUrl!;
  expect((await httpGet(url)).body).toContain(`${SENT}_total`);
  const { status } = await app.sigterm();
  const exit = await app.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  await expect(httpGet(url)).rejects.toThrow(/ECONNREFUSED/);
  expect(status.unhandledRejections).toEqual([]);
});

test('OTLP and Prometheus together, recording until the signal: the final export has every record, exit code 0', async () => {
  collector = await startFakeCollector();
  app = await startApp({
    telemetry: { exporter: ['otlp', 'prometheus'], prometheus: { port: 0 }, otlp: { endpoint: collector.url, protocol: 'http/json', exportIntervalMillis: 200 }, registerGlobal: false },
    batch: 50,
    tickMs: 5,
    peers: 100,
  });
  await app.record(); // no end: SIGTERM interrupts it
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const { status } = await app.sigterm();
  const last = collector.requests[collector.requests.length - 1]!;
  expect(total(last)).toBe(status.recorded); // records stop before shutdown() collects
  const exit = await app.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(status.unhandledRejections).toEqual([]);
  expect(status.uncaughtExceptions).toEqual([]);
});
