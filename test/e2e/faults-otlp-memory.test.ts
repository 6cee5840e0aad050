/**
 * Memory stays bounded while the collector fails. The application records 5,000 messages a second
 * to 200 peers and exports every 50 ms (exporter timeout 1 s, so each failing export keeps
 * retrying in the background while the next ones start). Its heap is measured after a full GC,
 * every half second: first with a healthy collector (the baseline), then through each fault.
 * What bounds it: the monitor's preallocated arrays (a record allocates nothing), cumulative
 * temporality (nothing is buffered for a collector that is away), and the OTLP exporter's limit
 * of 30 exports in flight (past it an export fails at once, "Concurrent export limit reached").
 */
import { startApp, type AppProcess } from '../support/app-process';
import { startFakeCollector, type CollectorMode, type FakeCollector } from '../support/fake-collector';

jest.setTimeout(120_000);

const PHASE_MS = 3_000;
const SAMPLE_MS = 500;
/** Heap growth allowed over a fault phase, above the healthy baseline's highest sample. */
const BOUND_MB = 8;

let collector: FakeCollector;
let app: AppProcess;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): number => bytes / 2 ** 20;

beforeAll(async () => {
  collector = await startFakeCollector();
  app = await startApp({
    telemetry: { exporter: 'otlp', otlp: { endpoint: collector.url, exportIntervalMillis: 50, timeoutMillis: 5_000 }, registerGlobal: false },
    batch: 50,
    tickMs: 10,
    peers: 200,
  });
  await app.record();
});

afterAll(async () => {
  await app?.close();
  await collector?.close();
});

/** Heap samples (MB, after GC) over one phase. */
async function phase(mode: CollectorMode): Promise<number[]> {
  await collector.setMode(mode);
  const samples: number[] = [];
  for (let t = 0; t < PHASE_MS; t += SAMPLE_MS) {
    await sleep(SAMPLE_MS);
    samples.push(mb((await app.status()).heapUsed));
  }
  return samples;
}

test('the heap stays within a bound through 60 export intervals of each fault, and the app keeps recording', async () => {
  await sleep(1_000); // warm-up: code loaded, arrays grown to 200 peers
  const baseline = await phase({ kind: 'ok' });
  const ceiling = Math.max(...baseline) + BOUND_MB;
  const report = [`  healthy: ${baseline.map((x) => x.toFixed(1)).join(' ')} MB`];
  const faults: [string, CollectorMode][] = [
    ['down', { kind: 'down' }],
    ['slow (8 s)', { kind: 'slow', delayMs: 8_000 }],
    ['503', { kind: 'status', status: 503 }],
    ['429 Retry-After: 0', { kind: 'status', status: 429, retryAfter: '0' }],
  ];
  const before = (await app.status()).recorded;
  const t0 = performance.now();
  const peaks: Record<string, number> = {};
  for (const [name, mode] of faults) {
    const samples = await phase(mode);
    report.push(`  ${name}: ${samples.map((x) => x.toFixed(1)).join(' ')} MB`);
    peaks[name] = Math.max(...samples);
  }
  await collector.setMode({ kind: 'ok' });
  const s = await app.status();
  const limited = s.diagTail.filter((l) => l.includes('Concurrent export limit reached')).length;
  report.push(`  exports refused by the exporter's in-flight limit (last 200 diag lines): ${limited}`);
  const rate = (s.recorded - before) / ((performance.now() - t0) / 1000);
  console.log(`heap after GC, every ${SAMPLE_MS} ms (ceiling ${ceiling.toFixed(1)} MB), recording ${Math.round(rate)} records/s:\n${report.join('\n')}`);
  for (const [name, peak] of Object.entries(peaks)) expect({ name, peak: peak <= ceiling }).toEqual({ name, peak: true });
  expect(rate).toBeGreaterThan(2_500); // 5,000/s asked; half of it on a loaded 2-core machine
  expect(s.unhandledRejections).toEqual([]);
  expect(s.uncaughtExceptions).toEqual([]);
});
