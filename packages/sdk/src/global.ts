import { createNoopMeter, diag, metrics, type MeterProvider } from '@opentelemetry/api';
import { PACKAGE_NAME, PACKAGE_VERSION } from '@p2p-otel/instrumentation';

/**
 * Registers `provider` as the global MeterProvider unless the application registered one: the API
 * would then log a duplicate-registration error with a stack trace, which users read as a bug.
 * Our own readers export the P2P metrics either way.
 */
export function registerGlobalMeterProvider(provider: MeterProvider): boolean {
  // The API cannot say whether a provider is registered; only the no-op one hands out the no-op
  // meter. The probe asks for the monitor's own meter, which the monitor has requested already.
  if (metrics.getMeterProvider().getMeter(PACKAGE_NAME, PACKAGE_VERSION) !== createNoopMeter()) {
    diag.warn(
      '@p2p-otel/sdk: a global MeterProvider is already registered; keeping it. P2P metrics are still ' + 'exported by the readers of @p2p-otel/sdk. Pass registerGlobal: false to skip this check.',
    );
    return false;
  }
  return metrics.setGlobalMeterProvider(provider);
}

/** Undoes our registration only, so that a later start (or the application) can register again. */
export function unregisterGlobalMeterProvider(provider: MeterProvider): void {
  if (metrics.getMeterProvider() === provider) metrics.disable();
}
