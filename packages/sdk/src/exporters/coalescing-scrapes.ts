import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { diag } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricData, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** The Prometheus text exposition format the serializer writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** A collection that has not finished after this fails its scrapes with 500. */
export const COLLECTION_TIMEOUT_MS = 10_000;

/**
 * Serves scrapes single-flight: all scrapes waiting when a collection starts get its result, so
 * that N scrapers cost one collection and one serialization, not N.
 *
 * Why: collecting and serializing is synchronous CPU work (about 0.5 ms per recorded peer and
 * per scrape, nearly all of it in the OpenTelemetry serializer). The exporter's own handler runs
 * it once per request, within the I/O callback that parsed the request, so every request that
 * arrived in one event-loop turn was served in that turn: 50 scrapers of a 32-peer node (a
 * 0.8 MB scrape) held the loop for seconds. Here a scrape only queues its response; the
 * collection runs from setImmediate, and is serialized in slices (serializeInSlices) with the
 * event loop running in between.
 *
 * Behaves as the exporter's handler does otherwise (its serializer with its default options,
 * collection errors logged to diag), except that a failed collection answers 500 instead of a 200
 * with a comment, so that Prometheus marks the target down rather than storing an empty scrape.
 */
export class CoalescingScrapes {
  private waiting: ServerResponse[] = [];
  private running = false;

  constructor(private readonly reader: MetricReader) {}

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
      let body: Buffer;
      try {
        const { resourceMetrics, errors } = await withTimeout(this.reader.collect({ timeoutMillis: COLLECTION_TIMEOUT_MS }), COLLECTION_TIMEOUT_MS);
        if (errors.length > 0) diag.error('@p2p-otel/sdk: metrics collection errors', ...errors);
        body = Buffer.from(await serializeInSlices(resourceMetrics), 'utf8'); // encoded once for all
      } catch (e) {
        diag.error('@p2p-otel/sdk: metrics collection failed', e);
        status = 500;
        body = Buffer.from(`# failed to collect metrics: ${e instanceof Error ? e.message : String(e)}\n`, 'utf8');
      }
      for (const res of live) {
        if (res.destroyed || res.headersSent) continue;
        try {
          res.writeHead(status, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': body.length });
          res.end(body);
        } catch (e) {
          diag.error('@p2p-otel/sdk: cannot send a scrape response', e);
          res.destroy();
        }
      }
    }
    if (this.waiting.length > 0) setImmediate(() => void this.run());
    else this.running = false;
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
 * few milliseconds at a time, however many series a scrape has. The serializer writes target_info,
 * then each metric as its HELP/UNIT/TYPE header followed by one block per data point, so the
 * slices concatenate to the same text once the repeated headers are dropped. A test holds it to
 * that; should a slice not start with the header the serializer wrote for the metric alone, that
 * metric is serialized in one go instead.
 */
export async function serializeInSlices(resourceMetrics: ResourceMetrics): Promise<string> {
  const { resource } = resourceMetrics;
  const withTarget = new PrometheusSerializer();
  const metricsOnly = new PrometheusSerializer(undefined, false, undefined, true);
  const noMetrics = metricsOnly.serialize({ resource, scopeMetrics: [] }); // the serializer's "no registered metrics" line
  const targetAndNoMetrics = withTarget.serialize({ resource, scopeMetrics: [] });
  if (!targetAndNoMetrics.endsWith(noMetrics)) return withTarget.serialize(resourceMetrics); // unknown layout: in one go
  const parts = [targetAndNoMetrics.slice(0, targetAndNoMetrics.length - noMetrics.length)];
  let any = false;
  let sliceStart = performance.now();
  const pause = async (): Promise<void> => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await nextTurn();
    sliceStart = performance.now();
  };
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      const text = (dataPoints: readonly unknown[]): string => {
        const t = metricsOnly.serialize({ resource, scopeMetrics: [{ scope, metrics: [{ ...metric, dataPoints } as MetricData] }] });
        return t === noMetrics ? '' : t; // '' where the serializer skips the metric
      };
      const points = metric.dataPoints as readonly unknown[];
      let pieces: string[];
      if (points.length <= POINTS_PER_SLICE) {
        pieces = [text(points)];
      } else {
        const header = text([]);
        pieces = [];
        for (let i = 0; i < points.length && header !== ''; i += POINTS_PER_SLICE) {
          const slice = text(points.slice(i, i + POINTS_PER_SLICE));
          if (!slice.startsWith(header)) {
            pieces = [text(points)];
            break;
          }
          pieces.push(i === 0 ? slice : slice.slice(header.length));
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
  }
  if (!any) parts.push(noMetrics);
  return parts.join('');
}
