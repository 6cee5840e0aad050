/**
 * Naming rules of the schema table: both ways to Prometheus produce `name`, names and labels follow
 * Prometheus' rules, buckets cover their ranges, and the table covers the design's 42 metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DESIGN_METRIC_IDS, METRICS, METRIC_IDS, type MetricId } from '../src/schema/metrics.js';
import { instrumentName } from '../src/schema/naming.js';
import { jsPrometheusExporterName, otlpToPrometheusName, otlpUnitSuffixes } from '../src/schema/prometheus-naming.js';
import type { InstrumentKind, MetricDefinition } from '../src/schema/types.js';

/**
 * Schema entries that break a rule today, pinned to the exact wrong result. metrics.ts belongs to
 * the schema owner; once an entry is fixed there, the "still broken" test below fails: delete the pin.
 */
const KNOWN_ISSUES = {
  /** Schema names OTLP translation is known to change (none: add one only with a decision). */
  otlpName: {} as Record<string, string>,
  /** Names allowed a reserved suffix (none). */
  reservedSuffix: [] as string[],
};

const ENTRIES: [MetricId, MetricDefinition][] = METRIC_IDS.map((id) => [id, METRICS[id] as MetricDefinition]);
const PROM_TYPE: Record<InstrumentKind, string> = { counter: 'counter', updowncounter: 'gauge', gauge: 'gauge', histogram: 'histogram' };

/** Prometheus data model (legacy, pre-UTF-8 validation scheme). */
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

class PullReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** `# TYPE` lines of a Prometheus exposition: name → type. */
function exposedTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** What the real @opentelemetry/exporter-prometheus serializer names one metric of this kind. */
function realExporterName(name: string, kind: InstrumentKind, prefix?: string): string | undefined {
  const point = { startTime: [0, 0], endTime: [0, 0], attributes: {} };
  const metric = {
    descriptor: { name, description: 'd', unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: kind === 'histogram' ? DataPointType.HISTOGRAM : kind === 'gauge' ? DataPointType.GAUGE : DataPointType.SUM,
    isMonotonic: kind === 'counter',
    dataPoints: [kind === 'histogram' ? { ...point, value: { buckets: { boundaries: [1], counts: [0, 0] }, sum: 0, count: 0, min: 0, max: 0 } } : { ...point, value: 1 }],
  };
  const rm = { resource: { attributes: {} }, scopeMetrics: [{ scope: { name: 's' }, metrics: [metric] }] };
  const text = new PrometheusSerializer(prefix, false, undefined, true, true).serialize(rm as unknown as ResourceMetrics);
  return [...exposedTypes(text).keys()][0];
}

describe('jsPrometheusExporterName models @opentelemetry/exporter-prometheus 0.223', () => {
  it.each([
    ['http.server.duration', 'histogram', 'http_server_duration'],
    ['p2p.rtt', 'histogram', 'p2p_rtt'],
    ['requests', 'counter', 'requests_total'],
    ['requests_total', 'counter', 'requests_total'],
    ['queue.depth', 'updowncounter', 'queue_depth'],
    ['cpu.utilization', 'gauge', 'cpu_utilization'],
    ['a-b..c', 'gauge', 'a_b_c'],
    ['9lives', 'gauge', '_9lives'],
    ['ns:name', 'counter', 'ns_name_total'],
  ] as const)('%s (%s) -> %s', (name, kind, expected) => {
    expect(jsPrometheusExporterName(name, kind)).toBe(expected);
    expect(realExporterName(name, kind)).toBe(expected);
  });

  it('drops names that sanitise to nothing, as the exporter does', () => {
    expect(jsPrometheusExporterName('...', 'gauge')).toBeUndefined();
    expect(realExporterName('...', 'gauge')).toBeUndefined();
    expect(jsPrometheusExporterName('x', 'gauge', { prefix: 'app' })).toBe('app_x');
  });

  it('agrees with the real serializer on arbitrary names, kinds and prefixes', () => {
    const name = fc.string({ unit: fc.constantFrom(...'aZ09_.-/: \\\n\u00e9'.split('')), maxLength: 12 });
    const kind = fc.constantFrom<InstrumentKind>('counter', 'updowncounter', 'gauge', 'histogram');
    const prefix = fc.option(fc.constantFrom('app', 'my_ns'), { nil: undefined });
    fc.assert(
      fc.property(name, kind, prefix, (n, k, p) => {
        expect(jsPrometheusExporterName(n, k, p === undefined ? {} : { prefix: p })).toBe(realExporterName(n, k, p));
      }),
      { numRuns: 500 },
    );
  });
});

describe('otlpToPrometheusName models prometheus/otlptranslator (UnderscoreEscapingWithSuffixes)', () => {
  // Expectations copied from upstream tests: metric_name_builder_test.go and metric_namer_test.go.
  it.each([
    ['system.filesystem.usage', 'By', 'gauge', 'system_filesystem_usage_bytes'],
    ['system.io', 'By', 'counter', 'system_io_bytes_total'],
    ['network_transmitted_bytes_total', 'By', 'counter', 'network_transmitted_bytes_total'],
    ['\t system.filesystem.usage       ', '  By\t', 'gauge', 'system_filesystem_usage_bytes'],
    ['system.network.dropped', '{packets}', 'gauge', 'system_network_dropped'],
    ['system.network.dropped', 'nonstandard:_1', 'gauge', 'system_network_dropped_nonstandard:_1'],
    ['system.network.dropped', '{packets}', 'counter', 'system_network_dropped_total'],
    ['system.network.dropped', 'packets', 'gauge', 'system_network_dropped_packets'],
    ['system.network.packets.dropped', 'packets', 'gauge', 'system_network_packets_dropped'],
    ['system.network.packets', 'packets', 'counter', 'system_network_packets_total'],
    ['hw.gpu.memory.utilization', '1', 'gauge', 'hw_gpu_memory_utilization_ratio'],
    ['hw.fan.speed_ratio', '1', 'gauge', 'hw_fan_speed_ratio'],
    ['objects', '1', 'counter', 'objects_total'],
    ['hw.cpu.speed_limit', 'Hz', 'gauge', 'hw_cpu_speed_limit_hertz'],
    ['broken.metric.speed', 'km/h', 'gauge', 'broken_metric_speed_km_per_hour'],
    ['astro.light.speed_limit', 'm/s', 'gauge', 'astro_light_speed_limit_meters_per_second'],
    ['system.network.dropped', 'non/standard:_1', 'gauge', 'system_network_dropped_non_per_standard:_1'],
    ['broken.metric.speed', 'km/°', 'gauge', 'broken_metric_speed_km'],
    ['broken.metric.success_ratio', '%', 'gauge', 'broken_metric_success_ratio_percent'],
    ['broken.metric.success_percent', '%', 'gauge', 'broken_metric_success_percent'],
    ['test.metric.no_unit', '', 'gauge', 'test_metric_no_unit'],
    ['test.metric.spaces', '   \t  ', 'gauge', 'test_metric_spaces'],
    ['active_directory.ds.replication.object.rate', '{objects}/s', 'gauge', 'active_directory_ds_replication_object_rate_per_second'],
    ['active_directory.ds.ldap.bind.last_successful.time', 'ms', 'gauge', 'active_directory_ds_ldap_bind_last_successful_time_milliseconds'],
    ['apache.current_connections', 'connections', 'gauge', 'apache_current_connections'],
    ['bigip.virtual_server.request.count', '{requests}', 'counter', 'bigip_virtual_server_request_count_total'],
    ['system.disk.operation_time', 's', 'counter', 'system_disk_operation_time_seconds_total'],
    ['system.cpu.load_average.15m', '1', 'gauge', 'system_cpu_load_average_15m_ratio'],
    ['mongodbatlas.process.network.io', 'By/s', 'gauge', 'mongodbatlas_process_network_io_bytes_per_second'],
    ['mongodbatlas.process.oplog.rate', 'GiBy/h', 'gauge', 'mongodbatlas_process_oplog_rate_gibibytes_per_hour'],
    ['mongodbatlas.process.db.query_targeting.scanned_per_returned', '{scanned}/{returned}', 'gauge', 'mongodbatlas_process_db_query_targeting_scanned_per_returned'],
    ['redis.latest_fork', 'us', 'gauge', 'redis_latest_fork_microseconds'],
    ['3.14 digits', '', 'gauge', '_3_14_digits'],
    ['envoy__rule_engine_zlib_buf_error', '', 'gauge', 'envoy_rule_engine_zlib_buf_error'],
    [':foo::bar', '', 'gauge', ':foo::bar'],
    [':foo::bar', '', 'counter', ':foo::bar_total'],
    ['foo.bar', '1', 'gauge', 'foo_bar_ratio'],
    ['system.io', 'foo/bar', 'counter', 'system_io_foo_per_bar_total'],
    ['metric_with_字符_foreign_characters', '', 'counter', 'metric_with_foreign_characters_total'],
    ['temperature', '%*()°:C', 'gauge', 'temperature_:C'],
    ['custom_metric', 'unit@with#special/chars', 'gauge', 'custom_metric_unit_with_special_per_chars'],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes'],
    ['metric__with__multiple__underscores', 'unit__multiple__underscores', 'gauge', 'metric_with_multiple_underscores_unit_multiple_underscores'],
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['response_time_seconds', 's', 'gauge', 'response_time_seconds'],
    ['metric', 'By/', 'gauge', 'metric_bytes'],
    ['metric', ' By / s ', 'gauge', 'metric_bytes_per_second'],
    ['metric', '/', 'gauge', 'metric'],
    ['active_connections', '', 'updowncounter', 'active_connections'],
    ['request_duration', 's', 'histogram', 'request_duration_seconds'],
    ['http.request.duration', 'ms', 'histogram', 'http_request_duration_milliseconds'],
  ] as const)('%j %j (%s) -> %s', (name, unit, kind, expected) => {
    expect(otlpToPrometheusName(name, unit, kind)).toBe(expected);
  });

  it('prepends the namespace (upstream examples)', () => {
    expect(otlpToPrometheusName('test', '', 'gauge', { namespace: 'space' })).toBe('space_test');
    expect(otlpToPrometheusName('#test', '', 'gauge', { namespace: 'space' })).toBe('space_test');
    expect(otlpToPrometheusName('network.io', 'By', 'counter', { namespace: 'system' })).toBe('system_network_io_bytes_total');
    expect(otlpToPrometheusName('requests', '1/s', 'counter', { namespace: 'app' })).toBe('app_requests_per_second_total');
    expect(otlpToPrometheusName('123_requests', '', 'counter', { namespace: 'app' })).toBe('app_123_requests_total');
  });

  it('fails on names that normalise to nothing', () => {
    expect(otlpToPrometheusName('@#$%', '', 'gauge')).toBeUndefined();
  });

  it('compares a per-unit suffix as one token, so a name that spells it out gets it twice (addUnitTokens)', () => {
    expect(otlpToPrometheusName('x_bytes_per_second', 'By/s', 'gauge')).toBe('x_bytes_per_second_per_second');
    expect(otlpToPrometheusName('x_bytes_per_second', 'By/s', 'gauge', { translator: 'legacy' })).toBe('x_bytes_per_second');
  });

  it('legacy translator (Collector pkg/translator/prometheus) keeps Unicode letters and splits on colons', () => {
    expect(otlpToPrometheusName('metric_with_字符_foreign_characters', '', 'counter', { translator: 'legacy' })).toBe('metric_with_字符_foreign_characters_total');
    expect(otlpToPrometheusName('broken.metric.speed', 'km/h', 'gauge', { translator: 'legacy' })).toBe('broken_metric_speed_km_per_hour');
    expect(otlpToPrometheusName('system.io', 'By', 'counter', { translator: 'legacy' })).toBe('system_io_bytes_total');
  });

  it('derives unit suffixes from UCUM (buildUnitSuffixes examples)', () => {
    expect(otlpUnitSuffixes('')).toEqual({ main: '', per: '' });
    expect(otlpUnitSuffixes('s')).toEqual({ main: 'seconds', per: '' });
    expect(otlpUnitSuffixes('By/s')).toEqual({ main: 'bytes', per: 'per_second' });
    expect(otlpUnitSuffixes('requests/m')).toEqual({ main: 'requests', per: 'per_minute' });
    expect(otlpUnitSuffixes('{invalid}/second')).toEqual({ main: '', per: 'per_second' });
    expect(otlpUnitSuffixes('bytes/{invalid}')).toEqual({ main: 'bytes', per: '' });
  });
});

describe('every schema entry reaches Prometheus under its name', () => {
  it.each(ENTRIES.map(([id, def]) => [id, def.name, def] as const))('%s: JS Prometheus exporter -> %s', (_id, _name, def) => {
    expect(jsPrometheusExporterName(instrumentName(def), def.instrument)).toBe(def.name);
  });

  it.each(ENTRIES.filter(([, d]) => !(d.name in KNOWN_ISSUES.otlpName)).map(([id, def]) => [id, def.name, def] as const))('%s: OTLP -> Prometheus -> %s', (_id, _name, def) => {
    expect(otlpToPrometheusName(instrumentName(def), def.unit, def.instrument)).toBe(def.name);
    expect(otlpToPrometheusName(instrumentName(def), def.unit, def.instrument, { translator: 'legacy' })).toBe(def.name);
  });

  it('known OTLP naming issues are still real (delete the pin once metrics.ts is fixed)', () => {
    for (const [name, wrong] of Object.entries(KNOWN_ISSUES.otlpName)) {
      const def = ENTRIES.find(([, d]) => d.name === name)?.[1];
      expect(def).toBeDefined();
      expect(otlpToPrometheusName(instrumentName(def!), def!.unit, def!.instrument)).toBe(wrong);
    }
  });

  it('the real SDK and exporter expose every instrument under its name and type', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('naming-test');
    for (const [, def] of ENTRIES) {
      const options = { unit: def.unit, description: def.description };
      const name = instrumentName(def);
      switch (def.instrument) {
        case 'counter':
          meter.createCounter(name, options).add(1);
          break;
        case 'updowncounter':
          meter.createUpDownCounter(name, options).add(1);
          break;
        case 'gauge':
          meter.createGauge(name, options).record(1);
          break;
        case 'histogram':
          meter.createHistogram(name, options).record(1);
          break;
      }
    }
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const exposed = exposedTypes(new PrometheusSerializer(undefined, false, undefined, true, true).serialize(resourceMetrics));
    expect(new Map(ENTRIES.map(([, d]) => [d.name, PROM_TYPE[d.instrument]]))).toEqual(exposed);
    await provider.shutdown();
  });
});

