import type { Attributes } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';

/**
 * The SDK's default resource (telemetry.sdk.*, service.name=unknown_service:<argv0>) under the
 * resolved attributes. OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME are already in `attributes`
 * (see config), so no detector runs: detection would re-read them without validation.
 */
export function createResource(attributes: Attributes): Resource {
  return defaultResource().merge(resourceFromAttributes(attributes));
}
