import { DESIGN_METRIC_IDS, METRICS, instrumentName, type InstrumentKind, type MetricId } from '@p2p-otel/instrumentation';
import type { OtlpProtocol, TemporalityPreference } from '@p2p-otel/sdk';
import { PEER_A } from '../support/exercise';
import { decodeOtlpExport, startOtlpReceiver, type OtlpExport, type OtlpMetric, type OtlpReceiver } from '../support/otlp-receiver';
import { startTelemetryProcess, type TelemetryProcess } from '../support/telemetry-process';

// startP2pTelemetry runs in a child process: OTLP exporters cannot send from inside Jest (see
// test/support/telemetry-child.ts). The receiver and every assertion are here.

let receiver: OtlpReceiver | undefined;
let node: TelemetryProcess | undefined;

afterEach(async () => {
  try {
    await node?.close();
  } finally {
    node = undefined;
    await receiver?.close();
    receiver = undefined;
  }
});

async function start(protocol: OtlpProtocol, temporality: TemporalityPreference, service: { option?: string; env?: string }): Promise<TelemetryProcess> {
  receiver = await startOtlpReceiver();
  node = await startTelemetryProcess(service.env === undefined ? {} : { OTEL_SERVICE_NAME: service.env });
  await node.start(
    {
      exporter: 'otlp',
      // A long interval: every export in these tests is one we ask for.
      otlp: { endpoint: receiver.url, protocol, temporality, exportIntervalMillis: 600_000 },
      ...(service.option === undefined ? {} : { serviceName: service.option }),
      registerGlobal: false,
    },
    true,
  );
  await node.exercise();
  return node;
}

/** Flushes and decodes the export it caused. */
async function flush(): Promise<OtlpExport> {
  const before = receiver?.requests.length ?? 0;
  await node?.forceFlush();
  const requests = await (receiver as OtlpReceiver).waitForRequests(before + 1);
  return decodeOtlpExport(requests[before]!);
}

type Shape = Pick<OtlpMetric, 'kind' | 'unit' | 'monotonic' | 'temporality' | 'scope'> & { attributeKeys: string[]; points: boolean };

function shapeOf(m: OtlpMetric | undefined): Shape | 'missing' {
  if (m === undefined) return 'missing';
  const keys = new Set(m.points.flatMap((p) => Object.keys(p.attributes)));
  return {
    kind: m.kind,
    unit: m.unit,
    scope: m.scope,
    attributeKeys: [...keys].sort(),
    points: m.points.length > 0,
    ...(m.monotonic === undefined ? {} : { monotonic: m.monotonic }),
    ...(m.temporality === undefined ? {} : { temporality: m.temporality }),
  };
}

/** The OTLP shape each schema entry must arrive in, under the given temporality preference. */
function expectedShape(id: MetricId, temporality: TemporalityPreference): Shape {
  const def = METRICS[id];
  // The SDK's delta selector keeps up-down counters cumulative, as the spec's delta preference says.
  const t = temporality === 'delta' && def.instrument !== 'updowncounter' ? 'delta' : 'cumulative';
  const byKind: Record<InstrumentKind, Pick<Shape, 'kind' | 'monotonic' | 'temporality'>> = {
    counter: { kind: 'sum', monotonic: true, temporality: t },
    updowncounter: { kind: 'sum', monotonic: false, temporality: t },
    gauge: { kind: 'gauge' },
    histogram: { kind: 'histogram', temporality: t },
  };
  const attributeKeys = def.labels.map((l) => l.key).sort();
  return { ...byKind[def.instrument], unit: def.unit, scope: '@p2p-otel/instrumentation', attributeKeys, points: true };
}

function expectAllDesignMetrics(exported: OtlpExport, temporality: TemporalityPreference): void {
  const name = (id: MetricId): string => instrumentName(METRICS[id]);
  const actual = Object.fromEntries(DESIGN_METRIC_IDS.map((id) => [name(id), shapeOf(exported.metrics.get(name(id)))]));
  const expected = Object.fromEntries(DESIGN_METRIC_IDS.map((id) => [name(id), expectedShape(id, temporality)]));
  expect(DESIGN_METRIC_IDS).toHaveLength(42);
  expect(actual).toEqual(expected);
}

/** p2p_messages_sent for (PEER_A, ping); the exercise sends one. */
function pingsSent(exported: OtlpExport): number | undefined {
  const metric = exported.metrics.get(instrumentName(METRICS.messagesSent));
  return metric?.points.find((p) => p.attributes.peer_id === PEER_A.slice(0, 10) && p.attributes.message_type === 'ping')?.value;
}

describe.each<[OtlpProtocol, string]>([
  ['http/json', 'application/json'],
  ['http/protobuf', 'application/x-protobuf'],
])('OTLP over %s (producer path, cumulative)', (protocol, contentType) => {
  test('all 42 design metrics arrive with kind, unit, temporality and attribute keys', async () => {
    // service.name from the option in one run, from OTEL_SERVICE_NAME in the other.
    const viaEnv = protocol === 'http/protobuf';
    const serviceName = viaEnv ? 'p2p-node-from-env' : 'p2p-node-from-options';
    await start(protocol, 'cumulative', viaEnv ? { env: serviceName } : { option: serviceName });

    const exported = await flush();
    const request = (receiver as OtlpReceiver).requests[0]!;
    expect({ method: request.method, path: request.path, type: request.headers['content-type'] }).toEqual({
      method: 'POST',
      path: '/v1/metrics',
      type: contentType,
    });
    expect(exported.resource['service.name']).toBe(serviceName);
    expectAllDesignMetrics(exported, 'cumulative');

    // Cumulative: the next export carries the running total.
    expect(pingsSent(exported)).toBe(1);
    await node?.recordMessage(PEER_A, 'ping', 64);
    expect(pingsSent(await flush())).toBe(2);
  });
});

test('delta temporality over http/json takes the standard-instrument path and exports deltas', async () => {
  await start('http/json', 'delta', { option: 'p2p-node-delta' });

  const exported = await flush();
  expect(exported.resource['service.name']).toBe('p2p-node-delta');
  expectAllDesignMetrics(exported, 'delta');
  expect(pingsSent(exported)).toBe(1);

  await node?.recordMessage(PEER_A, 'ping', 64);
  await node?.recordMessage(PEER_A, 'ping', 64);
  expect(pingsSent(await flush())).toBe(2); // the two since the last export, not the total of 3
});

test('the producer path serves cumulative readers, the instrument path delta ones', async () => {
  receiver = await startOtlpReceiver();
  node = await startTelemetryProcess();
  const otlp = { endpoint: receiver.url, protocol: 'http/json' as const, exportIntervalMillis: 600_000 };
  expect(await node.start({ exporter: 'otlp', otlp, registerGlobal: false }, true)).toMatchObject({ exportPath: 'producer' });
  await node.shutdown();
  await node.close();
  node = await startTelemetryProcess({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'DELTA' });
  expect(await node.start({ exporter: 'otlp', otlp, registerGlobal: false }, true)).toMatchObject({ exportPath: 'instruments' });
});
