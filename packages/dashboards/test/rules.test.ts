import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ALERTMANAGER_FILE, RULES_FILE, RULES_TEST_FILE } from '../src/paths';
import { alertingRules } from '../src/rules';
import { describeWithTool, run } from './tools';

/** The design's five alerts, and the two we add. */
const DESIGN_ALERTS = {
  P2pHighConnectionFailureRate: 'critical',
  P2pPeerDisconnected: 'critical',
  P2pCircuitBreakerOpen: 'critical',
  P2pHighLatency: 'warning',
  P2pMessageBufferHigh: 'warning',
} as const;
const ADDED_ALERTS = { P2pPeerRelayed: 'warning', P2pMonitorRejectingRecords: 'warning' } as const;

describe('alerts.yml', () => {
  const alerts = alertingRules();

  it('has the design alerts with their severities, plus ours', () => {
    const got = Object.fromEntries(alerts.map((a) => [a.alert, a.labels?.severity]));
    expect(got).toEqual({ ...DESIGN_ALERTS, ...ADDED_ALERTS });
  });

  it.each(alertingRules().map((a) => [a.alert, a] as const))('%s has a summary, description and runbook', (_name, a) => {
    expect(a.annotations?.summary).toEqual(expect.any(String));
    expect(a.annotations?.description).toEqual(expect.any(String));
    expect(a.annotations?.runbook).toEqual(expect.any(String));
    expect(a.annotations?.runbook_doc).toMatch(/^docs\/dashboards\.md#[a-z0-9-]+$/);
  });

  it('runbook anchors exist in docs/dashboards.md', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/dashboards.md'), 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const a of alerts) expect({ alert: a.alert, anchor: anchors.has(a.annotations!.runbook_doc!.split('#')[1]!) }).toEqual({ alert: a.alert, anchor: true });
  });

  it('every alert has a promtool unit test where it fires and one where it must not', () => {
    type AlertTest = { eval_time: string; alertname: string; exp_alerts?: unknown[] };
    const doc = parse(fs.readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      const fires = mine.some((c) => (c.exp_alerts ?? []).length > 0);
      // "Must not fire" is either an empty expectation or a firing list that leaves series out, so
      // require an explicit empty one.
      const silent = mine.some((c) => (c.exp_alerts ?? []).length === 0);
      expect({ alert: a.alert, fires, silent }).toEqual({ alert: a.alert, fires: true, silent: true });
    }
  });
});

describeWithTool('promtool', 'promtool', (promtool) => {
  it('check rules passes', () => {
    const r = run(promtool, ['check', 'rules', RULES_FILE]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('test rules passes', () => {
    const r = run(promtool, ['test', 'rules', path.basename(RULES_TEST_FILE)], path.dirname(RULES_TEST_FILE));
    if (r.status !== 0) throw new Error(r.output);
    expect(r.output).toContain('SUCCESS');
  });

  it("the design's own expressions misbehave as docs/dashboards.md says (test/fixtures/design-alerts.test.yml)", () => {
    const r = run(promtool, ['test', 'rules', 'design-alerts.test.yml'], path.join(__dirname, 'fixtures'));
    if (r.status !== 0) throw new Error(r.output);
    expect(r.output).toContain('SUCCESS');
  });

  it('test rules fails on a broken expectation (the harness can fail)', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'p2p-rules-'));
    const broken = fs
      .readFileSync(RULES_TEST_FILE, 'utf8')
      .replace('rule_files:\n  - alerts.yml', `rule_files:\n  - ${RULES_FILE}`)
      .replace('description: "2000 messages', 'description: "1999 messages');
    fs.writeFileSync(path.join(dir, 'broken.test.yml'), broken);
    const r = run(promtool, ['test', 'rules', 'broken.test.yml'], dir);
    expect(r.status).not.toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describeWithTool('amtool', 'amtool', (amtool) => {
  it('check-config passes on the Alertmanager example', () => {
    const r = run(amtool, ['check-config', ALERTMANAGER_FILE]);
    if (r.status !== 0) throw new Error(r.output);
    expect(r.output).toContain('SUCCESS');
  });

  it.each([
    ['severity=critical', 'p2p-pager'],
    ['severity=warning', 'p2p-tickets'],
    ['severity=info', 'p2p-default'],
  ])('routes %s to %s', (labels, receiver) => {
    const r = run(amtool, ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, labels]);
    expect(r.status).toBe(0);
    expect(r.output.split('\n')[0]!.trim()).toBe(receiver);
  });

  it('routes every alert of alerts.yml by its severity', () => {
    for (const a of alertingRules()) {
      const r = run(amtool, ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, `alertname=${a.alert}`, `severity=${a.labels!.severity}`]);
      expect({ alert: a.alert, receiver: r.output.split('\n')[0]!.trim() }).toEqual({
        alert: a.alert,
        receiver: a.labels!.severity === 'critical' ? 'p2p-pager' : 'p2p-tickets',
      });
    }
  });
});
