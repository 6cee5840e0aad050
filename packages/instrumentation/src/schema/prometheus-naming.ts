/**
 * Models of the two ways an OpenTelemetry metric name becomes a Prometheus name. Pure functions,
 * used by tests and docs/metrics.md to prove that every schema entry reaches Prometheus under the
 * same name whichever path it takes. They model the upstream rules; they contain no upstream code.
 */
import type { InstrumentKind } from './types.js';

/**
 * The name `@opentelemetry/exporter-prometheus` 0.223 serves for an instrument, or undefined when
 * it drops the metric (an empty name or `_` after sanitising).
 *
 * Modelled on `build/src/PrometheusSerializer.js` of that package (open-telemetry/opentelemetry-js,
 * `experimental/packages/opentelemetry-exporter-prometheus/src/PrometheusSerializer.ts`):
 * - backslashes and newlines are escaped first, then every character outside `[a-zA-Z0-9_]` becomes
 *   `_` and runs of underscores collapse into one (dots, dashes and colons all become `_`);
 * - the optional `prefix` option is prepended as given, with `_`;
 * - a leading digit gets a `_` in front;
 * - a monotonic sum (a counter) gets `_total` unless the name already ends in `_total`;
 * - nothing else: no unit suffix (the unit goes to a `# UNIT` comment), no `_ratio`.
 */
export function jsPrometheusExporterName(name: string, kind: InstrumentKind, options: { prefix?: string } = {}): string | undefined {
  let out = name
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/[^a-z0-9_]/gi, '_')
    .replace(/_{2,}/g, '_');
  if (options.prefix) out = `${options.prefix}_${out}`;
  if (out === '' || out === '_') return undefined;
  if (out[0]! >= '0' && out[0]! <= '9') out = `_${out}`;
  if (kind === 'counter' && !out.endsWith('_total')) out += '_total';
  return out;
}

/**
 * OTLP metric types as otlptranslator sees them: what the SDK exports for each instrument kind
 * (counter: monotonic sum; up-down counter: non-monotonic sum; gauge; explicit-bucket histogram).
 */
export type OtlpMetricType = 'monotonic_counter' | 'non_monotonic_counter' | 'gauge' | 'histogram';

export function otlpMetricType(kind: InstrumentKind): OtlpMetricType {
  switch (kind) {
    case 'counter':
      return 'monotonic_counter';
    case 'updowncounter':
      return 'non_monotonic_counter';
    case 'gauge':
      return 'gauge';
    case 'histogram':
      return 'histogram';
  }
}

/** UCUM unit → Prometheus unit word (otlptranslator `unitMap`; `1` maps to nothing). */
const UNIT_WORDS: ReadonlyMap<string, string> = new Map([
  ['d', 'days'],
  ['h', 'hours'],
  ['min', 'minutes'],
  ['s', 'seconds'],
  ['ms', 'milliseconds'],
  ['us', 'microseconds'],
  ['ns', 'nanoseconds'],
  ['By', 'bytes'],
  ['KiBy', 'kibibytes'],
  ['MiBy', 'mebibytes'],
  ['GiBy', 'gibibytes'],
  ['TiBy', 'tibibytes'], // `tebibytes` in the newest otlptranslator (LegacyUnitMapping keeps this)
  ['KBy', 'kilobytes'],
  ['MBy', 'megabytes'],
  ['GBy', 'gigabytes'],
  ['TBy', 'terabytes'],
  ['m', 'meters'],
  ['V', 'volts'],
  ['A', 'amperes'],
  ['J', 'joules'],
  ['W', 'watts'],
  ['g', 'grams'],
  ['Cel', 'celsius'],
  ['Hz', 'hertz'],
  ['1', ''],
  ['%', 'percent'],
]);

/** UCUM unit after `/` → singular word (otlptranslator `perUnitMap`). */
const PER_UNIT_WORDS: ReadonlyMap<string, string> = new Map([
  ['s', 'second'],
  ['m', 'minute'],
  ['h', 'hour'],
  ['d', 'day'],
  ['w', 'week'],
  ['mo', 'month'],
  ['y', 'year'],
]);

/**
 * The unit suffixes OTLP translation derives from a UCUM unit, before cleaning: `By/s` gives
 * `bytes` and `per_second`. A part containing `{` or `}` (an annotation such as `{packet}`) gives
 * nothing; unknown units are kept as written.
 */
export function otlpUnitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perPart = slash < 0 ? '' : unit.slice(slash + 1);
  let main = '';
  let per = '';
  if (mainPart !== '' && !/[{}]/.test(mainPart)) main = UNIT_WORDS.get(mainPart) ?? mainPart;
  if (perPart !== '') {
    const p = perPart.trim();
    if (p !== '' && !/[{}]/.test(p)) per = PER_UNIT_WORDS.get(p) ?? p;
    if (per !== '') per = `per_${per}`;
  }
  return { main, per };
}

