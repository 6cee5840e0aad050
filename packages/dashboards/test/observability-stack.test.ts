/**
 * examples/observability-stack: Docker does not run on the build machines, so the stack is checked
 * file by file. Every mount exists; the OpenTelemetry Collector receives OTLP on 4317/4318 and
 * exports on the port Prometheus scrapes; Prometheus loads the shipped alerts.yml (and
 * `promtool check config` passes once container paths are mapped back to the mounted files) and
 * sends to the Alertmanager service; Grafana gets the dashboard provider, the dashboard JSON where
 * the provider looks, and a data source pointing at the Prometheus service.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { ALERTMANAGER_FILE, DASHBOARD_FILE, DASHBOARD_PROVIDER_FILE, DATASOURCE_FILE, RULES_FILE } from '../src/paths';
import { loadRuleGroups } from '../src/rules';
import { describeWithTool, run } from './tools';

const STACK = path.resolve(__dirname, '../../../examples/observability-stack');

interface Service {
  image: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
}
interface Mount {
  source: string; // absolute host path, or a named volume
  target: string;
  bind: boolean;
}
interface Published {
  host: string;
  hostPort: number;
  containerPort: number;
}

const readYaml = <T>(file: string): T => parse(fs.readFileSync(file, 'utf8')) as T;
const compose = readYaml<{ services: Record<string, Service>; volumes?: Record<string, unknown> }>(path.join(STACK, 'docker-compose.yml'));
const service = (name: string): Service => {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':') as [string, string];
    const bind = source.startsWith('.') || source.startsWith('/');
    return { source: bind ? path.resolve(STACK, source) : source, target, bind };
  });
}

/** The host file or directory mounted at `containerPath` (or inside a mounted directory). */
function hostPath(s: Service, containerPath: string): string | undefined {
  for (const m of mounts(s)
    .filter((x) => x.bind)
    .sort((a, b) => b.target.length - a.target.length)) {
    if (containerPath === m.target) return m.source;
    if (containerPath.startsWith(`${m.target}/`)) return path.join(m.source, containerPath.slice(m.target.length + 1));
  }
  return undefined;
}

function published(s: Service): Published[] {
  return (s.ports ?? []).map((p) => {
    const parts = p.split(':');
    const [host, hostPort, containerPort] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
    return { host: host!, hostPort: Number(hostPort), containerPort: Number(containerPort) };
  });
}

const flag = (s: Service, name: string): string | undefined => s.command?.find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);
const portOf = (endpoint: string): number => Number(endpoint.split(':').pop());

