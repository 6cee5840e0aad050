import { randomUUID } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';

/**
 * The SDK's default resource (telemetry.sdk.*, service.name=unknown_service:<argv0>) under the
 * resolved attributes. OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME are already in `attributes`
 * (see config), so no detector runs: detection would re-read them without validation.
 *
 * service.instance.id defaults to a random UUID per process (the semantic conventions' advice): over
 * OTLP it becomes Prometheus' `instance`, so nodes of one service stay apart without configuration.
 */
export function createResource(attributes: Attributes): Resource {
  const instance = attributes['service.instance.id'] === undefined ? { 'service.instance.id': randomUUID() } : {};
  return defaultResource().merge(resourceFromAttributes({ ...instance, ...attributes }));
}
