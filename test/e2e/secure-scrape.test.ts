/**
 * The protected scrape endpoint over real HTTP(S): a real startP2pTelemetry on a runtime port,
 * real requests, every status code and header the guard answers with.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { DiagLogLevel, diag, type DiagLogger } from '@opentelemetry/api';
import type { OtelP2pMonitor } from '@p2p-otel/instrumentation';
import { P2pTelemetryConfigError, startP2pTelemetry, type P2pTelemetry, type P2pTelemetryOptions, type PrometheusOptions } from '@p2p-otel/sdk';
import { PEER_A } from '../support/exercise';
import { GatedMonitor } from '../support/gated-monitor';
import { basic, bearer, request, type RequestResult } from '../support/http-request';
import { makeSelfSignedCertificate, type TestCertificate } from '../support/self-signed-cert';

const started: P2pTelemetry<OtelP2pMonitor>[] = [];
const savedEnv = { ...process.env };
let cert: TestCertificate;
let otherCert: TestCertificate;

beforeAll(() => {
  cert = makeSelfSignedCertificate();
  otherCert = makeSelfSignedCertificate();
});

afterAll(() => {
  cert?.remove();
  otherCert?.remove();
});

function restoreEnv(): void {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
  restoreEnv();
  diag.disable();
});

async function start(prometheus: PrometheusOptions = {}, extra: P2pTelemetryOptions = {}): Promise<P2pTelemetry<OtelP2pMonitor> & { metricsUrl: string }> {
  const t = (await startP2pTelemetry({ prometheus: { port: 0, ...prometheus }, registerGlobal: false, ...extra })) as P2pTelemetry<OtelP2pMonitor>;
  started.push(t);
  t.monitor.recordRtt(PEER_A, 12);
  return t as P2pTelemetry<OtelP2pMonitor> & { metricsUrl: string };
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The status and the headers a test looks at. */
function summary(r: RequestResult, ...headers: string[]): Record<string, unknown> {
  return { status: r.status, ...Object.fromEntries(headers.map((h) => [h, r.headers[h]])) };
}

