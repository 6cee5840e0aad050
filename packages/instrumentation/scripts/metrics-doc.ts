/**
 * Renders docs/metrics.md from the schema table, the label enums, RECORD_METHODS and the input
 * normalizer. Pure: no I/O, no clock. Every metric name below comes from METRICS; bad-input rules
 * are read off the normalizer itself by probing it, so the page cannot drift from the code.
 */
import { ACTIVE_CONNECTION_STATES, CONNECTION_STATES, ERROR_TYPES, OTHER, REJECT_REASONS, type RejectReason } from '../src/schema/label-values.js';
import { METRICS, METRIC_IDS, DESIGN_METRIC_IDS, type MetricId } from '../src/schema/metrics.js';
import { instrumentName } from '../src/schema/naming.js';
import { jsPrometheusExporterName, otlpToPrometheusName, otlpUnitSuffixes } from '../src/schema/prometheus-naming.js';
import type { ConfiguredDomain, InstrumentKind, LabelSpec, MetricDefinition, MetricGroup } from '../src/schema/types.js';
import { RECORD_METHODS, type ParamKind, type RecordMethod } from '../src/monitor/types.js';
import { ENUMS, InputNormalizer } from '../src/monitor/normalizer.js';
import type { P2pMonitorConfig } from '../src/monitor/otel-monitor.js';
import { DEFAULT_MAX_PEER_ID_LENGTH, DEFAULT_MAX_PEERS, DEFAULT_SHORT_LENGTH, type PeerIdMode, type PeerLabelOptions } from '../src/labels/peer-labels.js';
import { MAX_LEARNED_VALUE_LENGTH } from '../src/labels/value-index.js';

const code = (s: string): string => `\`${s}\``;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
const table = (head: readonly string[], rows: readonly (readonly string[])[]): string => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const anchor = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
const list = (items: readonly string[]): string => items.map((i) => `- ${i}`).join('\n');

const GROUP_TITLES: Record<MetricGroup, string> = {
  connection: 'Connection lifecycle',
  performance: 'Performance',
  discovery: 'Discovery and topology',
  resources: 'Resource utilisation',
  protocol: 'Protocol: QUIC, Iroh and resource sync',
  self: 'Self-monitoring',
};

const KIND_TEXT: Record<InstrumentKind, { otel: string; prometheus: string }> = {
  counter: { otel: 'ObservableCounter', prometheus: 'counter' },
  updowncounter: { otel: 'ObservableUpDownCounter', prometheus: 'gauge' },
  gauge: { otel: 'ObservableGauge', prometheus: 'gauge' },
  histogram: { otel: 'Histogram (synchronous)', prometheus: 'histogram' },
};

const PEER_MODES: Record<PeerIdMode, string> = {
  full: 'the id as given (Iroh node ids are public keys, not secrets)',
  short: 'its first `shortLength` characters, as Iroh prints ids',
  hash: 'HMAC-SHA256 of the id under `hashKey` (a deployment secret of at least 16 bytes), 16 hex characters: stable across restarts and nodes of one deployment, not reversible without the secret',
  none: 'no `peer_id` label at all: every metric is aggregated across peers',
};

const REASON_MEANINGS: Record<RejectReason, string> = {
  invalid_number:
    'a number parameter was NaN, infinite, not a number or, for an amount, above 2^53 - 1 (`Number.MAX_SAFE_INTEGER`: sums of larger values overflow to Infinity); or a ratio above 1 (clamped to 1, record kept)',
  negative: 'a size, count or duration below zero',
  invalid_peer_id: `a peer id that is not a string, is empty or is longer than \`maxPeerIdLength\` (default ${DEFAULT_MAX_PEER_ID_LENGTH})`,
  peer_id_is_address:
    'a peer id that is an IP address, with or without brackets and port, or carries one (a multiaddr `/ip4/…` or `/ip6/…`, a dotted quad inside it); in `short` mode also one whose short label would be one (`10.0.0.123-node`)',
  unknown_value: 'a value outside a closed set, a non-boolean flag, or a non-string for an application-configured set',
  over_capacity: `a bounded set is full: the known-peer set (\`${opt('maxKnownPeers')}\`) or the topology graph (\`${opt('maxTopologyNodes')}\`); the peer or link is not tracked`,
  internal_error: 'an exception inside the monitor, caught before it reached the caller (a bug: please report it)',
};

