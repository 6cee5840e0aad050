import { P2pTelemetryConfigError } from '../errors.js';
import type { PrometheusOptions } from '../options.js';
import { integer, nonEmptyString, pick, type Env, type Sourced } from './settings.js';

/** Credentials the scrape endpoint requires. `setting` names where they came from. */
export type ResolvedScrapeAuth =
  | { readonly scheme: 'bearer'; readonly token: string; readonly setting: string }
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string; readonly setting: string };

/** PEM files, read when the endpoint starts; the settings name them in errors. */
export interface ResolvedScrapeTls {
  readonly keyFile: string;
  readonly certFile: string;
  readonly keySetting: string;
  readonly certSetting: string;
}

export interface ResolvedRateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly maxClients: number;
}

/**
 * The scrape endpoint's protections, as resolved. Each is left out when not configured, and
 * then takes its default: no authentication, plain HTTP, DEFAULT_SCRAPE_RATE_LIMIT and
 * DEFAULT_MAX_CONCURRENT_SCRAPES.
 */
export interface ResolvedScrapeSecurity {
  readonly auth?: ResolvedScrapeAuth;
  readonly tls?: ResolvedScrapeTls;
  /** `false`: no rate limit. */
  readonly rateLimit?: ResolvedRateLimit | false;
  readonly maxConcurrentScrapes?: number;
}

export const DEFAULT_SCRAPE_RATE_LIMIT: ResolvedRateLimit = { requestsPerSecond: 5, burst: 20, maxClients: 1024 };
export const DEFAULT_MAX_CONCURRENT_SCRAPES = 4;

export const SCRAPE_ENV = {
  bearerToken: 'P2P_OTEL_METRICS_BEARER_TOKEN',
  basicAuth: 'P2P_OTEL_METRICS_BASIC_AUTH',
  tlsCert: 'P2P_OTEL_METRICS_TLS_CERT',
  tlsKey: 'P2P_OTEL_METRICS_TLS_KEY',
  rateLimit: 'P2P_OTEL_METRICS_RATE_LIMIT',
  rateLimitBurst: 'P2P_OTEL_METRICS_RATE_LIMIT_BURST',
  rateLimitMaxClients: 'P2P_OTEL_METRICS_RATE_LIMIT_MAX_CLIENTS',
  maxConcurrentScrapes: 'P2P_OTEL_METRICS_MAX_CONCURRENT_SCRAPES',
} as const;

/** RFC 6750 b64token. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const MAX_RATE = 1_000_000;
const RATE_UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

export function resolveScrapeSecurity(p: PrometheusOptions, env: Env): ResolvedScrapeSecurity {
  const auth = resolveAuth(p, env);
  const tls = resolveTls(p, env);
  const rateLimit = resolveRateLimit(p, env);
  const concurrent = pick('prometheus.maxConcurrentScrapes', p.maxConcurrentScrapes, env, SCRAPE_ENV.maxConcurrentScrapes);
  return {
    ...(auth === undefined ? {} : { auth }),
    ...(tls === undefined ? {} : { tls }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(concurrent === undefined ? {} : { maxConcurrentScrapes: integer(concurrent, 1, 10_000) }),
  };
}

/** Credentials are never echoed in errors. */
function resolveAuth(p: PrometheusOptions, env: Env): ResolvedScrapeAuth | undefined {
  const bearer = pick('prometheus.bearerToken', p.bearerToken, env, SCRAPE_ENV.bearerToken);
  const basic = pick('prometheus.basicAuth', p.basicAuth, env, SCRAPE_ENV.basicAuth);
  if (bearer !== undefined && basic !== undefined) {
    throw new P2pTelemetryConfigError(bearer.setting, undefined, `cannot be combined with ${basic.setting}; choose one authentication scheme`);
  }
  if (bearer !== undefined) {
    if (typeof bearer.value !== 'string' || !BEARER_TOKEN.test(bearer.value)) {
      throw new P2pTelemetryConfigError(bearer.setting, undefined, 'expected a non-empty token of the characters A-Z a-z 0-9 - . _ ~ + / (then = padding only)');
    }
    return { scheme: 'bearer', token: bearer.value, setting: bearer.setting };
  }
  if (basic === undefined) return undefined;
  let username: unknown;
  let password: unknown;
  if (typeof basic.value === 'string') {
    const colon = basic.value.indexOf(':');
    if (colon < 0) throw new P2pTelemetryConfigError(basic.setting, undefined, 'expected user:password');
    username = basic.value.slice(0, colon);
    password = basic.value.slice(colon + 1);
  } else if (typeof basic.value === 'object' && basic.value !== null) {
    ({ username, password } = basic.value as { username?: unknown; password?: unknown });
  }
  if (typeof username !== 'string' || username === '' || username.includes(':') || CONTROL.test(username)) {
    throw new P2pTelemetryConfigError(basic.setting, undefined, 'expected a non-empty user name without ":" or control characters');
  }
  if (typeof password !== 'string' || password === '' || CONTROL.test(password)) {
    throw new P2pTelemetryConfigError(basic.setting, undefined, 'expected a non-empty password without control characters');
  }
  return { scheme: 'basic', username, password, setting: basic.setting };
}

