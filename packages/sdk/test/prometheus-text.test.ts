/**
 * The Prometheus endpoint writes the monitor's metrics with PrometheusTextWriter instead of
 * P2pMetricProducer + the exporter's PrometheusSerializer. These tests hold the writer's text to
 * the serializer's, byte for byte, for the same state (on whichever exporter line is installed:
 * 0.2xx here, 0.30x in the compatibility run), and the endpoint's whole scrape to what it served
 * before the writer existed.
 */
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { defaultResource } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { METRICS, OtelP2pMonitor, instrumentName, type P2pMonitorConfig, type PrometheusTextWriter } from '@p2p-otel/instrumentation';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { CoalescingScrapes, scrapeBody } from '../src/exporters/coalescing-scrapes';
import { LOCAL_PEER_ID, PEER_A, PEER_B, exerciseAllMetrics, manualClock } from '../../../test/support/exercise';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** Label values that need escaping (quote, backslash, newline), and UTF-8 beyond ASCII. */
const AWKWARD = ['quo"te', 'back\\slash', 'new\nline', 'ünïcødé ✓', 'all "\\\n" of them'];

/** Records beyond exerciseAllMetrics: awkward labels, zeros, +Inf buckets, the `other` row. */
function populate(m: OtelP2pMonitor, types: readonly string[], peers: readonly string[]): void {
  for (const [i, p] of peers.entries()) {
    for (const t of types) m.recordMessage(p, t, 100 * i, 2 + i, i % 2 === 0 ? 'outbound' : 'inbound');
    m.recordMessage(p, 'never configured', 0, 0); // `other` message type, zero size and latency
    m.recordRtt(p, 1e9); // past the last boundary: the +Inf bucket only
    m.recordConnectivityScore(p, 0); // a zero gauge
    m.recordBufferEnqueue(p, 0);
    m.recordMessage(p, types[0] as string, 2 ** 40, 0.1); // huge size: +Inf; latency exactly a boundary
    m.recordHandshake(p, 0.30000000000000004); // a sum that prints with 17 digits
  }
  m.recordError('10.0.0.1:4000', 'timeout'); // an address: the `other` peer row
  m.recordConnectionAttempt(42 as never, 'success'); // an invalid peer id: `other` too
  m.recordPoolState(0, 0);
}

interface Case {
  name: string;
  config: P2pMonitorConfig;
  peers: string[];
  types: string[];
}

const PEERS = [PEER_A, PEER_B, 'peer "with" quotes', 'peer\\with\\backslashes', 'peer\nwith\nnewlines', 'pëër-ünïcødé'];
const CASES: Case[] = [
  { name: 'full peer ids', config: { peerId: { mode: 'full' }, messageTypes: ['ping', ...AWKWARD] }, peers: PEERS, types: ['ping', ...AWKWARD] },
  { name: 'hashed peer ids', config: { peerId: { mode: 'hash', hashKey: 'k'.repeat(32) }, messageTypes: AWKWARD }, peers: PEERS, types: AWKWARD },
  { name: 'no peer id label', config: { peerId: { mode: 'none' }, messageTypes: ['ping', ...AWKWARD] }, peers: PEERS, types: ['ping', ...AWKWARD] },
  { name: 'short ids, a peer budget that runs out', config: { peerId: { mode: 'short', maxPeers: 3 } }, peers: PEERS, types: ['ping', ...AWKWARD] }, // learned message types
];

/** A monitor in the given state, its writer, and the producer the endpoint used before. */
function setUp(c: Case): { monitor: OtelP2pMonitor; writer: PrometheusTextWriter; reference: () => string } {
  const clock = manualClock(1_700_000_000_000);
  const monitor = new OtelP2pMonitor({ localPeerId: LOCAL_PEER_ID, resourceTypes: ['blob'], protocolVersions: ['p2p/1'], ...c.config, clock: clock.now });
  const producer = monitor.createMetricProducer();
  const writer = monitor.createPrometheusTextWriter();
  exerciseAllMetrics(monitor, { advanceClock: clock.advance });
  populate(monitor, c.types, c.peers);
  clock.advance(5_000);
  // What the serializer writes for our producer's collection, less target_info (no resource
  // attributes here) and its "no registered metrics" line: exactly the writer's part.
  const serializer = new PrometheusSerializer(undefined, false, undefined, true);
  const reference = (): string => {
    const { resourceMetrics, errors } = producer.collectSync();
    if (errors.length > 0) throw new AggregateError(errors);
    return serializer.serialize({ resource: defaultResource(), scopeMetrics: resourceMetrics.scopeMetrics as ScopeMetrics[] });
  };
  return { monitor, writer, reference };
}

