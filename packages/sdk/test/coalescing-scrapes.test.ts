import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { defaultResource } from '@opentelemetry/resources';
import { DataPointType, type MetricData, type MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OtelP2pMonitor } from '@p2p-otel/instrumentation';
import { CoalescingScrapes, POINTS_PER_SLICE, PROMETHEUS_CONTENT_TYPE, serializeInSlices } from '../src/exporters/coalescing-scrapes';

async function sampleMetrics(peers: number): Promise<ResourceMetrics> {
  const monitor = new OtelP2pMonitor({ messageTypes: ['ping'] });
  const producer = monitor.createMetricProducer({ resource: defaultResource() } as never);
  for (let i = 0; i < peers; i++) {
    const p = `peer-${i}`.padEnd(20, 'x');
    monitor.recordRtt(p, i);
    monitor.recordMessage(p, 'ping', 100, 3);
    monitor.recordConnectionAttempt(p, 'success');
    monitor.recordError(p, 'timeout');
  }
  const { resourceMetrics } = await producer.collect();
  return resourceMetrics as ResourceMetrics;
}

describe('serializeInSlices', () => {
  test("produces exactly the text of the exporter's serializer", async () => {
    for (const peers of [0, 1, 40, 300]) {
      // 300: metrics of several slices (POINTS_PER_SLICE)
      const rm = await sampleMetrics(peers);
      if (peers === 300) expect(Math.max(...(rm.scopeMetrics[0]?.metrics ?? []).map((m) => m.dataPoints.length))).toBeGreaterThan(3 * POINTS_PER_SLICE);
      // A second scope, as metrics of the application's own instruments would add. Same-named
      // metrics of several scopes are where the exporter's lines differ: 0.2xx writes each with
      // its own header, 0.30x (SDK 3.x) writes one family per name under one header and drops a
      // family whose metrics disagree on the type. serializeInSlices must match either.
      const ours = rm.scopeMetrics[0]?.metrics ?? [];
      const mixed: ResourceMetrics = { ...rm, scopeMetrics: [...rm.scopeMetrics, { scope: { name: 'app', version: '1' }, metrics: ours.slice(0, 2) }] };
      const everyMetricTwice: ResourceMetrics = { ...rm, scopeMetrics: [...rm.scopeMetrics, { scope: { name: 'app' }, metrics: ours }] }; // sliced within a family
      const histogram = ours.find((m) => m.dataPointType === DataPointType.HISTOGRAM);
      const sum = ours.find((m) => m.dataPointType === DataPointType.SUM);
      if (peers > 0 && (histogram === undefined || sum === undefined)) throw new Error('sample metrics lack a histogram or a sum');
      const conflicting: ResourceMetrics =
        histogram === undefined || sum === undefined
          ? rm
          : {
              ...rm,
              scopeMetrics: [
                { scope: { name: 'first' }, metrics: [{ ...sum, descriptor: { ...sum.descriptor, description: '' } }] }, // no HELP: the next one's is taken
                ...rm.scopeMetrics,
                { scope: { name: 'app' }, metrics: [{ ...histogram, dataPointType: DataPointType.GAUGE, dataPoints: [] } as MetricData] }, // another type
              ],
            };
      for (const input of [rm, mixed, everyMetricTwice, conflicting]) expect(await serializeInSlices(input)).toBe(new PrometheusSerializer().serialize(input));
    }
  });

  test('with no metrics at all, too', async () => {
    const empty: ResourceMetrics = { resource: defaultResource(), scopeMetrics: [] };
    expect(await serializeInSlices(empty)).toBe(new PrometheusSerializer().serialize(empty));
    const emptyScope: ResourceMetrics = { resource: defaultResource(), scopeMetrics: [{ scope: { name: 's' }, metrics: [] }] };
    expect(await serializeInSlices(emptyScope)).toBe(new PrometheusSerializer().serialize(emptyScope));
  });
});

describe('CoalescingScrapes', () => {
  function fakeResponse(destroyed = false): ServerResponse & { writeHead: jest.Mock; end: jest.Mock } {
    return { destroyed, headersSent: false, writeHead: jest.fn(), end: jest.fn() } as never;
  }

  test('scrapes waiting together share one collection and one encoded body', async () => {
    const rm = await sampleMetrics(3);
    const collect = jest.fn(async () => ({ resourceMetrics: rm, errors: [] }));
    const scrapes = new CoalescingScrapes({ collect } as unknown as MetricReader);
    const responses = [fakeResponse(), fakeResponse(), fakeResponse(true), fakeResponse()];
    for (const r of responses) scrapes.add(r);
    expect(collect).not.toHaveBeenCalled(); // not within the request's own callback
    for (let i = 0; i < 20 && responses[0]?.end.mock.calls.length === 0; i++) await nextTurn();
    expect(collect).toHaveBeenCalledTimes(1);
    const body = responses[0]?.end.mock.calls[0]?.[0] as Buffer;
    expect(body.toString('utf8')).toBe(new PrometheusSerializer().serialize(rm));
    for (const r of [responses[0], responses[1], responses[3]]) {
      expect(r?.writeHead).toHaveBeenCalledWith(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': body.length });
      expect(r?.end.mock.calls[0]?.[0]).toBe(body); // the same Buffer
    }
    expect(responses[2]?.end).not.toHaveBeenCalled(); // the scraper went away

    const later = fakeResponse();
    scrapes.add(later);
    for (let i = 0; i < 20 && later.end.mock.calls.length === 0; i++) await nextTurn();
    expect(collect).toHaveBeenCalledTimes(2); // a new scrape gets a new collection
  });

  test('a failed collection answers 500', async () => {
    const scrapes = new CoalescingScrapes({ collect: async () => Promise.reject(new Error('reader is shut down')) } as unknown as MetricReader);
    const res = fakeResponse();
    scrapes.add(res);
    for (let i = 0; i < 20 && res.end.mock.calls.length === 0; i++) await nextTurn();
    expect(res.writeHead).toHaveBeenCalledWith(500, expect.anything());
    expect(String(res.end.mock.calls[0]?.[0])).toContain('reader is shut down');
  });
});