/** Valid input per parameter kind; enum kinds list their values from the enums themselves. */
const ACCEPTS: Record<ParamKind, string> = {
  peer: `a non-empty string of at most \`maxPeerIdLength\` characters that is not an IP address`,
  peerRef: 'as `peer`, but the record has no `peer_id` label, so it spends no label budget',
  amount: 'a number from 0 to 2^53 - 1',
  optionalAmount: 'omitted, or a number from 0 to 2^53 - 1',
  ratio: 'a finite number in [0, 1]; above 1 is clamped to 1 and counted',
  attemptResult: `${values('attemptResult')}, or \`true\`/\`false\` for success/failed`,
  connectionState: values('connectionState'),
  breakerState: values('breakerState'),
  direction: values('direction'),
  optionalDirection: `omitted (outbound), or ${values('direction')}`,
  boolean: '`true` or `false`',
  errorType: values('errorType'),
  discoveryMethod: values('discoveryMethod'),
  discoveryFailureReason: values('discoveryFailureReason'),
  evictionReason: values('evictionReason'),
  syncFailureReason: values('syncFailureReason'),
  messageType: configuredText('messageTypes'),
  resourceType: configuredText('resourceTypes'),
  protocolVersion: configuredText('protocolVersions'),
};

const PARAM_KINDS = Object.keys(ACCEPTS) as ParamKind[];

/** Names an option of the monitor so that renaming it breaks this file's type check. */
function opt<K extends keyof P2pMonitorConfig>(key: K): K {
  return key;
}

function values(kind: keyof typeof ENUMS): string {
  return ENUMS[kind].values.map(code).join(', ');
}

function configuredText(domain: ConfiguredDomain): string {
  return `any string: the \`${domain}\` set; any other string is \`${OTHER}\`, uncounted`;
}

const defs = (): [MetricId, MetricDefinition][] => METRIC_IDS.map((id) => [id, METRICS[id] as MetricDefinition]);

/** Values learned per application-configured set when the application declares none. */
function learnedCapacity(domain: ConfiguredDomain): number {
  return new InputNormalizer({}, () => undefined).domains[domain].size - 1; // learned slots + `other`
}

function labelText(label: LabelSpec): string {
  switch (label.domain.kind) {
    case 'peer':
      return `${code(label.key)}: peer id, see [peer labels](#peer-labels)`;
    case 'configured':
      return `${code(label.key)}: app-configured \`${label.domain.option}\` + \`${OTHER}\`, see [configured sets](#application-configured-sets)`;
    case 'closed':
      return `${code(label.key)}: ${label.domain.values.join(', ')}`;
  }
}

function kindText(def: MetricDefinition): string {
  const k = KIND_TEXT[def.instrument];
  return `${k.otel} → ${k.prometheus}`;
}

function groupSection(group: MetricGroup, index: number): string {
  const rows = defs()
    .filter(([, d]) => d.group === group)
    .map(([, d]) => [
      code(d.name),
      code(instrumentName(d)),
      kindText(d),
      code(d.unit),
      d.labels.length === 0 ? '-' : d.labels.map(labelText).join('<br>'),
      d.buckets === undefined ? '-' : d.buckets.join(', '),
      d.description,
    ]);
  const title = group === 'self' ? GROUP_TITLES[group] : `${index}. ${GROUP_TITLES[group]}`;
  return [`### ${title}`, '', table(['Prometheus name', 'OTel instrument', 'Kind', 'Unit', 'Labels', 'Buckets', 'Description'], rows)].join('\n');
}

function metricsSection(): string {
  const groups = [...new Set(defs().map(([, d]) => d.group))];
  let n = 0;
  return [
    '## Metrics',
    '',
    'Kind is the standard-instrument path (`OtelP2pMonitor` on the registered MeterProvider): histograms are ' +
      'synchronous instruments fed as records arrive; every other metric is an observable instrument read from the ' +
      "monitor's own aggregates at collection. The fast path (`createMetricProducer()`) produces all of them at " +
      'collection, with the same names, units, buckets and data point types.',
    '',
    ...groups.flatMap((g) => [groupSection(g, g === 'self' ? 0 : ++n), '']),
  ].join('\n');
}

