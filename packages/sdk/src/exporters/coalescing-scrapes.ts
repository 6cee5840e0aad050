import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { diag } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricData, MetricReader, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { P2pMetricProducer, PrometheusTextWriter } from '@p2p-otel/instrumentation';

/** The Prometheus text exposition format the serializer writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** A collection that has not finished after this fails its scrapes with 500. */
export const COLLECTION_TIMEOUT_MS = 10_000;

/**
 * Serves scrapes single-flight: all scrapes waiting when a collection starts get its result, so
 * that N scrapers cost one collection and one serialization, not N.
 *
 * Why: collecting and serializing is synchronous CPU work (tens of ms for a node of 1,000 fully
 * recorded peers, a 32 MB text). The exporter's own handler runs it once per request, within the
 * I/O callback that parsed the request, so every request that arrived in one event-loop turn was
 * served in that turn: 50 scrapers of a 32-peer node held the loop for seconds. Here a scrape
 * only queues its response; the collection runs from setImmediate, and is written in slices
 * (scrapeBody) with the event loop running in between.
 *
 * Behaves as the exporter's handler does otherwise (its serializer with its default options,
 * collection errors logged to diag), except that a failed collection or write answers 500 instead
 * of a 200 with a comment, so that Prometheus marks the target down rather than storing an empty
 * scrape.
 */
export class CoalescingScrapes {
  private waiting: ServerResponse[] = [];
  private running = false;

  /** `own`: the monitor's metrics, written by its fast writer (see scrapeBody); the reader then has no producer of them. */
  constructor(
    private readonly reader: MetricReader,
    private readonly own?: OwnMetrics,
  ) {}

  add(res: ServerResponse): void {
    this.waiting.push(res);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.run());
    }
  }

  private async run(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const live = batch.filter((res) => !res.destroyed);
    if (live.length > 0) {
      let status = 200;
      let body: Buffer[];
      let release = nothingToRelease;
      try {
        ({ chunks: body, release } = await scrapeBody(this.reader, this.own)); // encoded once for all
      } catch (e) {
        diag.error('@p2p-otel/sdk: metrics collection failed', e);
        status = 500;
        body = [Buffer.from(`# failed to collect metrics: ${e instanceof Error ? e.message : String(e)}\n`, 'utf8')];
      }
      const sending = new ResponsesInFlight(release);
      let length = 0;
      for (const chunk of body) length += chunk.length;
      const last = body.length - 1;
      for (const res of live) {
        if (res.destroyed || res.headersSent) continue;
        try {
          res.writeHead(status, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': length });
          for (let i = 0; i < last; i++) res.write(body[i]); // the same buffers for every scraper, never copied
          res.end(body[last]);
          sending.add(res);
        } catch (e) {
          diag.error('@p2p-otel/sdk: cannot send a scrape response', e);
          sending.spoil();
          res.destroy();
        }
      }
      sending.close();
    }
    if (this.waiting.length > 0) setImmediate(() => void this.run());
    else this.running = false;
  }
}

/**
 * The monitor's metrics on the Prometheus path: its PrometheusTextWriter writes them straight from
 * the typed arrays, so that the reader's collection holds only the application's other metrics.
 */
export interface OwnMetrics {
  readonly writer: PrometheusTextWriter;
  /**
   * The same metrics as data points, for the scrape where another scope uses one of our metric
   * names: the serializer then decides how the two share a family (see scrapeBody).
   */
  readonly producer: P2pMetricProducer;
}

/** A scrape's response body: buffers to send in order. */
export interface ScrapeBody {
  readonly chunks: Buffer[];
  /** Call once no response reads the chunks any more: their buffers then serve the next scrape. */
  release(): void;
}

const nothingToRelease = (): void => undefined;

/**
 * One scrape's response body, as buffers to send in order: the reader's collection serialized as
 * the exporter does (target_info first, serializeInSlices), then, with `own`, the monitor's
 * families from its fast writer, which are exactly what the serializer would have written for
 * them after the other metrics (a test holds the two to equality on the exporter's line in use).
 *
 * Appending is what both exporter lines write because our metric names are ours: 0.2xx writes
 * every metric with its own header anyway, and 0.30x groups metrics by Prometheus name, which
 * only matters when another scope has a metric of one of our names. In that case (an
 * application with its own p2p_* metric, a second OtelP2pMonitor on the standard path of this
 * provider) the scrape is serialized as before this writer existed: our producer's collection
 * added to the reader's, through the serializer, so that the exporter merges or separates the
 * families as it always has.
 *
 * Throws when collecting or writing fails; the caller answers 500.
 */