function resolveTls(p: PrometheusOptions, env: Env): ResolvedScrapeTls | undefined {
  if (p.tls !== undefined && (typeof p.tls !== 'object' || p.tls === null)) {
    throw new P2pTelemetryConfigError('options.prometheus.tls', p.tls, 'expected { keyFile, certFile }');
  }
  const cert = pick('prometheus.tls.certFile', p.tls?.certFile, env, SCRAPE_ENV.tlsCert);
  const key = pick('prometheus.tls.keyFile', p.tls?.keyFile, env, SCRAPE_ENV.tlsKey);
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [given, missing] =
      cert === undefined
        ? [key as Sourced, p.tls === undefined ? SCRAPE_ENV.tlsCert : 'options.prometheus.tls.certFile']
        : [cert, p.tls === undefined ? SCRAPE_ENV.tlsKey : 'options.prometheus.tls.keyFile'];
    throw new P2pTelemetryConfigError(missing, undefined, `must be set together with ${given.setting}: TLS needs both a key and a certificate`);
  }
  return { certFile: nonEmptyString(cert), keyFile: nonEmptyString(key), certSetting: cert.setting, keySetting: key.setting };
}

function resolveRateLimit(p: PrometheusOptions, env: Env): ResolvedRateLimit | false | undefined {
  const o = p.rateLimit;
  if (o === false) return false;
  if (o !== undefined && (typeof o !== 'object' || o === null)) {
    throw new P2pTelemetryConfigError('options.prometheus.rateLimit', o, 'expected false or { requestsPerSecond, burst, maxClients }');
  }
  const rate = pick('prometheus.rateLimit.requestsPerSecond', o?.requestsPerSecond, env, SCRAPE_ENV.rateLimit);
  const burst = pick('prometheus.rateLimit.burst', o?.burst, env, SCRAPE_ENV.rateLimitBurst);
  const maxClients = pick('prometheus.rateLimit.maxClients', o?.maxClients, env, SCRAPE_ENV.rateLimitMaxClients);
  if (rate?.fromEnv === true && String(rate.value).toLowerCase() === 'off') return false;
  if (rate === undefined && burst === undefined && maxClients === undefined) return undefined;
  return {
    requestsPerSecond: rate === undefined ? DEFAULT_SCRAPE_RATE_LIMIT.requestsPerSecond : requestsPerSecond(rate),
    burst: burst === undefined ? DEFAULT_SCRAPE_RATE_LIMIT.burst : integer(burst, 1, MAX_RATE),
    maxClients: maxClients === undefined ? DEFAULT_SCRAPE_RATE_LIMIT.maxClients : integer(maxClients, 1, 10_000_000),
  };
}

/** A positive number per second; in the environment also `N/s`, `N/m`, `N/h` (or `off`, handled above). */
function requestsPerSecond(s: Sourced): number {
  let perSecond: number | undefined;
  if (typeof s.value === 'number') {
    perSecond = s.value;
  } else if (s.fromEnv && typeof s.value === 'string') {
    const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:\/\s*([a-z]+))?$/i.exec(s.value);
    const unit = m?.[2] === undefined ? 1 : RATE_UNITS[m[2].toLowerCase()];
    if (m !== null && unit !== undefined) perSecond = Number(m[1]) / unit;
  }
  if (perSecond === undefined || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > MAX_RATE) {
    const expected = s.fromEnv ? 'expected off, or a positive rate such as 2, 2/s, 30/m or 100/h' : `expected a positive number of requests per second, at most ${MAX_RATE}`;
    throw new P2pTelemetryConfigError(s.setting, s.value, expected);
  }
  return perSecond;
}