function decisionsSection(): string {
  const m = METRICS;
  const renamed = defs().filter(([, d]) => d.designName !== undefined);
  const others = defs().filter(([, d]) => d.designName === undefined && d.decision !== undefined);
  const gaugeRenames = renamed.filter(([, d]) => d.instrument !== 'counter' && d.designName!.endsWith('_total'));
  const countRenames = renamed.filter(([, d]) => d.designName!.endsWith('_count'));
  const openSets = new Map<string, string>();
  for (const [, d] of defs()) {
    for (const l of d.labels) {
      if (l.domain.kind === 'closed' && l.domain.values.includes(OTHER) && d.group !== 'self') {
        const key = `${l.key}: ${l.domain.values.join(', ')}`;
        if (!openSets.has(key)) openSets.set(key, d.name);
      }
    }
  }
  const discoveryMetrics = defs()
    .filter(([, d]) => d.labels.some((l) => l.key === 'discovery_method'))
    .map(([, d]) => code(d.name));
  const msMetrics = defs()
    .filter(([, d]) => d.unit === 'ms')
    .map(([, d]) => code(d.name));
  const crossCutting = [
    `**Connection states.** \`ConnectionState\` has ${CONNECTION_STATES.length} states (${CONNECTION_STATES.join(', ')}); ` +
      `${code(m.connectionsActive.name)} reports the ${ACTIVE_CONNECTION_STATES.length} live ones the design lists ` +
      `(${ACTIVE_CONNECTION_STATES.join(', ')}), every one always present, zero included. The terminal states show up as ` +
      `\`to_state\` of ${code(m.connectionStateTransitions.name)}.`,
    `**Open taxonomies end in \`${OTHER}\`.** The design's error taxonomy (${ERROR_TYPES.filter((v) => v !== OTHER).join(', ')}) ` +
      `gains \`${OTHER}\`, so errors we cannot classify are still counted; so does every other set of an open-ended world: ` +
      [...openSets.entries()]
        .filter(([set]) => !set.startsWith('error_type:'))
        .map(([set, name]) => `${set} (${code(name)})`)
        .join('; ') +
      '.',
    `**One discovery label.** The design says \`discovery_method\` on one discovery metric and \`method\` on the others; ` +
      `${discoveryMetrics.join(', ')} all use \`discovery_method\`, so they join without relabelling.`,
    `**\`version\` of ${code(m.protocolVersion.name)}** is the ALPN protocol the connection negotiated (for example ` +
      '`my-app/raft/2`), from the set the application declares; an info-style gauge, 1 while a connection uses it.',
    `**A hop** (${code(m.peerDistance.name)}, ${code(m.clusterDiameter.name)}) is one overlay link between two nodes of the ` +
      'known peer graph, a relay server counting as a node: 1 for a direct connection, 2 through a relay. Not an IP router hop.',
    `**Milliseconds stay in names.** Prometheus prefers base units (seconds) and \`promtool check metrics\` says so; ` +
      `${msMetrics.join(', ')} keep the design's \`_milliseconds\` names and unit \`ms\` because its dashboards and alerts ` +
      `are written against them. ${code(m.connectionDuration.name)} is in seconds, as designed.`,
    `**${code(m.bytesSent.name)} has no \`direction\`.** The direction is in the metric name ` +
      `(${code(m.bytesReceived.name)} is its pair); \`direction="inbound"\` on bytes sent would mean nothing.`,
    `**Gauges do not end in \`_total\`.** \`_total\` marks a counter in Prometheus and OpenMetrics: ` + gaugeRenames.map(([, d]) => `${code(d.designName!)} → ${code(d.name)}`).join(', ') + '.',
    `**No \`_count\` on a counter.** ` +
      countRenames.map(([, d]) => `${code(d.designName!)} → ${code(d.name)}`).join(', ') +
      ': every export path appends `_total` to counters, and `_count` is the suffix of histogram series.',
  ];
  return [
    '## Decisions: where we depart from the design',
    '',
    list(crossCutting),
    '',
    '### Per metric',
    '',
    table(
      ['Design name', 'Our name', 'Why'],
      [...renamed, ...others].map(([, d]) => [code(d.designName ?? d.name), d.designName === undefined ? 'unchanged' : code(d.name), d.decision ?? '']),
    ),
  ].join('\n');
}