describe('names and labels follow Prometheus rules', () => {
  it('names and instrument names are valid and unique, without colons (reserved for recording rules)', () => {
    const names = ENTRIES.map(([, d]) => d.name);
    for (const name of names) {
      expect(name).toMatch(METRIC_NAME_RE);
      expect(name).not.toMatch(/:|^__/);
      expect(name).toMatch(/^p2p_/);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(ENTRIES.map(([, d]) => instrumentName(d))).size).toBe(names.length);
  });

  it('label keys are valid, unique per metric and not reserved', () => {
    const reserved = ['le', 'quantile', 'job', 'instance', 'otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url'];
    for (const [, d] of ENTRIES) {
      const keys = d.labels.map((l) => l.key);
      expect(new Set(keys).size).toBe(keys.length);
      for (const key of keys) {
        expect(key).toMatch(LABEL_NAME_RE);
        expect(key).not.toMatch(/^__/);
        expect(reserved).not.toContain(key);
      }
      for (const l of d.labels) {
        if (l.domain.kind === 'closed') {
          expect(l.domain.values.length).toBeGreaterThan(0);
          expect(new Set(l.domain.values).size).toBe(l.domain.values.length);
        }
      }
    }
  });

  it('counters end in _total and nothing else does', () => {
    for (const [, d] of ENTRIES) expect(`${d.name}: ${d.name.endsWith('_total')}`).toBe(`${d.name}: ${d.instrument === 'counter'}`);
  });

  it('no name ends in _count, _sum or _bucket, nor collides with a histogram series (pinned issues excepted)', () => {
    const offenders = ENTRIES.map(([, d]) => d.name).filter((n) => /_(count|sum|bucket)$/.test(n));
    expect(offenders).toEqual(KNOWN_ISSUES.reservedSuffix);
    const series = new Set(ENTRIES.filter(([, d]) => d.instrument === 'histogram').flatMap(([, d]) => ['_count', '_sum', '_bucket'].map((s) => d.name + s)));
    for (const [, d] of ENTRIES) expect(series.has(d.name)).toBe(false);
  });

  it('unit 1 only on gauges named _ratio; every unit is UCUM-shaped', () => {
    for (const [, d] of ENTRIES) {
      if (d.unit === '1') expect(`${d.name} ${d.instrument}`).toMatch(/_ratio gauge$/);
      expect(d.unit).toMatch(/^(1|ms|s|By|By\/s|\{[^{}]+\})$/);
    }
  });
});