/** Header lines per family and the sorted sample lines: a readable diff when they differ. */
function shape(text: string): { headers: Record<string, string[]>; samples: string[] } {
  const headers: Record<string, string[]> = {};
  const samples: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# ')) {
      const name = line.split(' ')[2] as string;
      (headers[name] ??= []).push(line);
    } else if (line !== '') samples.push(line);
  }
  return { headers, samples: samples.sort() };
}

describe('PrometheusTextWriter', () => {
  test.each(CASES)("writes exactly the exporter serializer's text for the producer's collection ($name)", ({ name, ...rest }) => {
    const { writer, reference } = setUp({ name, ...rest });
    const ours = writer.write(); // prepares the collection; the producer's, in the same turn, reuses it
    const theirs = reference();
    expect(shape(ours.toString('utf8'))).toEqual(shape(theirs));
    expect(ours.equals(Buffer.from(theirs, 'utf8'))).toBe(true); // order and bytes too
    // Not vacuous: every metric, the awkward labels escaped, the `other` row, zeros, +Inf.
    const text = ours.toString('utf8');
    expect(text.match(/^# TYPE /gm)?.length).toBeGreaterThanOrEqual(42);
    if (name !== 'no peer id label') expect(text).toContain('peer_id="other"');
    expect(text).toContain('message_type="quo\\"te"');
    expect(text).toContain('message_type="back\\\\slash"');
    expect(text).toContain('message_type="new\\nline"');
    if (name === 'full peer ids') expect(text).toContain('peer_id="peer\\nwith\\nnewlines"');
    if (name !== 'no peer id label') expect(text).toMatch(new RegExp(`^${METRICS.rtt.name}_bucket\\{.*le="10000"\\} 0$`, 'm')); // only in +Inf
    expect(text).toMatch(new RegExp(`^${METRICS.rtt.name}_bucket\\{.*le="\\+Inf"\\} [1-9]`, 'm'));
    expect(text).toMatch(new RegExp(`^${METRICS.connectivityScore.name}\\{.*\\} 0$`, 'm'));
  });

  test('the same text in slices of any size, and again on the next scrape', async () => {
    const { writer } = setUp(CASES[0] as Case);
    const whole = writer.write();
    for (const sliceBytes of [1, 700, 64 * 1024]) {
      const scrape = await writer.begin();
      const slices: Buffer[] = [];
      while (!scrape.done) slices.push(scrape.next(sliceBytes));
      if (sliceBytes === 1) expect(slices.length).toBeGreaterThan(100); // one cell per slice
      expect(Buffer.concat(slices).equals(whole)).toBe(true);
    }
  });

  test('records between slices, new peers growing the arrays included, leave a well-formed text', async () => {
    const monitor = new OtelP2pMonitor({ messageTypes: ['ping'], peerId: { maxPeers: 1_000 } });
    const writer = monitor.createPrometheusTextWriter();
    for (let i = 0; i < 10; i++) monitor.recordMessage(`early-${i}`, 'ping', 10, 1);
    const scrape = await writer.begin();
    const slices = [scrape.next(1)];
    for (let i = 0; i < 200; i++) monitor.recordMessage(`late-${i}`, 'ping', 10, 1); // 16 peer rows grow to 256
    while (!scrape.done) slices.push(scrape.next(4096));
    const text = Buffer.concat(slices).toString('utf8');
    const { headers, samples } = shape(text);
    for (const lines of Object.values(headers)) expect(lines.filter((l) => l.startsWith('# TYPE')).length).toBe(1);
    for (const line of samples) expect(line).toMatch(/^[a-z0-9_]+\{[^}]*\} \S+$/);
    expect(text).toContain('late-199'); // its cells came after the slice that was written first
  });
});

describe('slice buffers', () => {
  function bigMonitor(): OtelP2pMonitor {
    const monitor = new OtelP2pMonitor({ messageTypes: ['ping', 'gossip'], peerId: { maxPeers: 200 } });
    for (let i = 0; i < 200; i++) {
      const p = `peer-${i}`.padEnd(64, 'x');
      monitor.recordMessage(p, 'ping', 100 + i, 1 + i);
      monitor.recordMessage(p, 'gossip', 1000, 3, 'inbound');
      monitor.recordRtt(p, i);
      monitor.recordHandshake(p, i);
    }
    return monitor;
  }

  async function scrape(writer: PrometheusTextWriter): Promise<{ slices: Buffer[]; text: () => string; release: () => void }> {
    const s = await writer.begin();
    const slices: Buffer[] = [];
    while (!s.done) slices.push(s.next());
    return { slices, text: () => Buffer.concat(slices).toString('utf8'), release: () => s.release() };
  }

  test('a released scrape lends its buffers to the next one; an unreleased one keeps them', async () => {
    const monitor = bigMonitor();
    const writer = monitor.createPrometheusTextWriter();
    const expected = writer.write().toString('utf8');
    const a = await scrape(writer);
    expect(a.slices.length).toBeGreaterThan(3);
    const b = await scrape(writer); // a not released: b writes elsewhere
    expect(a.text()).toBe(expected);
    expect(b.text()).toBe(expected);
    expect(b.slices.some((x) => a.slices.some((y) => x.buffer === y.buffer))).toBe(false);
    a.release();
    const c = await scrape(writer);
    expect(c.text()).toBe(expected);
    expect(c.slices.filter((x) => a.slices.some((y) => x.buffer === y.buffer)).length).toBeGreaterThan(2);
  });

  test('the endpoint releases a body only once every response is sent, never after one that failed', async () => {
    const monitor = bigMonitor();
    const writer = monitor.createPrometheusTextWriter();
    const releases: jest.Mock[] = [];
    const begin = writer.begin.bind(writer);
    writer.begin = async () => {
      const s = await begin();
      const release = jest.fn(() => undefined);
      releases.push(release);
      s.release = release;
      return s;
    };
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const scrapes = new CoalescingScrapes(reader, { writer, producer: monitor.createMetricProducer() });
    /** A response that takes the body and finishes (or fails) when the test says. */
    class Response extends Writable {
      headersSent = false;
      received: Buffer[] = [];
      private callbacks: (() => void)[] = [];
      writeHead(): this {
        this.headersSent = true;
        return this;
      }
      override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error | null) => void): void {
        this.received.push(chunk);
        this.callbacks.push(callback);
      }
      flush(): void {
        for (const c of this.callbacks.splice(0)) c();
      }
    }
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 50; i++) await nextTurn();
    };
    const [r1, r2] = [new Response({ highWaterMark: 1 }), new Response({ highWaterMark: 1 })];
    scrapes.add(r1 as unknown as ServerResponse);
    scrapes.add(r2 as unknown as ServerResponse);
    await settle();
    expect(releases).toHaveLength(1);
    r1.flush();
    await settle();
    r1.flush();
    await settle();
    expect(releases[0]).not.toHaveBeenCalled(); // r2 still holds the buffers
    while (!r2.writableFinished) {
      r2.flush();
      await settle();
    }
    while (!r1.writableFinished) {
      r1.flush();
      await settle();
    }
    expect(releases[0]).toHaveBeenCalledTimes(1);
    expect(Buffer.concat(r2.received).toString('utf8')).toContain('# TYPE target_info');

    const r3 = new Response({ highWaterMark: 1 });
    scrapes.add(r3 as unknown as ServerResponse);
    await settle();
    r3.destroy(); // the scraper went away mid-response
    await settle();
    expect(releases).toHaveLength(2);
    expect(releases[1]).not.toHaveBeenCalled();
    await provider.shutdown();
  });
});

