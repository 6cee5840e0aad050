import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * Generated protobufjs code of OTLP 0.52 (the only release that ships it): decodes protobuf with
 * the official schema. Typed loosely here; the decoded messages are normalised below.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require('@opentelemetry/otlp-transformer-052/build/src/generated/root') as ProtoRoot;
interface ProtoType {
  decode(body: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
interface ProtoRoot {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: ProtoType } } } } };
}
const ExportMetricsServiceRequest = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

export interface OtlpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A plain HTTP server standing in for an OTLP/HTTP metrics receiver (127.0.0.1, runtime port). */
export interface OtlpReceiver {
  /** Full URL of POST /v1/metrics. */
  readonly url: string;
  readonly requests: OtlpRequest[];
  /** Resolves once `count` requests arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<OtlpRequest[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      waiters.forEach((w) => w());
      const json = String(req.headers['content-type']).includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined); // an empty ExportMetricsServiceResponse
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/metrics`,
    requests,
    waitForRequests: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(requests);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: ${requests.length} of ${count} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export type OtlpKind = 'sum' | 'gauge' | 'histogram';
export type OtlpTemporality = 'delta' | 'cumulative';
export type OtlpValue = string | number | boolean;

export interface OtlpPoint {
  readonly attributes: Readonly<Record<string, OtlpValue>>;
  /** Sum and gauge points. */
  readonly value?: number;
  /** Histogram points. */
  readonly count?: number;
  readonly bucketCounts?: readonly number[];
}

export interface OtlpMetric {
  readonly name: string;
  readonly unit: string;
  readonly scope: string;
  readonly kind: OtlpKind;
  /** Sums only. */
  readonly monotonic?: boolean;
  /** Sums and histograms. */
  readonly temporality?: OtlpTemporality;
  readonly points: readonly OtlpPoint[];
}

export interface OtlpExport {
  readonly resource: Readonly<Record<string, OtlpValue>>;
  readonly metrics: ReadonlyMap<string, OtlpMetric>;
}

/**
 * Decodes one request, OTLP/JSON or OTLP/protobuf by its content type, into one shape. Both
 * encodings use the proto field names in lowerCamelCase (protobufjs does too), so one walk serves.
 */
export function decodeOtlpExport(request: OtlpRequest): OtlpExport {
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
  const type = String(request.headers['content-type']);
  let message: Any;
  if (type.startsWith('application/json')) {
    message = JSON.parse(body.toString('utf8'));
  } else if (type.startsWith('application/x-protobuf')) {
    message = ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(body), { longs: Number, enums: Number, bytes: String });
  } else {
    throw new Error(`OTLP receiver: unexpected content-type ${type}`);
  }
  const resourceMetrics: Any[] = message.resourceMetrics ?? [];
  if (resourceMetrics.length !== 1) throw new Error(`expected one ResourceMetrics, got ${resourceMetrics.length}`);
  const rm = resourceMetrics[0];
  const metrics = new Map<string, OtlpMetric>();
  for (const sm of rm.scopeMetrics ?? []) {
    for (const m of sm.metrics ?? []) {
      if (metrics.has(m.name)) throw new Error(`metric ${m.name} exported twice`);
      metrics.set(m.name, toMetric(m, sm.scope?.name ?? ''));
    }
  }
  return { resource: attributes(rm.resource?.attributes), metrics };
}

// The decoded wire format, walked dynamically.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** AggregationTemporality of the proto: 1 delta, 2 cumulative. */
const TEMPORALITY: Record<number, OtlpTemporality> = { 1: 'delta', 2: 'cumulative' };

function toMetric(m: Any, scope: string): OtlpMetric {
  const base = { name: m.name as string, unit: (m.unit ?? '') as string, scope };
  if (m.sum) {
    return {
      ...base,
      kind: 'sum',
      monotonic: m.sum.isMonotonic === true,
      temporality: temporality(m.sum.aggregationTemporality),
      points: (m.sum.dataPoints ?? []).map(numberPoint),
    };
  }
  if (m.gauge) return { ...base, kind: 'gauge', points: (m.gauge.dataPoints ?? []).map(numberPoint) };
  if (m.histogram) {
    return {
      ...base,
      kind: 'histogram',
      temporality: temporality(m.histogram.aggregationTemporality),
      points: (m.histogram.dataPoints ?? []).map((p: Any) => ({
        attributes: attributes(p.attributes),
        count: Number(p.count),
        bucketCounts: (p.bucketCounts ?? []).map(Number),
      })),
    };
  }
  throw new Error(`metric ${m.name}: unexpected data kind ${Object.keys(m).join(',')}`);
}

function temporality(value: unknown): OtlpTemporality {
  const t = TEMPORALITY[Number(value)];
  if (t === undefined) throw new Error(`unexpected aggregationTemporality ${String(value)}`);
  return t;
}

function numberPoint(p: Any): OtlpPoint {
  return { attributes: attributes(p.attributes), value: Number(p.asDouble ?? p.asInt ?? 0) };
}

function attributes(list: Any[] | undefined): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.boolValue ?? (value.intValue === undefined ? value.doubleValue : Number(value.intValue));
  }
  return out;
}
