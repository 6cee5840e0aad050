import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResolvedPrometheus } from '../config/resolve.js';

export interface PrometheusEndpoint {
  readonly reader: PrometheusExporter;
  /** Where it actually listens, port 0 resolved. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The exporter's reader served from our own server. Its built-in server cannot be used here: it
 * reads `config.port || env || 9464`, so port 0 silently becomes 9464, it never reports the port
 * it bound, and its readiness is only a callback with no handle to close on failure.
 */
export async function startPrometheus(config: ResolvedPrometheus, metricProducers?: MetricProducer[]): Promise<PrometheusEndpoint> {
  const reader = new PrometheusExporter({ preventServerStart: true, endpoint: config.endpoint, metricProducers });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let path: string | undefined;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // not a path: 404 below
    }
    if (path === config.endpoint) {
      reader.getMetricsRequestHandler(req, res);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.host, port: config.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    throw new Error(`@p2p-otel/sdk: cannot listen on ${config.host}:${config.port} for Prometheus scrapes: ${(e as Error).message}`, { cause: e });
  }
  server.on('error', (e) => diag.error('@p2p-otel/sdk: Prometheus endpoint error', e));
  server.unref(); // like the exporter's own server: scraping must not keep the process alive
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    reader,
    url: `http://${host}:${port}${config.endpoint}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive scrapers would otherwise hold close() open
      }),
  };
}