export async function scrapeBody(reader: MetricReader, own?: OwnMetrics): Promise<ScrapeBody> {
  const { resourceMetrics, errors } = await withTimeout(reader.collect({ timeoutMillis: COLLECTION_TIMEOUT_MS }), COLLECTION_TIMEOUT_MS);
  if (errors.length > 0) diag.error('@p2p-otel/sdk: metrics collection errors', ...errors);
  const others = await serializeInSlices(resourceMetrics);
  if (own === undefined) return { chunks: [Buffer.from(others, 'utf8')], release: nothingToRelease };
  const ours = new Set(own.writer.names);
  for (const [, name] of others.matchAll(/^# TYPE (\S+) /gm)) {
    if (ours.has(name as string)) {
      const produced = own.producer.collectSync();
      if (produced.errors.length > 0) throw new AggregateError(produced.errors, 'p2p-otel metrics collection failed');
      const merged: ResourceMetrics = { ...resourceMetrics, scopeMetrics: [...resourceMetrics.scopeMetrics, ...(produced.resourceMetrics.scopeMetrics as ScopeMetrics[])] };
      return { chunks: [Buffer.from(await serializeInSlices(merged), 'utf8')], release: nothingToRelease };
    }
  }
  const chunks: Buffer[] = [];
  let sliceStart = performance.now();
  const scrape = await own.writer.begin();
  while (!scrape.done) {
    const chunk = scrape.next();
    if (chunk.length > 0) chunks.push(chunk);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  // With our families, the serializer's "no registered metrics" line (the others had none) goes.
  const noMetrics = new PrometheusSerializer(undefined, false, undefined, true).serialize({ resource: resourceMetrics.resource, scopeMetrics: [] });
  if (chunks.length === 0) return { chunks: [Buffer.from(others, 'utf8')], release: () => scrape.release() };
  chunks.unshift(Buffer.from(others.endsWith(noMetrics) ? others.slice(0, others.length - noMetrics.length) : others, 'utf8'));
  return { chunks, release: () => scrape.release() };
}

/**
 * Releases a body's buffers once every response that was given them has been handed to the
 * operating system ('finish'). A response that ends otherwise (the scraper went away) may leave
 * them referenced by its socket: they are then left to the garbage collector instead.
 */
class ResponsesInFlight {
  private pending = 1; // until close(): no release while responses are still being added
  private spoiled = false;

  constructor(private readonly release: () => void) {}

  add(res: ServerResponse): void {
    if (res.writableFinished) return;
    this.pending++;
    try {
      finished(res, (e) => {
        if (e !== undefined && e !== null) this.spoiled = true;
        this.done();
      });
    } catch {
      this.spoiled = true;
      this.done();
    }
  }

  spoil(): void {
    this.spoiled = true;
  }

  close(): void {
    this.done();
  }

  private done(): void {
    if (--this.pending > 0 || this.spoiled) return;
    try {
      this.release();
    } catch (e) {
      diag.error('@p2p-otel/sdk: cannot recycle scrape buffers', e);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`collection timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Serialization work between two yields to the event loop. */
const SLICE_MS = 4;
/** Data points serialized at once: a few hundred lines. */
export const POINTS_PER_SLICE = 32;

/**
 * The text `new PrometheusSerializer().serialize(resourceMetrics)` returns (the exporter's
 * serializer, default options), produced in slices of at most POINTS_PER_SLICE data points,
 * yielding to the event loop whenever serializing has taken SLICE_MS: the loop is then held a
 * few milliseconds at a time, however many series a scrape has.
 *
 * The serializer writes target_info, then the metrics, each metric family as its HELP/UNIT/TYPE
 * header followed by one block per data point, so the slices concatenate to the same text once
 * the repeated headers are dropped. What a family is depends on the exporter's line:
 * - 0.2xx (SDK 2.x) writes every metric of every scope with its own header, scope after scope;
 * - 0.30x (SDK 3.x) writes one family per Prometheus name: metrics of that name from every scope
 *   under one header (first type, first non-empty HELP and UNIT), families in order of first
 *   appearance, and drops a family whose metrics disagree on the type.
 * Which one is found out here (two scopes, one metric: one TYPE line or two). A family of several
 * metrics gets the header the serializer writes for them all with no data point, then each
 * metric's data points without its own header. A test holds this to the serializer's text on
 * both lines; should a slice not start with the header the serializer wrote for the metric alone,
 * or a metric be named target_info, the whole scrape is serialized in one go instead.
 */
export async function serializeInSlices(resourceMetrics: ResourceMetrics): Promise<string> {
  const { resource } = resourceMetrics;
  const withTarget = new PrometheusSerializer();
  const inOneGo = (): string => withTarget.serialize(resourceMetrics);
  const metricsOnly = new PrometheusSerializer(undefined, false, undefined, true);
  const noMetrics = metricsOnly.serialize({ resource, scopeMetrics: [] }); // the serializer's "no registered metrics" line
  const targetAndNoMetrics = withTarget.serialize({ resource, scopeMetrics: [] });
  if (!targetAndNoMetrics.endsWith(noMetrics)) return inOneGo(); // unknown layout
  const serialize = (scopeMetrics: ResourceMetrics['scopeMetrics']): string => {
    const t = metricsOnly.serialize({ resource, scopeMetrics });
    return t === noMetrics ? '' : t; // '' where the serializer skips (or drops) everything
  };
  type Entry = { scope: ScopeMetrics['scope']; metric: MetricData; header: string };
  const alone = (e: Entry, dataPoints: readonly unknown[]): string => serialize([{ scope: e.scope, metrics: [{ ...e.metric, dataPoints } as MetricData] }]);

  const entries: Entry[] = [];
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      const entry: Entry = { scope, metric, header: '' };
      entry.header = alone(entry, []);
      if (entry.header !== '') entries.push(entry); // '' where the serializer skips the metric
    }
  }
  // The same metric in two scopes: one TYPE line when the serializer groups metrics by name.
  const probe = (e: Entry, name: string): ScopeMetrics => ({ scope: { name }, metrics: [{ ...e.metric, dataPoints: [] } as MetricData] });
  const first = entries[0];
  const byName = first !== undefined && serialize([probe(first, 'a'), probe(first, 'b')]).match(/^# TYPE /gm)?.length === 1;
  const families = new Map<unknown, Entry[]>();
  for (const [i, e] of entries.entries()) {
    let key: unknown = i; // 0.2xx: each metric of each scope on its own
    if (byName) {
      key = /^# HELP (\S+)/.exec(e.header)?.[1];
      if (key === undefined || key === 'target_info') return inOneGo();
    }
    const family = families.get(key);
    if (family === undefined) families.set(key, [e]);
    else family.push(e);
  }

  const parts = [targetAndNoMetrics.slice(0, targetAndNoMetrics.length - noMetrics.length)];
  let any = false;
  let sliceStart = performance.now();
  const pause = async (): Promise<void> => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await nextTurn();
    sliceStart = performance.now();
  };
  for (const family of families.values()) {
    const pieces: string[] = [];
    if (family.length > 1) {
      const header = serialize(family.map((e) => ({ scope: e.scope, metrics: [{ ...e.metric, dataPoints: [] } as MetricData] })));
      if (header === '') continue; // the serializer drops the family (its metrics disagree on the type)
      pieces.push(header);
    }
    for (const e of family) {
      const points = e.metric.dataPoints as readonly unknown[];
      if (family.length === 1 && points.length <= POINTS_PER_SLICE) {
        pieces.push(alone(e, points));
        continue;
      }
      for (let i = 0; i < points.length; i += POINTS_PER_SLICE) {
        const slice = alone(e, points.slice(i, i + POINTS_PER_SLICE));
        if (!slice.startsWith(e.header)) return inOneGo();
        pieces.push(i === 0 && family.length === 1 ? slice : slice.slice(e.header.length));
        await pause();
      }
    }
    for (const piece of pieces) {
      if (piece === '') continue;
      parts.push(piece);
      any = true;
    }
    await pause();
  }
  if (!any) parts.push(noMetrics);
  return parts.join('');
}
