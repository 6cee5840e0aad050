export { buildDashboard, dashboardJson, DASHBOARD_UID, DESIGN_PANELS, EXTRA_ROW, OFF_DASHBOARD } from './dashboard.js';
export { lintQueries, parsePromql, schemaSeriesNames, substituteGrafanaMacros } from './promql-lint.js';
export type { LintProblem, ParsedQuery } from './promql-lint.js';
export { loadRuleGroups, alertingRules, recordingRules } from './rules.js';
export type { AlertingRule, RecordingRule, RuleGroup } from './rules.js';
export { provisioningFiles } from './provisioning.js';
export * from './paths.js';