describe('histogram buckets', () => {
  const histograms = ENTRIES.filter(([, d]) => d.instrument === 'histogram');

  it('histograms have strictly increasing, positive, finite buckets; other kinds have none', () => {
    for (const [, d] of ENTRIES) {
      if (d.instrument !== 'histogram') {
        expect(d.buckets).toBeUndefined();
        continue;
      }
      const b = d.buckets ?? [];
      expect(b.length).toBeGreaterThan(1);
      b.forEach((v, i) => {
        expect(Number.isFinite(v) && v > 0).toBe(true);
        if (i > 0) expect(v).toBeGreaterThan(b[i - 1] as number);
      });
    }
  });

  it('every histogram unit has a coverage rule', () => {
    for (const [, d] of histograms) expect(['ms', 's', 'By']).toContain(d.unit);
  });

  it('latency histograms (milliseconds, performance and resources) cover 0.1 ms to 10 s', () => {
    const latency = histograms.filter(([, d]) => d.unit === 'ms' && (d.group === 'performance' || d.group === 'resources'));
    expect(latency.length).toBeGreaterThan(0);
    for (const [, d] of latency) {
      expect(d.buckets![0]).toBeLessThanOrEqual(0.1);
      expect(d.buckets!.at(-1)).toBeGreaterThanOrEqual(10_000);
    }
  });

  it('operation histograms (milliseconds, discovery and sync) cover 1 ms to 10 min', () => {
    for (const [, d] of histograms.filter(([, d]) => d.unit === 'ms')) {
      expect(d.buckets![0]).toBeLessThanOrEqual(1);
      expect(d.buckets!.at(-1)).toBeGreaterThanOrEqual(d.group === 'performance' || d.group === 'resources' ? 10_000 : 600_000);
    }
  });

  it('size histograms cover 64 B to 16 MiB', () => {
    for (const [, d] of histograms.filter(([, d]) => d.unit === 'By')) {
      expect(d.buckets![0]).toBeLessThanOrEqual(64);
      expect(d.buckets!.at(-1)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    }
  });

  it('connection durations (seconds) cover 1 s to days', () => {
    const seconds = histograms.filter(([, d]) => d.unit === 's');
    expect(seconds.length).toBeGreaterThan(0);
    for (const [, d] of seconds) {
      expect(d.buckets![0]).toBeLessThanOrEqual(1);
      expect(d.buckets!.at(-1)).toBeGreaterThanOrEqual(2 * 86_400);
    }
  });
});

/** The design document: the repository's copy if the lead adds one, else the shared seed. */
function designPath(): string {
  const candidates = [process.env.P2P_DESIGN_DOC, resolve(__dirname, '../../../docs/design/p2p-connection-monitoring-design.md'), '/work/shared/seed/p2p-connection-monitoring-design.md'].filter(
    (p): p is string => p !== undefined && p !== '',
  );
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`design document not found; looked in: ${candidates.join(', ')} (set P2P_DESIGN_DOC)`);
  return found;
}

