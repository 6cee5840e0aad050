import * as path from 'node:path';

/** Root of the @p2p-otel/dashboards package. */
export const PACKAGE_DIR = path.resolve(__dirname, '..');
export const RULES_FILE = path.join(PACKAGE_DIR, 'prometheus', 'alerts.yml');
export const RULES_TEST_FILE = path.join(PACKAGE_DIR, 'prometheus', 'alerts.test.yml');
export const ALERTMANAGER_FILE = path.join(PACKAGE_DIR, 'alertmanager', 'alertmanager.yml');
export const DASHBOARD_FILE = path.join(PACKAGE_DIR, 'grafana', 'p2p-otel.json');
export const DASHBOARD_PROVIDER_FILE = path.join(PACKAGE_DIR, 'grafana', 'provisioning', 'dashboards', 'p2p-otel.yml');
export const DATASOURCE_FILE = path.join(PACKAGE_DIR, 'grafana', 'provisioning', 'datasources', 'prometheus.yml');
