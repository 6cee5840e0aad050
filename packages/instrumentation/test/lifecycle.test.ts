import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { METRICS, OtelP2pMonitor, PACKAGE_VERSION, createP2pViews, instrumentName } from '../src/index.js';
import { TestReader } from './support/collect.js';
import { valueOf } from './support/read.js';

function provider(monitor: OtelP2pMonitor): { mp: MeterProvider; reader: TestReader } {
  const reader = new TestReader();
  return { mp: new MeterProvider({ readers: [reader], views: createP2pViews(monitor) }), reader };
}

const PEER = 'peer-aaaaaaaaaaaa';

describe('InstrumentationBase conventions', () => {
  afterEach(() => metrics.disable());

  it('recreates instruments on setMeterProvider; the previous provider is no longer fed', async () => {
    const monitor = new OtelP2pMonitor();
    const first = provider(monitor);
    const second = provider(monitor);
    monitor.setMeterProvider(first.mp);
    monitor.recordRtt(PEER, 5);
    monitor.setMeterProvider(second.mp);
    monitor.recordRtt(PEER, 7);
    const a = (await first.reader.collect()).resourceMetrics;
    const b = (await second.reader.collect()).resourceMetrics;
    expect(valueOf(a, 'rtt')).toMatchObject({ count: 1, sum: 5 });
    expect(valueOf(b, 'rtt')).toMatchObject({ count: 1, sum: 7 });
    // Observables read the monitor's own state, so the new provider sees every count so far.
    monitor.recordConnectionReuse(PEER);
    expect(valueOf((await second.reader.collect()).resourceMetrics, 'connectionReuses')).toBe(1);
    expect(valueOf((await first.reader.collect()).resourceMetrics, 'connectionReuses')).toBeUndefined();
    await Promise.all([first.mp.shutdown(), second.mp.shutdown()]);
  });

  it('picks up the global MeterProvider registered before it is created', async () => {
    const probe = new OtelP2pMonitor();
    const { mp, reader } = provider(probe);
    metrics.setGlobalMeterProvider(mp);
    const monitor = new OtelP2pMonitor();
    monitor.recordHandshake(PEER, 3);
    expect(valueOf((await reader.collect()).resourceMetrics, 'handshakeDuration')).toMatchObject({ count: 1 });
    await mp.shutdown();
  });

  it('ignores records while disabled, keeps what it had, and counts again on enable', async () => {
    const monitor = new OtelP2pMonitor();
    const { mp, reader } = provider(monitor);
    monitor.setMeterProvider(mp);
    monitor.recordConnectionReuse(PEER);
    monitor.disable();
    monitor.recordRtt(PEER, 5);
    monitor.recordConnectionReuse(PEER);
    let rm = (await reader.collect()).resourceMetrics;
    expect(valueOf(rm, 'rtt')).toBeUndefined();
    expect(valueOf(rm, 'connectionReuses')).toBe(1);
    monitor.enable();
    monitor.recordRtt(PEER, 6);
    monitor.recordConnectionReuse(PEER);
    rm = (await reader.collect()).resourceMetrics;
    expect(valueOf(rm, 'rtt')).toMatchObject({ count: 1, sum: 6 });
    expect(valueOf(rm, 'connectionReuses')).toBe(2);
    await mp.shutdown();
  });

  it('stops feeding standard instruments once the fast path takes over: nothing is exported twice', async () => {
    const monitor = new OtelP2pMonitor();
    const reader = new TestReader({ metricProducers: [monitor.createMetricProducer()] });
    const mp = new MeterProvider({ readers: [reader] });
    monitor.setMeterProvider(mp);
    monitor.recordRtt(PEER, 5);
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    expect(names.filter((n) => n === instrumentName(METRICS.rtt))).toHaveLength(1);
    await mp.shutdown();
  });

  it('keeps its version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(PACKAGE_VERSION).toBe(pkg.version);
  });
});
