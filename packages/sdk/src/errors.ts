/**
 * Thrown (as a rejection of startP2pTelemetry) for invalid configuration, before anything is
 * started. `setting` is what the user has to fix: an option path (`options.prometheus.port`) or an
 * environment variable (`OTEL_EXPORTER_PROMETHEUS_PORT`). `value` is undefined where showing it
 * could leak a secret (headers, monitor options).
 */
export class P2pTelemetryConfigError extends Error {
  override readonly name = 'P2pTelemetryConfigError';

  constructor(
    readonly setting: string,
    readonly value: unknown,
    expectation: string,
  ) {
    super(`@p2p-otel/sdk: invalid ${setting}${value === undefined ? '' : `=${show(value)}`}: ${expectation}`);
  }
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    try {
      return String(value);
    } catch {
      return `[unprintable ${typeof value}]`; // a null-prototype object holding a BigInt, say
    }
  }
}
