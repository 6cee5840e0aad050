import { DESIGN_METRIC_IDS, METRICS, type InstrumentKind } from '@p2p-otel/instrumentation';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { exerciseAllMetrics, exerciseMonitorConfig, manualClock } from '../support/exercise';
import { httpGet } from '../support/http';
import { parsePrometheusText } from '../support/prometheus-text';

/** What `# TYPE` each instrument kind must produce. */
const PROMETHEUS_TYPE: Record<InstrumentKind, string> = {
  counter: 'counter',
  updowncounter: 'gauge',
  gauge: 'gauge',
  histogram: 'histogram',
};

let telemetry: P2pTelemetry | undefined;

afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

async function start(): Promise<P2pTelemetry> {
  const clock = manualClock();
  telemetry = await startP2pTelemetry({
    exporter: 'prometheus',
    prometheus: { port: 0 },
    registerGlobal: false,
    monitor: exerciseMonitorConfig(clock),
  });
  exerciseAllMetrics(telemetry.monitor, { advanceClock: clock.advance });
  return telemetry;
}

test('a real scrape shows all 42 design metrics with their type and label keys', async () => {
  const { metricsUrl } = await start();
  expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:(\d+)\/metrics$/);
  expect(metricsUrl).not.toMatch(/:9464\//);

  const response = await httpGet(metricsUrl as string);
  expect(response.status).toBe(200);
  const families = parsePrometheusText(response.body);

  const summary = (name: string): unknown => {
    const family = families.get(name);
    if (family === undefined) return 'missing';
    const keys = new Set<string>();
    for (const s of family.samples) for (const k of Object.keys(s.labels)) if (k !== 'le') keys.add(k);
    return {
      type: family.type,
      hasSamples: family.samples.length > 0,
      labelKeys: [...keys].filter((k) => !k.startsWith('otel_scope_')).sort(),
      scopeLabels: family.samples.every((s) => s.labels.otel_scope_name === '@p2p-otel/instrumentation' && 'otel_scope_version' in s.labels),
    };
  };
  const actual = Object.fromEntries(DESIGN_METRIC_IDS.map((id) => [METRICS[id].name, summary(METRICS[id].name)]));
  const expected = Object.fromEntries(
    DESIGN_METRIC_IDS.map((id) => {
      const def = METRICS[id];
      return [def.name, { type: PROMETHEUS_TYPE[def.instrument], hasSamples: true, labelKeys: def.labels.map((l) => l.key).sort(), scopeLabels: true }];
    }),
  );
  expect(DESIGN_METRIC_IDS).toHaveLength(42);
  expect(actual).toEqual(expected);
});

test('histograms carry the schema buckets; other paths are 404', async () => {
  const { metricsUrl } = await start();
  const families = parsePrometheusText((await httpGet(metricsUrl as string)).body);
  for (const id of DESIGN_METRIC_IDS) {
    const def = METRICS[id];
    if (def.instrument !== 'histogram') continue;
    const bounds = new Set(
      families
        .get(def.name)
        ?.samples.filter((s) => s.name === `${def.name}_bucket`)
        .map((s) => s.labels.le),
    );
    expect({ name: def.name, bounds: [...bounds].sort() }).toEqual({ name: def.name, bounds: [...(def.buckets ?? []).map(String), '+Inf'].sort() });
  }
  expect((await httpGet(new URL('/other', metricsUrl).href)).status).toBe(404);
});

test('shutdown closes the endpoint and is idempotent', async () => {
  const t = await start();
  await Promise.all([t.shutdown(), t.shutdown()]);
  await t.shutdown();
  await expect(httpGet(t.metricsUrl as string)).rejects.toThrow(/ECONNREFUSED/);
});
