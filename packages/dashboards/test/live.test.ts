/**
 * The dashboard and the alert rules against live data: the Iroh demo cluster (examples/iroh-cluster,
 * `pnpm demo --base-port 0 --partition`: five node processes, each serving Prometheus metrics, with
 * the rotating fault plan plus a node cut off from the network) scraped by a real Prometheus
 * (the Debian binary) every second.
 *
 * - every query of every panel of the committed grafana/p2p-otel.json, every variable selector and
 *   every recording rule returns data through Prometheus' HTTP API (variables set to All);
 * - every rule of prometheus/alerts.yml evaluates without error, and the injected faults make
 *   P2pCircuitBreakerOpen (peers' breakers for the isolated node) and P2pPeerDisconnected (the
 *   isolated node) fire, as seen on /api/v1/alerts. Prometheus loads a copy of alerts.yml made
 *   here that differs only in its `for:` durations (seconds instead of minutes): the expressions
 *   proven are the shipped ones.
 *
 * Without a `prometheus` binary the suite is skipped with a warning, and fails when CI is set
 * (PROMETHEUS_BIN overrides the lookup). Both process groups are stopped in afterAll, whatever
 * happened; the demo also stops itself after DEMO_SECONDS and Prometheus is run under
 * `timeout`, should this process die without cleaning up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { dashboardQueries, liveQuery, loadDashboardFile, variableQueries, type Located } from '../src/queries';
import { alertingRules, loadRuleGroups, recordingRules, type RuleGroup } from '../src/rules';
import { freePort, groupAlive, sleep, startGroup, stopGroup, type Group } from './processes';
import { describeWithTool, findTool } from './tools';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const DEMO = path.join(REPO_ROOT, 'examples/iroh-cluster/src/demo.ts');
const NODES = 5;
/** The demo stops by itself after this long (a safety net; afterAll stops it much earlier). */
const DEMO_SECONDS = 150;
/** `for:` of every alert in the test copy of alerts.yml. */
const TEST_FOR = '3s';
/** Budget of the whole suite, from the first line of beforeAll (afterAll's clean-up comes on top). */
const BUDGET_MS = 95_000;
const ALERTS = ['P2pCircuitBreakerOpen', 'P2pPeerDisconnected'] as const;

interface DemoNode {
  name: string;
  shortId: string;
  port: number;
}

interface ApiAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value?: string;
}

interface ApiResult<T> {
  status: string;
  error?: string;
  data: T;
}

/** alerts.yml with every `for:` set to TEST_FOR; nothing else changes. */
function shortForRules(groups: RuleGroup[] = loadRuleGroups()): RuleGroup[] {
  return groups.map((g) => ({ ...g, rules: g.rules.map((r) => ('alert' in r ? { ...r, for: TEST_FOR } : r)) }));
}

