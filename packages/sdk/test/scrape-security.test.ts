import { P2pTelemetryConfigError, resolveP2pTelemetryConfig, type Env, type P2pTelemetryOptions } from '@p2p-otel/sdk';
import { ClientRateLimiter, ScrapeAuthenticator, secretDigest, secretsEqual } from '../src/exporters/scrape-guard';

// The module object itself (an ES namespace import would be a copy under Jest's CommonJS interop).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto: typeof import('node:crypto') = require('node:crypto');

afterEach(() => jest.restoreAllMocks());

describe('constant-time credential comparison', () => {
  test('every comparison goes through timingSafeEqual on two SHA-256 digests, whatever the lengths', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    const expected = secretDigest('s3cret-token');
    expect(secretsEqual('s3cret-token', expected)).toBe(true);
    expect(secretsEqual('s3cret-tokeX', expected)).toBe(false);
    expect(secretsEqual('s', expected)).toBe(false); // shorter: no throw, no early exit
    expect(secretsEqual('s3cret-token-and-more', expected)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(4);
    for (const [a, b] of spy.mock.calls) {
      expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  test('the authenticator compares through it for both schemes', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    new ScrapeAuthenticator({ scheme: 'bearer', token: 'abc', setting: 'x' }).verify('Bearer abd');
    new ScrapeAuthenticator({ scheme: 'basic', username: 'u', password: 'p', setting: 'x' }).verify('Basic dTpx');
    expect(spy).toHaveBeenCalledTimes(2);
  });
});

describe('ScrapeAuthenticator', () => {
  const bearer = new ScrapeAuthenticator({ scheme: 'bearer', token: 'tok-EN_1.2~3+4/5==', setting: 'x' });
  const basic = new ScrapeAuthenticator({ scheme: 'basic', username: 'prom', password: 'pa:ss wörd', setting: 'x' });
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

  test.each<[string, string | undefined, boolean]>([
    ['exact', 'Bearer tok-EN_1.2~3+4/5==', true],
    ['scheme is case-insensitive', 'bEaReR tok-EN_1.2~3+4/5==', true],
    ['surrounding spaces', '  Bearer   tok-EN_1.2~3+4/5==  ', true],
    ['missing', undefined, false],
    ['empty', '', false],
    ['no credentials', 'Bearer', false],
    ['wrong token', 'Bearer tok-EN_1.2~3+4/5=', false],
    ['prefix of the token', 'Bearer tok', false],
    ['other scheme', `Basic ${b64('tok-EN_1.2~3+4/5==')}`, false],
    ['two tokens', 'Bearer tok-EN_1.2~3+4/5== extra', false],
  ])('bearer: %s', (_what, header, ok) => {
    expect(bearer.verify(header)).toBe(ok);
  });

  test.each<[string, string | undefined, boolean]>([
    ['exact (password with a colon, UTF-8)', `Basic ${b64('prom:pa:ss wörd')}`, true],
    ['scheme is case-insensitive', `basic ${b64('prom:pa:ss wörd')}`, true],
    ['wrong password', `Basic ${b64('prom:pa:ss word')}`, false],
    ['wrong user', `Basic ${b64('Prom:pa:ss wörd')}`, false],
    ['not base64 of it', 'Basic prom:pa:ss', false],
    ['bearer scheme', `Bearer ${b64('prom:pa:ss wörd')}`, false],
  ])('basic: %s', (_what, header, ok) => {
    expect(basic.verify(header)).toBe(ok);
  });

  test('challenges', () => {
    expect(bearer.challenge(false)).toBe('Bearer realm="metrics"');
    expect(bearer.challenge(true)).toBe('Bearer realm="metrics", error="invalid_token"');
    expect(basic.challenge(true)).toBe('Basic realm="metrics", charset="UTF-8"');
  });
});

describe('ClientRateLimiter (token bucket, deterministic clock)', () => {
  function limiter(requestsPerSecond: number, burst: number, maxClients = 100): { take: (c: string) => unknown; advance: (ms: number) => void; l: ClientRateLimiter } {
    let now = 1_000;
    const l = new ClientRateLimiter({ requestsPerSecond, burst, maxClients }, () => now);
    return { take: (c) => l.take(c), advance: (ms) => void (now += ms), l };
  }

  test('a burst, then one request per refill interval, with Retry-After rounded up to whole seconds', () => {
    const { take, advance } = limiter(0.5, 3); // one token every 2 s
    expect([take('a'), take('a'), take('a')]).toEqual(Array(3).fill({ allowed: true }));
    expect(take('a')).toEqual({ allowed: false, retryAfterSeconds: 2 });
    advance(1_000); // half a token
    expect(take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    advance(1_000);
    expect(take('a')).toEqual({ allowed: true });
    expect(take('a')).toEqual({ allowed: false, retryAfterSeconds: 2 });
    advance(60_000); // refills to the burst, not beyond
    expect([take('a'), take('a'), take('a'), take('a')]).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }, { allowed: false, retryAfterSeconds: 2 }]);
  });

  test('clients are limited independently', () => {
    const { take } = limiter(1, 1);
    expect(take('10.0.0.1')).toEqual({ allowed: true });
    expect(take('10.0.0.1')).toMatchObject({ allowed: false });
    expect(take('10.0.0.2')).toEqual({ allowed: true });
  });

  test('Retry-After is at least 1 s and covers slow rates', () => {
    const { take } = limiter(1 / 3600, 1); // one an hour
    take('a');
    expect(take('a')).toEqual({ allowed: false, retryAfterSeconds: 3600 });
    const fast = limiter(1000, 1);
    fast.take('a');
    expect(fast.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  test('memory is bounded: past maxClients the least recently seen client is forgotten', () => {
    const { take, l } = limiter(0.001, 1, 3);
    take('a');
    take('b');
    take('c');
    expect(take('a')).toMatchObject({ allowed: false }); // a is now the most recent
    take('d'); // evicts b, the least recently seen
    expect(l.size).toBe(3);
    expect(take('a')).toMatchObject({ allowed: false }); // a still tracked
    expect(take('c')).toMatchObject({ allowed: false }); // c still tracked (evicts d? no: c is known)
    expect(take('b')).toEqual({ allowed: true }); // b was forgotten: a fresh bucket
    expect(l.size).toBe(3);
    for (let i = 0; i < 10_000; i++) take(`x${i}`);
    expect(l.size).toBe(3);
  });

  test('a clock going backwards never adds tokens', () => {
    const { take, advance } = limiter(1, 1);
    take('a');
    advance(-5_000);
    expect(take('a')).toMatchObject({ allowed: false });
  });
});

describe('resolving the scrape protections', () => {
  const prometheus = (options: P2pTelemetryOptions, env: Env = {}): unknown => resolveP2pTelemetryConfig(options, env).prometheus;

  test('nothing configured: no auth, no TLS, defaults left to the endpoint', () => {
    expect(prometheus({}, {})).toStrictEqual({ host: '127.0.0.1', port: 9464, endpoint: '/metrics' });
  });

  test('every protection from the environment', () => {
    const env: Env = {
      OTEL_EXPORTER_PROMETHEUS_HOST: '::1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      P2P_OTEL_METRICS_BEARER_TOKEN: 'abc.DEF-123',
      P2P_OTEL_METRICS_TLS_CERT: '/etc/p2p/cert.pem',
      P2P_OTEL_METRICS_TLS_KEY: '/etc/p2p/key.pem',
      P2P_OTEL_METRICS_RATE_LIMIT: '30/m',
      P2P_OTEL_METRICS_RATE_LIMIT_BURST: '5',
      P2P_OTEL_METRICS_RATE_LIMIT_MAX_CLIENTS: '64',
      P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES: '2',
    };
    expect(prometheus({}, env)).toEqual({
      host: '::1',
      port: 0,
      endpoint: '/metrics',
      auth: { scheme: 'bearer', token: 'abc.DEF-123', setting: 'P2P_OTEL_METRICS_BEARER_TOKEN' },
      tls: { certFile: '/etc/p2p/cert.pem', keyFile: '/etc/p2p/key.pem', certSetting: 'P2P_OTEL_METRICS_TLS_CERT', keySetting: 'P2P_OTEL_METRICS_TLS_KEY' },
      rateLimit: { requestsPerSecond: 0.5, burst: 5, maxClients: 64 },
      maxConcurrentScrapes: 2,
    });
  });

  test.each<[string, number]>([
    ['4', 4],
    ['2.5/s', 2.5],
    ['.5', 0.5],
    ['120/min', 2],
    ['36 / hour', 0.01],
  ])('rate %s is %d per second; the other fields keep their defaults', (value, perSecond) => {
    expect(prometheus({}, { P2P_OTEL_METRICS_RATE_LIMIT: value })).toMatchObject({ rateLimit: { requestsPerSecond: perSecond, burst: 20, maxClients: 1024 } });
  });

  test('basic auth from the environment splits at the first colon', () => {
    expect(prometheus({}, { P2P_OTEL_METRICS_BASIC_AUTH: 'prom:a:b c' })).toMatchObject({ auth: { scheme: 'basic', username: 'prom', password: 'a:b c' } });
  });

  test('rate limit off, by environment or option; options win over the environment', () => {
    expect(prometheus({}, { P2P_OTEL_METRICS_RATE_LIMIT: 'OFF' })).toMatchObject({ rateLimit: false });
    expect(prometheus({ prometheus: { rateLimit: false } }, { P2P_OTEL_METRICS_RATE_LIMIT: '5' })).toMatchObject({ rateLimit: false });
    expect(prometheus({ prometheus: { rateLimit: { requestsPerSecond: 7 } } }, { P2P_OTEL_METRICS_RATE_LIMIT: 'off', P2P_OTEL_METRICS_RATE_LIMIT_BURST: '3' })).toMatchObject({
      rateLimit: { requestsPerSecond: 7, burst: 3, maxClients: 1024 },
    });
    expect(
      prometheus(
        { prometheus: { bearerToken: 'opt', tls: { certFile: 'c', keyFile: 'k' }, maxConcurrentScrapes: 9 } },
        { P2P_OTEL_METRICS_BEARER_TOKEN: 'env', P2P_OTEL_METRICS_TLS_CERT: 'env-c', P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES: '1' },
      ),
    ).toMatchObject({ auth: { token: 'opt' }, tls: { certFile: 'c', keyFile: 'k' }, maxConcurrentScrapes: 9 });
  });

  test('the settings are not read when Prometheus is not in use', () => {
    expect(() => resolveP2pTelemetryConfig({ exporter: 'none' }, { P2P_OTEL_METRICS_RATE_LIMIT: 'fast', P2P_OTEL_METRICS_TLS_CERT: 'only-cert' })).not.toThrow();
  });

  // [what, options, env, setting named, value shown (undefined: must not be shown)]
  const invalid: [string, P2pTelemetryOptions, Env, string, string | undefined][] = [
    ['bearer and basic (env)', {}, { P2P_OTEL_METRICS_BEARER_TOKEN: 's3cret', P2P_OTEL_METRICS_BASIC_AUTH: 'u:s3cret' }, 'P2P_OTEL_METRICS_BEARER_TOKEN', undefined],
    ['bearer option and basic env', { prometheus: { bearerToken: 's3cret' } }, { P2P_OTEL_METRICS_BASIC_AUTH: 'u:s3cret' }, 'options.prometheus.bearerToken', undefined],
    ['bearer with a space', {}, { P2P_OTEL_METRICS_BEARER_TOKEN: 's3cret token' }, 'P2P_OTEL_METRICS_BEARER_TOKEN', undefined],
    ['bearer not a string', { prometheus: { bearerToken: 42 as never } }, {}, 'options.prometheus.bearerToken', undefined],
    ['basic without a colon', {}, { P2P_OTEL_METRICS_BASIC_AUTH: 's3cret' }, 'P2P_OTEL_METRICS_BASIC_AUTH', undefined],
    ['basic with an empty user', {}, { P2P_OTEL_METRICS_BASIC_AUTH: ':s3cret' }, 'P2P_OTEL_METRICS_BASIC_AUTH', undefined],
    ['basic with an empty password', {}, { P2P_OTEL_METRICS_BASIC_AUTH: 'user:' }, 'P2P_OTEL_METRICS_BASIC_AUTH', undefined],
    ['basic user with a colon', { prometheus: { basicAuth: { username: 'a:b', password: 's3cret' } } }, {}, 'options.prometheus.basicAuth', undefined],
    ['basic password with a newline', { prometheus: { basicAuth: { username: 'a', password: 's3cret\n' } } }, {}, 'options.prometheus.basicAuth', undefined],
    ['TLS cert without key', {}, { P2P_OTEL_METRICS_TLS_CERT: '/c.pem' }, 'P2P_OTEL_METRICS_TLS_KEY', undefined],
    ['TLS key without cert', {}, { P2P_OTEL_METRICS_TLS_KEY: '/k.pem' }, 'P2P_OTEL_METRICS_TLS_CERT', undefined],
    ['TLS option without key', { prometheus: { tls: { certFile: '/c.pem' } as never } }, {}, 'options.prometheus.tls.keyFile', undefined],
    ['TLS option not an object', { prometheus: { tls: '/c.pem' as never } }, {}, 'options.prometheus.tls', '"/c.pem"'],
    ['rate not a number', {}, { P2P_OTEL_METRICS_RATE_LIMIT: 'fast' }, 'P2P_OTEL_METRICS_RATE_LIMIT', '"fast"'],
    ['rate with an unknown unit', {}, { P2P_OTEL_METRICS_RATE_LIMIT: '5/day' }, 'P2P_OTEL_METRICS_RATE_LIMIT', '"5/day"'],
    ['rate zero', {}, { P2P_OTEL_METRICS_RATE_LIMIT: '0' }, 'P2P_OTEL_METRICS_RATE_LIMIT', '"0"'],
    ['rate negative (option)', { prometheus: { rateLimit: { requestsPerSecond: -1 } } }, {}, 'options.prometheus.rateLimit.requestsPerSecond', '-1'],
    ['rate as a string option', { prometheus: { rateLimit: { requestsPerSecond: '5/s' as never } } }, {}, 'options.prometheus.rateLimit.requestsPerSecond', '"5/s"'],
    ['rate limit true', { prometheus: { rateLimit: true as never } }, {}, 'options.prometheus.rateLimit', 'true'],
    ['burst zero', {}, { P2P_OTEL_METRICS_RATE_LIMIT_BURST: '0' }, 'P2P_OTEL_METRICS_RATE_LIMIT_BURST', '"0"'],
    ['burst fractional', { prometheus: { rateLimit: { burst: 1.5 } } }, {}, 'options.prometheus.rateLimit.burst', '1.5'],
    ['max clients not a number', {}, { P2P_OTEL_METRICS_RATE_LIMIT_MAX_CLIENTS: 'many' }, 'P2P_OTEL_METRICS_RATE_LIMIT_MAX_CLIENTS', '"many"'],
    ['max concurrent zero', {}, { P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES: '0' }, 'P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES', '"0"'],
    ['max concurrent not a number', { prometheus: { maxConcurrentScrapes: 'two' as never } }, {}, 'options.prometheus.maxConcurrentScrapes', '"two"'],
  ];
  test.each(invalid)('%s fails, naming the setting', (_what, options, env, setting, shown) => {
    let error: unknown;
    try {
      resolveP2pTelemetryConfig(options, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(P2pTelemetryConfigError);
    const e = error as P2pTelemetryConfigError;
    expect(e.setting).toBe(setting);
    expect(e.message).toContain(setting);
    if (shown === undefined) {
      expect(e.value).toBeUndefined();
      expect(e.message).not.toContain('s3cret');
    } else {
      expect(e.message).toContain(`=${shown}`);
    }
  });

  test('bearer and basic together names both settings', () => {
    expect(() => resolveP2pTelemetryConfig({}, { P2P_OTEL_METRICS_BEARER_TOKEN: 'a', P2P_OTEL_METRICS_BASIC_AUTH: 'u:p' })).toThrow(/P2P_OTEL_METRICS_BEARER_TOKEN.*P2P_OTEL_METRICS_BASIC_AUTH/);
  });
});