function namingSection(): string {
  const example = defs().find(([, d]) => d.instrument === 'histogram' && d.unit === 'ms')?.[1];
  const lines = [
    '## Naming',
    '',
    'OTel instrument names are the Prometheus names, underscores and unit word included, less the `_total` of ' +
      'counters. They are not dotted OTel-style names because the two ways to Prometheus treat units differently:',
    '',
    list([
      '`@opentelemetry/exporter-prometheus` (scrape) turns every character outside `[a-zA-Z0-9_]` into `_` and appends `_total` to counters; it ' +
        'adds no unit suffix (the unit only goes to a `# UNIT` comment).',
      'OTLP to Prometheus (Prometheus’ OTLP receiver, default `UnderscoreEscapingWithSuffixes`; Collector Prometheus ' +
        'exporters with metric suffixes; `prometheus/otlptranslator`) appends the unit word unless it already is one ' +
        'of the name’s tokens, `_total` to monotonic counters and `_ratio` to gauges of unit `1`.',
    ]),
    '',
  ];
  if (example !== undefined) {
    const word = otlpUnitSuffixes(example.unit).main;
    const dotted = instrumentName(example)
      .replace(new RegExp(`_${word}$`), '')
      .replace(/_/g, '.');
    lines.push(
      `A dotted \`${dotted}\` of unit \`${example.unit}\` would be ${code(jsPrometheusExporterName(dotted, example.instrument) ?? '')} ` +
        `when scraped and ${code(otlpToPrometheusName(dotted, example.unit, example.instrument) ?? '')} through OTLP. ` +
        `Named ${code(instrumentName(example))}, it is ${code(example.name)} both ways. A test checks both translations ` +
        'for every metric (`test/naming.test.ts`, models in `src/schema/prometheus-naming.ts`).',
      '',
    );
  }
  const units = [...new Set(defs().map(([, d]) => d.unit))].sort();
  lines.push(
    'Units are UCUM. How OTLP translation reads the ones we use:',
    '',
    table(
      ['Unit', 'OTLP suffix', 'Used by'],
      units.map((u) => {
        const s = otlpUnitSuffixes(u);
        const suffix = [s.main, s.per].filter((x) => x !== '').join('_');
        const suffixText = u === '1' ? '`ratio` on gauges, none otherwise' : suffix === '' ? 'none (annotation)' : code(suffix);
        const users = defs().filter(([, d]) => d.unit === u).length;
        return [code(u), suffixText, `${users} metric${users === 1 ? '' : 's'}`];
      }),
    ),
    '',
    'Counts use annotations (`{connection}`, `{peer}`) so that no unit word is added; unit `1` is kept for the gauges ' + 'whose names end in `_ratio`.',
  );
  const exceptions = defs().flatMap(([, d]) => {
    const otel = instrumentName(d);
    const js = jsPrometheusExporterName(otel, d.instrument);
    const otlp = otlpToPrometheusName(otel, d.unit, d.instrument);
    const legacy = otlpToPrometheusName(otel, d.unit, d.instrument, { translator: 'legacy' });
    const notes: string[] = [];
    if (js !== d.name) notes.push(`scraped from the JS exporter as ${code(js ?? '(dropped)')}`);
    if (otlp !== d.name) {
      notes.push(
        `through \`prometheus/otlptranslator\` as ${code(otlp ?? '(dropped)')}` +
          (d.unit.includes('/') ? ': it compares the per-unit suffix as one token (`per_second`), which a tokenised name never contains, so it appends it again' : ''),
      );
    }
    if (legacy !== d.name) notes.push(`through the Collector's older \`pkg/translator/prometheus\` as ${code(legacy ?? '(dropped)')}`);
    return notes.length === 0 ? [] : [`${code(d.name)} (unit \`${d.unit}\`) arrives ${notes.join('; ')}.`];
  });
  const reserved = defs()
    .filter(([, d]) => d.instrument !== 'histogram' && /_(count|sum|bucket)$/.test(d.name))
    .map(
      ([, d]) =>
        `${code(d.name)} is not a histogram but ends in \`${/_(count|sum|bucket)$/.exec(d.name)![0]}\`, a suffix reserved for histogram and summary series (\`promtool check metrics\` flags it).`,
    );
  if (exceptions.length + reserved.length > 0) {
    lines.push('', '### Known naming issues', '', list([...exceptions, ...reserved]));
  }
  return lines.join('\n');
}