describe('examples/observability-stack', () => {
  const collector = service('otel-collector');
  const prometheus = service('prometheus');
  const grafana = service('grafana');
  const alertmanager = service('alertmanager');

  const collectorConfigPath = hostPath(collector, flag(collector, '--config') ?? '');
  const collectorConfig = readYaml<{
    receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
    exporters: Record<string, { endpoint: string }>;
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  }>(collectorConfigPath!);
  const promConfigPath = hostPath(prometheus, flag(prometheus, '--config.file') ?? '');
  const promConfig = readYaml<{
    rule_files: string[];
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    scrape_configs: { job_name: string; honor_labels?: boolean; static_configs: { targets: string[] }[] }[];
  }>(promConfigPath!);

  it('uses the contrib Collector, Prometheus, Alertmanager and Grafana (>= 12) images, pinned', () => {
    expect(collector.image).toMatch(/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(alertmanager.image).toMatch(/^prom\/alertmanager:v\d+\.\d+\.\d+$/);
    expect(grafana.image).toMatch(/^grafana\/grafana:(\d+)\.\d+\.\d+$/);
    expect(Number(/:(\d+)\./.exec(grafana.image)![1])).toBeGreaterThanOrEqual(12); // the dashboard's schemaVersion 42
  });

  it('every bind mount exists, and every named volume is declared', () => {
    const all = Object.entries(compose.services).flatMap(([name, s]) => mounts(s).map((m) => ({ name, ...m })));
    expect(all.filter((m) => m.bind && !fs.existsSync(m.source)).map((m) => `${m.name}: ${m.source}`)).toEqual([]);
    expect(all.filter((m) => !m.bind && !(m.source in (compose.volumes ?? {}))).map((m) => `${m.name}: ${m.source}`)).toEqual([]);
  });

  it('the Collector receives OTLP on 4317 (gRPC) and 4318 (HTTP), published, and exports to Prometheus', () => {
    expect(collectorConfigPath).toBe(path.join(STACK, 'otel-collector.yml'));
    const { grpc, http } = collectorConfig.receivers.otlp.protocols;
    expect([grpc.endpoint, http.endpoint]).toEqual(['0.0.0.0:4317', '0.0.0.0:4318']); // not localhost: inside a container
    const ports = published(collector);
    for (const p of [4317, 4318]) expect(ports).toContainEqual({ host: '127.0.0.1', hostPort: p, containerPort: p });
    expect(collectorConfig.service.pipelines.metrics).toMatchObject({ receivers: ['otlp'], exporters: ['prometheus'] });
    expect(Object.keys(collectorConfig.exporters)).toEqual(['prometheus']);
  });

  it("Prometheus scrapes the Collector's exporter port, keeping the nodes' job and instance", () => {
    const exporterPort = portOf(collectorConfig.exporters.prometheus!.endpoint);
    expect(promConfigPath).toBe(path.join(STACK, 'prometheus.yml'));
    const jobs = promConfig.scrape_configs;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.static_configs.flatMap((c) => c.targets)).toEqual([`otel-collector:${exporterPort}`]);
    expect(jobs[0]!.honor_labels).toBe(true); // job/instance from service.name/service.instance.id
    expect(promConfig.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets))).toEqual([`alertmanager:${portOf(flag(alertmanager, '--web.listen-address') ?? '')}`]);
    expect(prometheus.depends_on).toEqual(expect.arrayContaining(['otel-collector', 'alertmanager']));
  });

  it('Prometheus loads the shipped alerts.yml, and Alertmanager the shipped alertmanager.yml', () => {
    expect(promConfig.rule_files.map((f) => hostPath(prometheus, f))).toEqual([RULES_FILE]);
    expect(hostPath(alertmanager, flag(alertmanager, '--config.file') ?? '')).toBe(ALERTMANAGER_FILE);
  });

  it('Grafana gets the dashboard provider, the dashboard JSON where the provider looks, and the data source', () => {
    expect(hostPath(grafana, '/etc/grafana/provisioning/dashboards/p2p-otel.yml')).toBe(DASHBOARD_PROVIDER_FILE);
    const provider = readYaml<{ providers: { options: { path: string } }[] }>(DASHBOARD_PROVIDER_FILE).providers[0]!;
    expect(hostPath(grafana, `${provider.options.path}/p2p-otel.json`)).toBe(DASHBOARD_FILE);

    const dir = hostPath(grafana, '/etc/grafana/provisioning/datasources');
    expect(dir).toBe(path.join(STACK, 'grafana/datasources'));
    const files = fs.readdirSync(dir!).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
    expect(files).toEqual(['prometheus.yml']);
    type Ds = { datasources: { url: string; jsonData: { prometheusVersion?: string } }[] };
    const stack = readYaml<Ds>(path.join(dir!, 'prometheus.yml'));
    const example = readYaml<Ds>(DATASOURCE_FILE);
    const ds = stack.datasources[0]!;
    // The Prometheus service, on the port it listens on, and its version.
    expect(ds.url).toBe(`http://prometheus:${portOf(flag(prometheus, '--web.listen-address') ?? '')}`);
    expect(`v${ds.jsonData.prometheusVersion}`).toBe(prometheus.image.split(':')[1]);
    // Otherwise the package's example data source, unchanged.
    const strip = (d: Ds): unknown => d.datasources.map((x) => ({ ...x, url: undefined, jsonData: { ...x.jsonData, prometheusVersion: undefined } }));
    expect(strip(stack)).toEqual(strip(example));
  });

  it('the README points the SDK at the published OTLP/HTTP port', () => {
    const readme = fs.readFileSync(path.join(STACK, 'README.md'), 'utf8');
    expect(readme).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318');
    expect(readme).toContain('service.instance.id');
  });
});

describeWithTool('promtool', 'examples/observability-stack: promtool', (promtool) => {
  it('check config passes with the rule files resolved to the mounted files', () => {
    const prometheus = service('prometheus');
    const configFile = hostPath(prometheus, flag(prometheus, '--config.file') ?? '')!;
    const config = readYaml<{ rule_files: string[] }>(configFile);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2p-stack-'));
    try {
      const resolved = { ...config, rule_files: config.rule_files.map((f) => hostPath(prometheus, f) ?? f) };
      const file = path.join(dir, 'prometheus.yml');
      fs.writeFileSync(file, stringify(resolved));
      const r = run(promtool, ['check', 'config', file]);
      if (r.status !== 0) throw new Error(r.output);
      const rules = loadRuleGroups().reduce((n, g) => n + g.rules.length, 0);
      expect(r.output).toContain(`SUCCESS: ${rules} rules found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check config fails when a rule file does not load (the check can fail)', () => {
    const prometheus = service('prometheus');
    const config = readYaml<{ rule_files: string[] }>(hostPath(prometheus, flag(prometheus, '--config.file') ?? '')!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2p-stack-'));
    try {
      const rules = path.join(dir, 'bad-rules.yml');
      fs.writeFileSync(rules, stringify({ groups: [{ name: 'g', rules: [{ record: 'bad', expr: 'rate(p2p_connections_active)' }] }] }));
      const file = path.join(dir, 'prometheus.yml');
      fs.writeFileSync(file, stringify({ ...config, rule_files: [rules] }));
      expect(run(promtool, ['check', 'config', file]).status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