describeWithTool('prometheus', 'live: Prometheus scraping the Iroh demo cluster', (prometheusBin) => {
  let t0 = Date.now();
  const deadline = (): number => t0 + BUDGET_MS;
  let dir: string | undefined;
  let demo: Group | undefined;
  let prometheus: Group | undefined;
  let base = '';
  const nodes: DemoNode[] = [];
  /** Nodes the demo cut off the network, in order. */
  const isolated: string[] = [];
  /** Every alert seen on /api/v1/alerts, with the time it was first seen firing. */
  const firing = new Map<string, { alert: ApiAlert; at: number }>();
  let poller: NodeJS.Timeout | undefined;
  let nodesUpAt = 0;

  const api = async <T>(route: string, params?: Record<string, string>): Promise<ApiResult<T>> => {
    const res = await fetch(`${base}${route}`, {
      method: params === undefined ? 'GET' : 'POST',
      signal: AbortSignal.timeout(3_000),
      ...(params === undefined ? {} : { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) }),
    });
    return (await res.json()) as ApiResult<T>;
  };

  const context = (): string => [`demo output (last lines):`, ...(demo?.lines.slice(-60) ?? []), `prometheus output:`, ...(prometheus?.lines.slice(-20) ?? [])].join('\n');

  beforeAll(async () => {
    t0 = Date.now();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2p-live-'));

    // 1. The demo, as `pnpm demo` runs it, with free ports and the partition fault.
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    const env = { ...process.env };
    // Plain Prometheus export on each node: no OTLP, no scrape authentication from the environment.
    for (const key of Object.keys(env)) if (key.startsWith('OTEL_') || key.startsWith('P2P_OTEL_')) delete env[key];
    demo = startGroup('demo', process.execPath, ['--import', tsx, DEMO, '--base-port', '0', '--duration', String(DEMO_SECONDS), '--partition'], { cwd: REPO_ROOT, env });
    const nodeLine = /^\s+(node-\d+)\s+id ([0-9a-f]+)\s+pid \d+\s+metrics http:\/\/127\.0\.0\.1:(\d+)\/metrics/;
    const isolateLine = /\] fault: (node-\d+) is cut off from the network/;
    demo.onLine((line) => {
      const n = nodeLine.exec(line);
      if (n) nodes.push({ name: n[1]!, shortId: n[2]!, port: Number(n[3]) });
      const i = isolateLine.exec(line);
      if (i) isolated.push(i[1]!);
    });
    while (nodes.length < NODES) {
      if (demo.exitedYet) throw new Error(`the demo exited before its nodes were up\n${context()}`);
      if (Date.now() > t0 + 45_000) throw new Error(`the demo's ${NODES} nodes were not up within 45 s\n${context()}`);
      await sleep(100);
    }
    nodesUpAt = Date.now();

    // 2. Prometheus: the demo's nodes as targets, the test copy of the rules, 1 s intervals.
    const rulesFile = path.join(dir, 'alerts.yml');
    fs.writeFileSync(rulesFile, `# Generated by packages/dashboards/test/live.test.ts from prometheus/alerts.yml: for: ${TEST_FOR}\n${stringify({ groups: shortForRules() })}`);
    const configFile = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      configFile,
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [rulesFile],
        scrape_configs: [
          {
            job_name: 'p2p-otel-iroh-cluster',
            static_configs: nodes.map((n) => ({ targets: [`127.0.0.1:${n.port}`], labels: { node: n.name } })),
          },
        ],
      }),
    );
    const timeout = findTool('timeout'); // coreutils: Prometheus never outlives a crashed test run
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const args = [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, `data-${attempt}`)}`, `--web.listen-address=127.0.0.1:${port}`];
      prometheus = timeout === undefined ? startGroup('prometheus', prometheusBin, args) : startGroup('prometheus', timeout, ['--kill-after=5', String(DEMO_SECONDS + 30), prometheusBin, ...args]);
      let ready = false;
      for (const until = Date.now() + 15_000; !ready && !prometheus.exitedYet && Date.now() < until; ) {
        ready = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (!ready) await sleep(100);
      }
      if (ready) break;
      await stopGroup(prometheus);
      if (attempt === 3) throw new Error(`prometheus did not become ready\n${context()}`);
    }

    // 3. Record every alert state, all along.
    poller = setInterval(() => {
      api<{ alerts: ApiAlert[] }>('/api/v1/alerts').then(
        (r) => {
          for (const alert of r.data.alerts) {
            if (alert.state !== 'firing') continue;
            const key = JSON.stringify(Object.entries(alert.labels).sort());
            if (!firing.has(key)) firing.set(key, { alert, at: Date.now() });
          }
        },
        () => undefined,
      );
    }, 500);
  }, 70_000);

  afterAll(async () => {
    clearInterval(poller);
    await Promise.all([stopGroup(prometheus), stopGroup(demo, 12_000)]);
    // Nothing outlives the test: the demo's node processes are in its group.
    const leftovers = [demo, prometheus].filter((g): g is Group => g !== undefined && groupAlive(g)).map((g) => g.name);
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    expect(leftovers).toEqual([]);
  }, 30_000);

  it('the rules Prometheus loaded are the shipped ones, with short `for:`', () => {
    const shipped = loadRuleGroups();
    const copy = parse(fs.readFileSync(path.join(dir!, 'alerts.yml'), 'utf8')) as { groups: RuleGroup[] };
    expect(alertingRules(copy.groups).map((r) => [r.alert, r.expr, r.labels])).toEqual(alertingRules(shipped).map((r) => [r.alert, r.expr, r.labels]));
    expect(recordingRules(copy.groups)).toEqual(recordingRules(shipped));
    expect(alertingRules(copy.groups).every((r) => r.for === TEST_FOR)).toBe(true);
  });

  it(`injected faults make ${ALERTS.join(' and ')} fire (/api/v1/alerts)`, async () => {
    const byPort = new Map(nodes.map((n) => [`127.0.0.1:${n.port}`, n]));
    const found = (): { breaker: ApiAlert[]; disconnected: ApiAlert[] } => {
      const victims = new Set(isolated);
      const ids = new Set(nodes.filter((n) => victims.has(n.name)).map((n) => n.shortId));
      const all = [...firing.values()].map((f) => f.alert);
      return {
        // Peers' breakers for an isolated node (its own breakers for its peers open too).
        breaker: all.filter((a) => a.labels.alertname === 'P2pCircuitBreakerOpen' && ids.has(a.labels.peer_id ?? '')),
        disconnected: all.filter((a) => a.labels.alertname === 'P2pPeerDisconnected' && victims.has(byPort.get(a.labels.instance ?? '')?.name ?? '')),
      };
    };
    // The first isolation starts 12 s after the nodes are up and lasts 12 s; the next one 30 s later
    // (on another node), a second chance within the budget.
    const until = deadline() - 30_000;
    while (Date.now() < until) {
      const f = found();
      if (f.breaker.length > 0 && f.disconnected.length > 0) break;
      await sleep(500);
    }
    const f = found();
    const seen = [...firing.values()].map(({ alert, at }) => `${alert.labels.alertname} ${alert.labels.instance} ${alert.labels.peer_id ?? ''} after ${((at - nodesUpAt) / 1000).toFixed(1)} s`);
    const summary = `isolated: ${isolated.join(', ') || 'none yet'}; nodes: ${nodes.map((n) => `${n.name}=${n.port}/${n.shortId}`).join(' ')}\nfiring seen:\n  ${seen.join('\n  ')}`;
    expect({ P2pCircuitBreakerOpen: f.breaker.length > 0, P2pPeerDisconnected: f.disconnected.length > 0, summary }).toEqual({
      P2pCircuitBreakerOpen: true,
      P2pPeerDisconnected: true,
      summary,
    });
    for (const a of f.disconnected) expect(Number(a.value)).toBeLessThan(2);

    // Every rule evaluates without error on live data.
    const rules = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(
      loadRuleGroups()
        .flatMap((g) => g.rules.map((r) => ('alert' in r ? r.alert : r.record)))
        .sort(),
    );
    expect(loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  }, 90_000);

  it('every dashboard query, variable selector and recording rule returns data', async () => {
    const dashboard = loadDashboardFile();
    const queries: Located[] = [
      ...[...dashboardQueries(dashboard), ...variableQueries(dashboard)].map((q) => ({ where: q.where, query: liveQuery(q.query) })),
      ...recordingRules().map((r) => ({ where: `recording rule ${r.record}`, query: r.record })),
    ];
    expect(queries.length).toBeGreaterThanOrEqual(30);
    // Normally all return data at once; a query that needs one more scrape or evaluation gets 30 s.
    const until = Math.min(deadline(), Date.now() + 30_000);
    let pending = queries;
    const failures = new Map<string, string>();
    while (pending.length > 0) {
      const results = await Promise.all(
        pending.map(async (q) => {
          const r = await api<{ result: unknown[] }>('/api/v1/query', { query: q.query }).catch((e: unknown) => ({ status: 'error', error: String(e), data: { result: [] } }));
          if (r.status !== 'success') failures.set(q.where, `error: ${r.error}`);
          else if (r.data.result.length === 0) failures.set(q.where, 'no data');
          else failures.delete(q.where);
          return { q, ok: r.status === 'success' && r.data.result.length > 0 };
        }),
      );
      pending = results.filter((r) => !r.ok).map((r) => r.q);
      if (pending.length === 0 || Date.now() > until) break;
      await sleep(1_000);
    }
    expect(pending.map((q) => `${q.where}: ${failures.get(q.where)}\n    ${q.query}`)).toEqual([]);
  }, 45_000);
});