function cardinalitySection(): string {
  const peerMetrics = defs().filter(([, d]) => d.labels.some((l) => l.domain.kind === 'peer'));
  const domains: ConfiguredDomain[] = ['messageTypes', 'resourceTypes', 'protocolVersions'];
  const peerOpt = (k: keyof PeerLabelOptions): string => code(k);
  const seriesOf = (d: MetricDefinition): number =>
    d.labels.reduce((n, l) => {
      switch (l.domain.kind) {
        case 'peer':
          return n * (DEFAULT_MAX_PEERS + 1);
        case 'closed':
          return n * l.domain.values.length;
        case 'configured':
          return n * (learnedCapacity(l.domain.option) + 1);
      }
    }, 1);
  const worst = defs()
    .map(([, d]) => [d.name, seriesOf(d)] as const)
    .sort((a, b) => b[1] - a[1]);
  return [
    '## Labels and cardinality',
    '',
    'Every label value comes from a bounded set, so the number of series is bounded whatever the network does:',
    '',
    list([
      `**Closed sets** (states, results, directions, reasons) are listed with each metric above. Where the world is open the set ends in \`${OTHER}\` and unknown values fold into it.`,
      '**`peer_id`** follows the peer-label policy below.',
      '**Application-configured sets** (`message_type`, `resource_type`, `version`) hold what the application declares, plus `other`.',
    ]),
    '',
    '### Peer labels',
    '',
    `${peerMetrics.length} metrics carry \`peer_id\`. Its value depends on ${peerOpt('mode')}:`,
    '',
    list((Object.keys(PEER_MODES) as PeerIdMode[]).map((k) => `\`${k}\`${k === 'short' ? ' (default)' : ''}: ${PEER_MODES[k]}.`)),
    '',
    'Defaults and limits:',
    '',
    list([
      `Default ${peerOpt('shortLength')}: ${DEFAULT_SHORT_LENGTH} characters. A peer literally named \`${OTHER}\` is labelled \`${OTHER}_\`.`,
      `**Budget:** at most ${peerOpt('maxPeers')} (default ${DEFAULT_MAX_PEERS}) distinct peer labels for the lifetime of the process. Later peers are recorded under \`peer_id="${OTHER}"\` with their other labels kept, so totals stay right.`,
      '**Labels are never recycled.** With cumulative temporality a series is its whole history: giving a departed peer’s label to a new peer would splice two peers into one series. And a bound on labels is what bounds memory under churn: the SDK’s cardinality limit applies per collection, and series that stop being reported keep being exported.',
      `**IP-address-looking ids are rejected** (counted as \`peer_id_is_address\`, recorded under \`${OTHER}\`): an address is personal data and reveals where a peer is, it changes with NAT rebinding and roaming, so it would mint series without identifying a peer. In \`short\` mode an id whose first \`shortLength\` characters form an address (\`10.0.0.123-node\`) is rejected the same way. Ids that are not strings, are empty or exceed ${peerOpt('maxPeerIdLength')} (default ${DEFAULT_MAX_PEER_ID_LENGTH}) count as \`invalid_peer_id\`.`,
      'Records that mention a peer but have no `peer_id` label (discovery, topology links) validate the id the same way and spend no budget.',
    ]),
    '',
    '### Application-configured sets',
    '',
    table(
      ['Option', 'Label', 'When omitted'],
      domains.map((o) => [
        code(o),
        [...new Set(defs().flatMap(([, d]) => d.labels.filter((l) => l.domain.kind === 'configured' && l.domain.option === o).map((l) => code(l.key))))].join(', '),
        `first ${learnedCapacity(o)} values seen, then \`${OTHER}\``,
      ]),
    ),
    '',
    `Declared values form a closed set; any other string is \`${OTHER}\`, silently (an application’s own vocabulary is not bad input). ` +
      `Values longer than ${MAX_LEARNED_VALUE_LENGTH} characters are never learned. A non-string counts as \`unknown_value\`.`,
    '',
    '### Worst case at the defaults',
    '',
    `With ${DEFAULT_MAX_PEERS} peers + \`${OTHER}\` and every learned set full, all metrics together hold at most ` +
      `${worst.reduce((n, [, c]) => n + c, 0).toLocaleString('en-US')} series (a histogram counts once, not per bucket). ` +
      `The largest: ${worst
        .slice(0, 5)
        .map(([name, c]) => `${code(name)} ${c.toLocaleString('en-US')}`)
        .join(', ')}. \`maxPeers\` scales every per-peer metric linearly.`,
  ].join('\n');
}

interface ProbeResult {
  drops: Set<RejectReason>;
  folds: Set<RejectReason>;
}

const PROBES: readonly unknown[] = [{}, NaN, Infinity, -1, 2, '', 'no-such-value', '10.0.0.1', '[::1]:4433', 'x'.repeat(DEFAULT_MAX_PEER_ID_LENGTH + 1), undefined];

