import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { ResolvedPrometheus } from '../config/resolve.js';
import { DEFAULT_MAX_CONCURRENT_SCRAPES, DEFAULT_SCRAPE_RATE_LIMIT, type ResolvedScrapeTls } from '../config/scrape-security.js';
import { P2pTelemetryConfigError } from '../errors.js';
import { CoalescingScrapes, type OwnMetrics } from './coalescing-scrapes.js';
import { ClientRateLimiter, ScrapeAuthenticator, createScrapeGuard } from './scrape-guard.js';

export interface PrometheusEndpoint {
  readonly reader: PrometheusExporter;
  /** Where it actually listens, port 0 resolved; https:// with TLS. */
  readonly url: string;
  close(): Promise<void>;
}

/** A scraper that sends its headers slowly, or never, loses its connection after this. */
const HEADERS_TIMEOUT_MS = 10_000;
/** Whole request received within this. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A connection idle this long (say a client that stopped reading its response) is closed. */
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

/**
 * The exporter's reader served from our own server. Its built-in server cannot be used here: it
 * reads `config.port || env || 9464`, so port 0 silently becomes 9464, it never reports the port
 * it bound, and its readiness is only a callback with no handle to close on failure. Ours also
 * puts the scrape guard (rate limit, path, method, credentials, concurrency) in front, can serve
 * HTTPS, and serves concurrent scrapes from one collection (see CoalescingScrapes: the exporter's
 * request handler collects once per request, synchronously within the request's I/O callback).
 *
 * `own`, on the fast path: the monitor's metrics, written by its own writer after what the reader
 * collects (the application's other metrics); the reader gets no producer of them.
 */
export async function startPrometheus(config: ResolvedPrometheus, own?: OwnMetrics): Promise<PrometheusEndpoint> {
  const tls = config.tls === undefined ? undefined : loadTls(config.tls); // before anything starts
  const rateLimit = config.rateLimit ?? DEFAULT_SCRAPE_RATE_LIMIT;
  const reader = new PrometheusExporter({ preventServerStart: true, endpoint: config.endpoint });
  const scrapes = new CoalescingScrapes(reader, own);
  const handler = createScrapeGuard({
    endpoint: config.endpoint,
    auth: config.auth === undefined ? undefined : new ScrapeAuthenticator(config.auth),
    rateLimiter: rateLimit === false ? undefined : new ClientRateLimiter(rateLimit),
    maxConcurrentScrapes: config.maxConcurrentScrapes ?? DEFAULT_MAX_CONCURRENT_SCRAPES,
    serve: (_req, res) => scrapes.add(res),
  });
  let server: Server;
  try {
    server = tls === undefined ? createHttpServer(handler) : createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, handler);
  } catch (e) {
    // Only TLS material can make this throw; loadTls has checked the usual mistakes already.
    const t = config.tls as ResolvedScrapeTls;
    throw new P2pTelemetryConfigError(t.certSetting, t.certFile, `cannot be used with ${t.keySetting}: ${(e as Error).message}`);
  }
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.setTimeout(SOCKET_IDLE_TIMEOUT_MS);
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
  warnIfExposed(config);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    reader,
    url: `${tls === undefined ? 'http' : 'https'}://${host}:${port}${config.endpoint}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive scrapers would otherwise hold close() open
      }),
  };
}

/** Reads and checks the PEM files, so that each mistake names its setting. */
function loadTls(tls: ResolvedScrapeTls): { key: Buffer; cert: Buffer } {
  const read = (file: string, setting: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new P2pTelemetryConfigError(setting, file, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const certPem = read(tls.certFile, tls.certSetting);
  const keyPem = read(tls.keyFile, tls.keySetting);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new P2pTelemetryConfigError(tls.certSetting, tls.certFile, 'expected a PEM X.509 certificate (chain)');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new P2pTelemetryConfigError(tls.keySetting, tls.keyFile, 'expected an unencrypted PEM private key');
  }
  if (!cert.checkPrivateKey(key)) {
    throw new P2pTelemetryConfigError(tls.keySetting, tls.keyFile, `is not the private key of the certificate in ${tls.certSetting}`);
  }
  const expires = Date.parse(cert.validTo);
  if (expires < Date.now()) diag.warn(`@p2p-otel/sdk: the scrape endpoint's certificate (${tls.certSetting}) expired on ${cert.validTo}`);
  return { key: keyPem, cert: certPem };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const version = isIP(host);
  return (version === 4 && host.startsWith('127.')) || (version === 6 && /^(::1|0*:(0*:)*0*1)$/.test(host));
}

function warnIfExposed(config: ResolvedPrometheus): void {
  if (isLoopback(config.host)) return;
  if (config.auth === undefined) {
    diag.warn(`@p2p-otel/sdk: the Prometheus endpoint listens on ${config.host} without authentication; anyone who can reach it can read the metrics`);
  } else if (config.tls === undefined) {
    diag.warn(`@p2p-otel/sdk: the Prometheus endpoint listens on ${config.host} with ${config.auth.scheme} credentials over plain HTTP; configure TLS so they cannot be sniffed`);
  }
}