export interface OtlpNamingOptions {
  /** Prepended as a token (`namespace` of the Collector exporters / otlptranslator). */
  namespace?: string;
  /**
   * `otlptranslator` (default): prometheus/otlptranslator, used by Prometheus 3's OTLP receiver
   * and by the exporters built on it. `legacy`: the Collector's older
   * `pkg/translator/prometheus/normalize_name.go` (also copied into Prometheus 2.x).
   */
  translator?: 'otlptranslator' | 'legacy';
}

/**
 * The Prometheus name an OTLP metric gets from the OTLP-to-Prometheus translation with suffixes
 * (Prometheus' `UnderscoreEscapingWithSuffixes` strategy, the default of its OTLP receiver; the
 * Collector's Prometheus exporters with `add_metric_suffixes`), or undefined when the translation
 * fails (empty name, or only underscores).
 *
 * Modelled on prometheus/otlptranslator `metric_namer.go` (`normalizeName`, `addUnitTokens`,
 * `unitMap`, `perUnitMap`, `buildCompliantMetricName`) and `unit_namer.go` (`buildUnitSuffixes`,
 * `cleanUpUnit`); `legacy` on open-telemetry/opentelemetry-collector-contrib
 * `pkg/translator/prometheus/normalize_name.go` (`normalizeName`), identical to prometheus/prometheus
 * `storage/remote/otlptranslator/prometheus/normalize_name.go` before Prometheus 3:
 * 1. the name splits into tokens on every character outside `[a-zA-Z0-9:]` (legacy: outside Unicode
 *    letters and digits), so separators and runs of `_` vanish;
 * 2. the unit splits at the first `/`; each part maps through the unit tables, a part with `{}` is
 *    dropped; the main word is appended unless it already is one of the tokens; the per part
 *    (`per_second`) likewise, compared as one token - which a tokenised name never contains, so it
 *    is always appended (legacy compared the bare word `second` and appended `per`, `second`);
 * 3. monotonic counters: every `total` token is removed and `total` appended;
 * 4. gauges (not sums) of unit exactly `1`: every `ratio` token is removed and `ratio` appended;
 * 5. namespace first, tokens joined with `_`, a leading digit prefixed with `_`.
 */
export function otlpToPrometheusName(name: string, unit: string, kind: InstrumentKind, options: OtlpNamingOptions = {}): string | undefined {
  const type = otlpMetricType(kind);
  const legacy = options.translator === 'legacy';
  let tokens = legacy ? tokensLegacy(name) : name.split(/[^a-zA-Z0-9:]/u).filter((t) => t !== '');
  const { main, per } = otlpUnitSuffixes(unit);
  if (legacy) {
    const mainWord = tokensLegacy(main).join('_');
    if (mainWord !== '' && !tokens.includes(mainWord)) tokens.push(mainWord);
    const perWord = tokensLegacy(per.replace(/^per_/, '')).join('_');
    if (perWord !== '' && !tokens.includes(perWord)) tokens.push('per', perWord);
  } else {
    tokens = addUnitTokens(tokens, cleanUpUnit(main), cleanUpUnit(per));
  }
  if (type === 'monotonic_counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  if (options.namespace) tokens = [options.namespace, ...tokens];
  let out = tokens.join('_');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  if (legacy) return out === '' ? undefined : out;
  if (out === '') return undefined;
  if (out !== name && /^_+$/.test(out)) return undefined;
  return out;
}

/** otlptranslator `cleanUpUnit`: invalid characters to `_`, runs collapsed, one leading `_` trimmed. */
function cleanUpUnit(unit: string): string {
  return unit
    .replace(/[^a-zA-Z0-9:]/gu, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^_/, '');
}

/** otlptranslator `addUnitTokens`. */
function addUnitTokens(tokens: string[], main: string, per: string): string[] {
  let m = tokens.includes(main) ? '' : main;
  let p = per;
  if (p === 'per_') p = '';
  else {
    p = p.replace(/_$/, '');
    if (tokens.includes(p)) p = '';
  }
  if (p !== '') m = m.replace(/_$/, '');
  const out = [...tokens];
  if (m !== '') out.push(m);
  if (p !== '') out.push(p);
  return out;
}

/** Go's FieldsFunc on !unicode.IsLetter && !unicode.IsDigit. */
function tokensLegacy(s: string): string[] {
  return s.split(/[^\p{L}\p{Nd}]/u).filter((t) => t !== '');
}