/** Feeds bad values of every kind to a fresh normalizer and records what it does with them. */
function probe(kind: ParamKind): ProbeResult {
  const result: ProbeResult = { drops: new Set(), folds: new Set() };
  for (const value of PROBES) {
    const n = new InputNormalizer({ messageTypes: ['declared'], resourceTypes: ['declared'], protocolVersions: ['declared'] }, () => undefined);
    const kept = n.validate([kind], [value]);
    REJECT_REASONS.forEach((reason, i) => {
      if ((n.rejected[i] as number) > 0) (kept ? result.folds : result.drops).add(reason);
    });
  }
  return result;
}

function badInputSection(): string {
  const probes = new Map(PARAM_KINDS.map((k) => [k, probe(k)] as const));
  const isDrop = (k: ParamKind): boolean => probes.get(k)!.drops.size > 0;
  const reasonsText = (r: ProbeResult): string =>
    [r.drops.size > 0 ? `drops: ${[...r.drops].map(code).join(', ')}` : '', r.folds.size > 0 ? `keeps: ${[...r.folds].map(code).join(', ')}` : ''].filter((s) => s !== '').join('; ');
  const usedBy = (k: ParamKind): string[] => (Object.keys(RECORD_METHODS) as RecordMethod[]).filter((m) => RECORD_METHODS[m].includes(k));
  const kindRow = (k: ParamKind): string[] => [code(k), ACCEPTS[k], reasonsText(probes.get(k)!) || '-', `${usedBy(k).length}`];
  const methods = Object.keys(RECORD_METHODS) as RecordMethod[];
  return [
    '## Bad input',
    '',
    `Record methods never throw and never block. Invalid input is dropped or folded, and counted in ${code(`${METRICS.rejectedRecords.name}{reason}`)}; ` +
      'the first rejection of each reason also logs one warning through the OpenTelemetry diag logger.',
    '',
    list([
      '**Drop kinds** (numbers, closed sets without `other`, flags): an invalid value drops the whole record.',
      `**Fold kinds** (peer ids, sets with \`${OTHER}\`, application-configured sets): an invalid value becomes \`${OTHER}\` and the record is kept.`,
      'Drop checks run first: a dropped record counts one reason (its first dropping parameter) and spends no peer label. A kept record counts one reason per folded parameter.',
    ]),
    '',
    '### Parameter kinds',
    '',
    'What each kind accepts, and the reasons counted when it does not (read off the normalizer by feeding it bad values).',
    '',
    '#### Drop kinds',
    '',
    table(['Kind', 'Accepts', 'Bad input', 'Methods using it'], PARAM_KINDS.filter(isDrop).map(kindRow)),
    '',
    '#### Fold kinds',
    '',
    table(['Kind', 'Accepts', 'Bad input', 'Methods using it'], PARAM_KINDS.filter((k) => !isDrop(k)).map(kindRow)),
    '',
    '### Record methods',
    '',
    table(
      ['Method', 'Parameters', 'Drop-checked', 'Folded'],
      methods.map((m) => {
        const kinds = RECORD_METHODS[m];
        const drop = [...new Set(kinds.filter(isDrop))];
        const fold = [...new Set(kinds.filter((k) => !isDrop(k)))];
        return [code(m), kinds.map(code).join(', '), drop.map(code).join(', ') || '-', fold.map(code).join(', ') || '-'];
      }),
    ),
    '',
    '### Reject reasons',
    '',
    table(
      ['Reason', 'Meaning'],
      REJECT_REASONS.map((r) => [code(r), REASON_MEANINGS[r]]),
    ),
  ].join('\n');
}

/** The whole of docs/metrics.md. */
export function renderMetricsDoc(): string {
  const sections = ['Metrics', 'Decisions: where we depart from the design', 'Naming', 'Labels and cardinality', 'Bad input'];
  const intro = [
    '<!-- Generated by `pnpm docs:metrics` from packages/instrumentation/src/schema/metrics.ts. Do not edit by hand. -->',
    '',
    '# P2P metrics reference',
    '',
    `${METRIC_IDS.length} metrics: the ${DESIGN_METRIC_IDS.length} of the P2P connection monitoring design and ` +
      `${METRIC_IDS.length - DESIGN_METRIC_IDS.length} for the monitor itself. Names are Prometheus names as they reach ` +
      'Prometheus, by scrape or through OTLP; the OTel instrument name is given alongside. Durations are in the unit ' +
      'their name says; sizes are bytes.',
    '',
    list(sections.map((s) => `[${s}](#${anchor(s)})`)),
  ].join('\n');
  return `${[intro, metricsSection(), decisionsSection(), namingSection(), cardinalitySection(), badInputSection()]
    .join('\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
