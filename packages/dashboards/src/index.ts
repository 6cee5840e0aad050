export { buildDashboard, dashboardJson, DASHBOARD_UID, DESIGN_PANELS, EXTRA_ROW, OFF_DASHBOARD } from './dashboard.js';
export { lintQueries, parsePromql, schemaSeriesNames, substituteGrafanaMacros } from './promql-lint.js';
export type { LintProblem, ParsedQuery } from './promql-lint.js';
export { loadRuleGroups, alertingRules, recordingRules } from './rules.js';
export type { AlertingRule, RecordingRule, RuleGroup } from './rules.js';
export { provisioningFiles } from './provisioning.js';
export * from './paths.js';
export { allPanels, dashboardQueries, liveQuery, loadDashboardFile, recordedSeries, ruleQueries, targetsOf, variableQueries } from './queries.js';
export type { Located, LiveWindows, PromTarget } from './queries.js';