/** `p2p_*` declarations at the start of a line inside the design's code blocks, with their labels. */
function designMetrics(): Map<string, string[]> {
  const text = readFileSync(designPath(), 'utf8');
  const out = new Map<string, string[]>();
  for (const block of text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
    for (const m of (block[1] as string).matchAll(/^\s*(p2p_[a-z0-9_]+)(\{([^}]*)\})?/gm)) {
      const labels = (m[3] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      out.set(m[1] as string, labels);
    }
  }
  return out;
}

describe('the table covers the design', () => {
  const design = designMetrics();

  it('the design declares 42 metrics and the table has 42 design entries', () => {
    expect(design.size).toBe(42);
    expect(DESIGN_METRIC_IDS).toHaveLength(42);
  });

  it('every design metric is a name or a designName of exactly one entry, and vice versa', () => {
    const covered = DESIGN_METRIC_IDS.map((id) => (METRICS[id] as MetricDefinition).designName ?? METRICS[id].name);
    expect([...covered].sort()).toEqual([...design.keys()].sort());
  });

  it('renamed entries say why, and their new name is not a design name', () => {
    for (const [, d] of ENTRIES.filter(([, d]) => d.designName !== undefined)) {
      expect(d.decision).toBeDefined();
      expect(design.has(d.name)).toBe(false);
      expect(d.designName).not.toBe(d.name);
    }
  });

  it('label keys match the design, except where the decision names the difference', () => {
    for (const id of DESIGN_METRIC_IDS) {
      const d = METRICS[id] as MetricDefinition;
      const designed = design.get(d.designName ?? d.name) ?? [];
      const ours = d.labels.map((l) => l.key);
      const differing = [...designed.filter((k) => !ours.includes(k)), ...ours.filter((k) => !designed.includes(k))];
      for (const key of differing) expect(`${d.name}: ${d.decision ?? ''}`).toContain(`\`${key}\``);
    }
  });
});
