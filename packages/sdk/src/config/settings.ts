import { P2pTelemetryConfigError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A raw value and where it came from, so that an error can name what to fix. */
export interface Sourced {
  readonly setting: string;
  readonly value: unknown;
  readonly fromEnv: boolean;
}

/** Largest delay Node's timers accept. */
export const MAX_MILLIS = 2 ** 31 - 1;

/**
 * The explicit option when set, else the first environment variable that is set. Blank variables
 * count as unset, as in the OpenTelemetry SDKs.
 */
export function pick(optionPath: string, option: unknown, env: Env, ...names: string[]): Sourced | undefined {
  if (option !== undefined) return { setting: `options.${optionPath}`, value: option, fromEnv: false };
  for (const name of names) {
    const raw = env[name]?.trim();
    if (raw) return { setting: name, value: raw, fromEnv: true };
  }
  return undefined;
}

/** The first of these environment variables that is set. */
export function envVar(env: Env, ...names: string[]): Sourced | undefined {
  return pick('', undefined, env, ...names);
}

export function integer(s: Sourced, min: number, max: number): number {
  const v = typeof s.value === 'string' && /^[+-]?\d+$/.test(s.value) ? Number(s.value) : s.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new P2pTelemetryConfigError(s.setting, s.value, `expected an integer from ${min} to ${max}`);
  }
  return v;
}

/** Environment values are matched case-insensitively, options exactly (they are typed). */
export function oneOf<T extends string>(s: Sourced, allowed: readonly T[]): T {
  const v = s.fromEnv && typeof s.value === 'string' ? s.value.toLowerCase() : s.value;
  if (!allowed.includes(v as T)) throw new P2pTelemetryConfigError(s.setting, s.value, `expected one of ${allowed.join(', ')}`);
  return v as T;
}

export function nonEmptyString(s: Sourced): string {
  if (typeof s.value !== 'string' || s.value.trim() === '') throw new P2pTelemetryConfigError(s.setting, s.value, 'expected a non-empty string');
  return s.value;
}

/** An absolute http(s) URL. */
export function httpUrl(s: Sourced): URL {
  let url: URL | undefined;
  try {
    url = typeof s.value === 'string' ? new URL(s.value) : undefined;
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new P2pTelemetryConfigError(s.setting, s.value, 'expected an absolute http:// or https:// URL');
  }
  return url;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `key=value` pairs: a comma-separated, percent-encoded list in the environment (the format of
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES), or a record in options. The SDKs skip
 * malformed entries with a debug message; we refuse them, since a lost auth header or attribute
 * only shows up later as rejected exports or missing series. Header values are never echoed:
 * they often carry credentials.
 */
export function keyValues(s: Sourced, kind: 'header' | 'attribute'): Record<string, string> {
  const shown = kind === 'header' ? undefined : s.value;
  const fail = (problem: string): never => {
    throw new P2pTelemetryConfigError(s.setting, shown, problem);
  };
  const entries: [string, unknown][] = [];
  if (typeof s.value === 'string') {
    s.value.split(',').forEach((item, i) => {
      if (item.trim() === '') return;
      const entry = kind === 'header' ? `entry ${i + 1}` : `entry ${JSON.stringify(item.trim())}`;
      const eq = item.indexOf('=');
      if (eq < 0) fail(`${entry} is not key=value`);
      try {
        entries.push([item.slice(0, eq).trim(), decodeURIComponent(item.slice(eq + 1).trim())]);
      } catch {
        fail(`${entry} has a malformed percent-encoding`);
      }
    });
  } else if (typeof s.value === 'object' && s.value !== null && !Array.isArray(s.value)) {
    entries.push(...Object.entries(s.value));
  } else {
    fail('expected key=value pairs');
  }
  for (const [key, value] of entries) {
    if (kind === 'header' ? !HEADER_NAME.test(key) : key === '') fail(`${JSON.stringify(key)} is not a valid ${kind} name`);
    if (typeof value !== 'string' || (kind === 'header' && /[\r\n\0]/.test(value))) fail(`the value of ${JSON.stringify(key)} is not a valid ${kind} value`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
