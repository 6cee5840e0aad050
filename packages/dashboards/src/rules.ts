/** Reads prometheus/alerts.yml: the rules the lint, the tests and the docs talk about. */
import * as fs from 'node:fs';
import { parse } from 'yaml';
import { RULES_FILE } from './paths.js';

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RecordingRule {
  record: string;
  expr: string;
}
export interface RuleGroup {
  name: string;
  rules: (AlertingRule | RecordingRule)[];
}

export function loadRuleGroups(file: string = RULES_FILE): RuleGroup[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { groups?: RuleGroup[] };
  if (!doc || !Array.isArray(doc.groups)) throw new Error(`${file}: no groups`);
  return doc.groups;
}

export function alertingRules(groups: RuleGroup[] = loadRuleGroups()): AlertingRule[] {
  return groups.flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
}

export function recordingRules(groups: RuleGroup[] = loadRuleGroups()): RecordingRule[] {
  return groups.flatMap((g) => g.rules.filter((r): r is RecordingRule => 'record' in r));
}