describe('defaults', () => {
  test('GET on 127.0.0.1 serves the metrics, uncached; HEAD the headers only', async () => {
    const { metricsUrl } = await start();
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const get = await request(metricsUrl);
    expect(summary(get, 'cache-control', 'content-type')).toEqual({ status: 200, 'cache-control': 'no-store', 'content-type': TEXT_FORMAT });
    expect(get.body).toContain('p2p_rtt_milliseconds_bucket');
    const head = await request(metricsUrl, { method: 'HEAD' });
    expect({ ...summary(head, 'content-type', 'content-length'), body: head.body }).toEqual({
      status: 200,
      'content-type': TEXT_FORMAT,
      'content-length': get.headers['content-length'],
      body: '',
    });
    expect((await request(`${metricsUrl}?x=1`)).status).toBe(200); // a query string is the same path
  });

  test('other paths are 404, other methods 405 with Allow', async () => {
    const { metricsUrl } = await start();
    for (const path of ['/', '/metrics/', '/metricsx', '/other']) {
      expect({ path, ...summary(await request(new URL(path, metricsUrl).href), 'cache-control') }).toEqual({ path, status: 404, 'cache-control': 'no-store' });
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      expect({ method, ...summary(await request(metricsUrl, { method }), 'allow') }).toEqual({ method, status: 405, allow: 'GET, HEAD' });
    }
  });

  test('not reachable on other interfaces', async () => {
    const { metricsUrl } = await start();
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
    if (external === undefined) return; // no other interface in this environment
    const url = new URL(metricsUrl);
    url.hostname = external.address;
    await expect(request(url.href)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('the default rate limit lets a burst of 20 through per client, then answers 429', async () => {
    const { metricsUrl } = await start();
    const other = new URL('/x', metricsUrl).href; // every request counts, 404s are quick
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await request(other)).status);
    // 5 tokens/s refill: the first 20 are the burst; the 21st may find a refilled token.
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(404));
    expect(statuses.slice(20)).toContain(429);
    const limited = await request(metricsUrl);
    expect(summary(limited, 'retry-after')).toEqual({ status: 429, 'retry-after': '1' });
  });

  test('a listener on a public interface without authentication is warned about', async () => {
    const logger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() };
    diag.setLogger(logger as DiagLogger, DiagLogLevel.WARN);
    await start({ host: '0.0.0.0' });
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('0.0.0.0 without authentication'));
    logger.warn.mockClear();
    await start({ host: '0.0.0.0', bearerToken: 'tok' });
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('over plain HTTP'));
    logger.warn.mockClear();
    await start({ bearerToken: 'tok' }); // loopback: nothing to warn about
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('authentication', () => {
  test('bearer: 401 with a challenge without or with wrong credentials, 200 with the token', async () => {
    const { metricsUrl } = await start({ bearerToken: 'c0rrect-T0ken' });
    expect(summary(await request(metricsUrl), 'www-authenticate', 'cache-control')).toEqual({
      status: 401,
      'www-authenticate': 'Bearer realm="metrics"',
      'cache-control': 'no-store',
    });
    expect(summary(await request(metricsUrl, { headers: bearer('wrong') }), 'www-authenticate')).toEqual({
      status: 401,
      'www-authenticate': 'Bearer realm="metrics", error="invalid_token"',
    });
    expect((await request(metricsUrl, { headers: bearer('c0rrect-T0ke') })).status).toBe(401);
    expect((await request(metricsUrl, { headers: basic('c0rrect-T0ken', '') })).status).toBe(401);
    const ok = await request(metricsUrl, { headers: bearer('c0rrect-T0ken') });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('p2p_rtt_milliseconds');
    expect((await request(metricsUrl, { method: 'HEAD', headers: bearer('c0rrect-T0ken') })).status).toBe(200);
    expect((await request(metricsUrl, { method: 'HEAD' })).status).toBe(401);
  });

  test('the path and method are checked before credentials (404/405 without them)', async () => {
    const { metricsUrl } = await start({ bearerToken: 'tok' });
    expect((await request(new URL('/other', metricsUrl).href)).status).toBe(404);
    expect(summary(await request(metricsUrl, { method: 'POST' }), 'allow')).toEqual({ status: 405, allow: 'GET, HEAD' });
  });

  test('basic: 401 with a challenge, 200 with the credentials', async () => {
    const { metricsUrl } = await start({ basicAuth: { username: 'prometheus', password: 'pa:ss' } });
    expect(summary(await request(metricsUrl), 'www-authenticate')).toEqual({ status: 401, 'www-authenticate': 'Basic realm="metrics", charset="UTF-8"' });
    expect((await request(metricsUrl, { headers: basic('prometheus', 'pa:sS') })).status).toBe(401);
    expect((await request(metricsUrl, { headers: bearer('pa:ss') })).status).toBe(401);
    expect((await request(metricsUrl, { headers: basic('prometheus', 'pa:ss') })).status).toBe(200);
  });
});

describe('rate limit per client', () => {
  test('past the burst: 429 with Retry-After, for every path (credential guessing included)', async () => {
    // One token a minute: nothing refills during the test.
    const { metricsUrl } = await start({ bearerToken: 'tok', rateLimit: { requestsPerSecond: 1 / 60, burst: 3 } });
    expect((await request(metricsUrl, { headers: bearer('tok') })).status).toBe(200);
    expect((await request(metricsUrl, { headers: bearer('guess') })).status).toBe(401);
    expect((await request(new URL('/x', metricsUrl).href)).status).toBe(404);
    const limited = await request(metricsUrl, { headers: bearer('tok') });
    expect(summary(limited, 'cache-control')).toEqual({ status: 429, 'cache-control': 'no-store' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  test('rateLimit: false turns it off', async () => {
    const { metricsUrl } = await start({ rateLimit: false });
    const statuses = await Promise.all(Array.from({ length: 30 }, () => request(metricsUrl).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});

describe('concurrent scrapes', () => {
  /** Resolves with the statuses once `count` of `requests` have answered. */
  function firstAnswers(requests: Promise<RequestResult>[], count: number): Promise<number[]> {
    const statuses: number[] = [];
    return new Promise((resolve, reject) => {
      for (const r of requests) {
        r.then((res) => {
          statuses.push(res.status);
          if (statuses.length === count) resolve([...statuses]);
        }, reject);
      }
    });
  }

  test('beyond the bound: 503 with Retry-After; the slot frees when the scrape ends', async () => {
    const monitor = new GatedMonitor();
    const { metricsUrl } = await start({ maxConcurrentScrapes: 2, rateLimit: false }, { monitor: monitor as never });
    monitor.close();
    const first = request(metricsUrl);
    await monitor.whenEntered(1); // collecting, held at the gate: one slot left
    const more = [request(metricsUrl), request(metricsUrl), request(metricsUrl)];
    expect(await firstAnswers(more, 2)).toEqual([503, 503]); // whichever two came second and third
    const refused = await request(metricsUrl);
    expect(summary(refused, 'retry-after', 'cache-control')).toEqual({ status: 503, 'retry-after': '1', 'cache-control': 'no-store' });
    expect((await request(new URL('/x', metricsUrl).href)).status).toBe(404); // only scrapes hold slots
    monitor.openGate();
    expect((await first).status).toBe(200);
    expect((await Promise.all(more)).map((r) => r.status).sort()).toEqual([200, 503, 503]);
    expect((await request(metricsUrl)).status).toBe(200); // both slots free again
    expect((await Promise.all([request(metricsUrl), request(metricsUrl)])).map((r) => r.status)).toEqual([200, 200]);
  });

  test('a scraper that goes away mid-scrape frees its slot', async () => {
    const monitor = new GatedMonitor();
    const { metricsUrl } = await start({ maxConcurrentScrapes: 1, rateLimit: false }, { monitor: monitor as never });
    monitor.close();
    const abort = new AbortController();
    const gone = request(metricsUrl, { signal: abort.signal }).catch((e: Error) => e);
    await monitor.whenEntered(1);
    expect((await request(metricsUrl)).status).toBe(503);
    abort.abort();
    expect(await gone).toMatchObject({ name: 'AbortError' });
    monitor.openGate();
    // The server notices the reset a moment later; a leaked slot would make every retry a 503.
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 50 && statuses.at(-1) !== 200; attempt++) {
      if (attempt > 0) await sleep(20);
      statuses.push((await request(metricsUrl)).status);
    }
    expect(statuses.at(-1)).toBe(200);
  });
});

describe('TLS', () => {
  test('serves HTTPS with the configured certificate; plain HTTP and untrusting clients fail', async () => {
    const { metricsUrl } = await start({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } });
    expect(metricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await request(metricsUrl, { ca: cert.cert });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('p2p_rtt_milliseconds');
    await expect(request(metricsUrl)).rejects.toThrow(/self[- ]signed/i); // the certificate really is checked
    await expect(request(metricsUrl, { ca: otherCert.cert })).rejects.toThrow();
    await expect(request(metricsUrl.replace('https:', 'http:'))).rejects.toThrow();
  });

  test('with basic auth, everything configured from the environment', async () => {
    Object.assign(process.env, {
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      P2P_OTEL_METRICS_BASIC_AUTH: 'scraper:s3cret',
      P2P_OTEL_METRICS_TLS_CERT: cert.certFile,
      P2P_OTEL_METRICS_TLS_KEY: cert.keyFile,
      P2P_OTEL_METRICS_RATE_LIMIT: '1/h',
      P2P_OTEL_METRICS_RATE_LIMIT_BURST: '4',
      P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES: '1',
    });
    const monitor = new GatedMonitor();
    const t = (await startP2pTelemetry({ registerGlobal: false, monitor })) as P2pTelemetry<OtelP2pMonitor>;
    started.push(t);
    const url = t.metricsUrl as string;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toContain(':9464/');
    const auth = basic('scraper', 's3cret');
    expect(summary(await request(url, { ca: cert.cert }), 'www-authenticate')).toEqual({ status: 401, 'www-authenticate': 'Basic realm="metrics", charset="UTF-8"' }); // 1
    monitor.close();
    const held = request(url, { ca: cert.cert, headers: auth }); // 2
    await monitor.whenEntered(1);
    expect(summary(await request(url, { ca: cert.cert, headers: auth }), 'retry-after')).toEqual({ status: 503, 'retry-after': '1' }); // 3: one at a time
    monitor.openGate();
    expect((await held).status).toBe(200);
    expect((await request(url, { ca: cert.cert, headers: auth })).status).toBe(200); // 4: the burst is spent
    const limited = await request(url, { ca: cert.cert, headers: auth });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3500); // one an hour
  });
});

describe('configuration errors at startup', () => {
  async function failure(env: Record<string, string>, prometheus: PrometheusOptions = {}): Promise<P2pTelemetryConfigError> {
    restoreEnv();
    Object.assign(process.env, env);
    try {
      const t = await startP2pTelemetry({ prometheus: { port: 0, ...prometheus }, registerGlobal: false });
      started.push(t as P2pTelemetry<OtelP2pMonitor>);
    } catch (e) {
      expect(e).toBeInstanceOf(P2pTelemetryConfigError);
      return e as P2pTelemetryConfigError;
    }
    throw new Error('startP2pTelemetry did not fail');
  }

  test('an unreadable certificate file names its variable and the path', async () => {
    const missing = join(cert.dir, 'missing.pem');
    const e = await failure({ P2P_OTEL_METRICS_TLS_CERT: missing, P2P_OTEL_METRICS_TLS_KEY: cert.keyFile });
    expect(e.setting).toBe('P2P_OTEL_METRICS_TLS_CERT');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('ENOENT');
  });

  test('an unreadable key file names its option', async () => {
    const e = await failure({}, { tls: { certFile: cert.certFile, keyFile: cert.dir } }); // a directory
    expect(e.setting).toBe('options.prometheus.tls.keyFile');
    expect(e.message).toContain('EISDIR');
  });

  test("files that are not PEM, and a key that is not the certificate's", async () => {
    const garbage = join(cert.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect((await failure({}, { tls: { certFile: garbage, keyFile: cert.keyFile } })).setting).toBe('options.prometheus.tls.certFile');
    expect((await failure({}, { tls: { certFile: cert.certFile, keyFile: garbage } })).setting).toBe('options.prometheus.tls.keyFile');
    expect((await failure({}, { tls: { certFile: cert.keyFile, keyFile: cert.certFile } })).setting).toBe('options.prometheus.tls.certFile'); // swapped
    const port = await freePort();
    const mismatch = await failure({ P2P_OTEL_METRICS_TLS_CERT: cert.certFile, P2P_OTEL_METRICS_TLS_KEY: otherCert.keyFile }, { port });
    expect(mismatch.setting).toBe('P2P_OTEL_METRICS_TLS_KEY');
    expect(mismatch.message).toContain('not the private key of the certificate in P2P_OTEL_METRICS_TLS_CERT');
    await expect(request(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow(/ECONNREFUSED/); // nothing was left listening
  });

  test('malformed values and conflicting schemes', async () => {
    expect((await failure({ P2P_OTEL_METRICS_BEARER_TOKEN: 'a', P2P_OTEL_METRICS_BASIC_AUTH: 'u:p' })).setting).toBe('P2P_OTEL_METRICS_BEARER_TOKEN');
    expect((await failure({ P2P_OTEL_METRICS_RATE_LIMIT: 'lots' })).setting).toBe('P2P_OTEL_METRICS_RATE_LIMIT');
    expect((await failure({ P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES: '-1' })).setting).toBe('P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES');
    expect((await failure({ P2P_OTEL_METRICS_TLS_KEY: cert.keyFile })).setting).toBe('P2P_OTEL_METRICS_TLS_CERT');
  });
});