describe('the scrape body', () => {
  /** An application's own SDK metric next to the monitor, collected by `reader`. */
  function app(reader: MetricReader, counterName = 'app_requests'): MeterProvider {
    const provider = new MeterProvider({ resource: defaultResource(), readers: [reader] });
    provider.getMeter('app', '1.2.3').createCounter(counterName, { description: 'Requests "served"' }).add(3, { route: '/a\\b' });
    return provider;
  }

  async function before(monitor: OtelP2pMonitor, counterName?: string): Promise<string> {
    const reader = new TestReader({ metricProducers: [monitor.createMetricProducer()] });
    const provider = app(reader, counterName);
    const { resourceMetrics } = await reader.collect();
    await provider.shutdown();
    return new PrometheusSerializer().serialize(resourceMetrics as ResourceMetrics);
  }

  test("is what the endpoint served through the producer: target_info, the application's metrics, ours", async () => {
    const { monitor } = setUp(CASES[1] as Case);
    const expected = await before(monitor);
    const reader = new TestReader();
    const provider = app(reader);
    const body = Buffer.concat((await scrapeBody(reader, { writer: monitor.createPrometheusTextWriter(), producer: monitor.createMetricProducer() })).chunks).toString('utf8');
    await provider.shutdown();
    expect(shape(body)).toEqual(shape(expected));
    expect(body).toBe(expected);
    expect(body.match(/^# TYPE target_info /gm)).toHaveLength(1);
    expect(body.indexOf('app_requests_total{')).toBeLessThan(body.indexOf(METRICS.connectionAttempts.name));
  });

  test('with no other metric: no "no registered metrics" line', async () => {
    const { monitor } = setUp(CASES[2] as Case);
    const reader = new TestReader();
    const provider = new MeterProvider({ resource: defaultResource(), readers: [reader] });
    const body = Buffer.concat((await scrapeBody(reader, { writer: monitor.createPrometheusTextWriter(), producer: monitor.createMetricProducer() })).chunks).toString('utf8');
    await provider.shutdown();
    expect(body).not.toContain('# no registered metrics');
    const referenceReader = new TestReader({ metricProducers: [monitor.createMetricProducer()] });
    const referenceProvider = new MeterProvider({ resource: defaultResource(), readers: [referenceReader] });
    expect(body).toBe(new PrometheusSerializer().serialize((await referenceReader.collect()).resourceMetrics));
    await referenceProvider.shutdown();
  });

  test('another scope with one of our metric names: serialized as before, whichever way the exporter line groups it', async () => {
    const { monitor } = setUp(CASES[0] as Case);
    const taken = instrumentName(METRICS.connectionAttempts); // a counter: the same Prometheus name as ours
    const expected = await before(monitor, taken);
    expect(expected.match(new RegExp(`^${METRICS.connectionAttempts.name}\\{route=".*",otel_scope_name="app"`, 'm'))).not.toBeNull();
    const reader = new TestReader();
    const provider = app(reader, taken);
    const body = Buffer.concat((await scrapeBody(reader, { writer: monitor.createPrometheusTextWriter(), producer: monitor.createMetricProducer() })).chunks).toString('utf8');
    await provider.shutdown();
    expect(body).toBe(expected);
  });

  test('a writer that fails makes the scrape a 500, like a failed collection', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const monitor = new OtelP2pMonitor();
    const writer = monitor.createPrometheusTextWriter();
    writer.begin = async () => {
      throw new Error('writer broke');
    };
    const scrapes = new CoalescingScrapes(reader, { writer, producer: monitor.createMetricProducer() });
    const res = { destroyed: false, headersSent: false, writeHead: jest.fn(), write: jest.fn(), end: jest.fn() };
    scrapes.add(res as unknown as ServerResponse);
    for (let i = 0; i < 20 && res.end.mock.calls.length === 0; i++) await nextTurn();
    expect(res.writeHead).toHaveBeenCalledWith(500, expect.anything());
    expect(String(res.end.mock.calls[0]?.[0])).toContain('writer broke');
    await provider.shutdown();
  });
});

describe('the scrape endpoint', () => {
  let telemetry: P2pTelemetry | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  test("serves our metrics and the application's own SDK metrics, target_info once", async () => {
    telemetry = await startP2pTelemetry({ registerGlobal: false, prometheus: { port: 0 }, monitor: { messageTypes: ['ping'] } });
    telemetry.meterProvider.getMeter('my-app').createCounter('app_jobs').add(7);
    telemetry.monitor.recordMessage(PEER_A, 'ping', 100, 2);
    const res = await fetch(telemetry.metricsUrl as string);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(text.match(/^# TYPE target_info gauge$/gm)).toHaveLength(1);
    expect(text.startsWith('# HELP target_info')).toBe(true);
    expect(text).toMatch(/^app_jobs_total\{otel_scope_name="my-app"\} 7$/m);
    expect(text).toMatch(new RegExp(`^${METRICS.messagesSent.name}\\{peer_id="[^"]+",message_type="ping",otel_scope_name="@p2p-otel/instrumentation",otel_scope_version="[^"]+"\\} 1$`, 'm'));
    expect(text).toMatch(new RegExp(`^${METRICS.messageLatency.name}_bucket\\{.*le="\\+Inf"\\} 1$`, 'm'));
    expect(text).not.toContain('# no registered metrics');
    for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) expect(text.match(new RegExp(`^# TYPE ${name} `, 'gm'))).toHaveLength(1);
  });
});
