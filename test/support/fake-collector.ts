import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeOtlpExport, type OtlpExport, type OtlpRequest } from './otlp-receiver';

/**
 * A controllable OTLP/HTTP metrics collector for fault tests: it can be down (not listening, so
 * connections are refused), slow, answer with an error status (with Retry-After), answer garbage,
 * or reset the connection, and it records every request that reaches it with its arrival time.
 * Bodies are decoded with the official schema by otlp-receiver.ts's decoder (and below, for point
 * timestamps, which that decoder leaves out).
 */
export type CollectorMode =
  | { readonly kind: 'ok' }
  /** Not listening: the exporter's connections are refused (ECONNREFUSED). */
  | { readonly kind: 'down' }
  /** Reads the request, answers 200 only after `delayMs` (longer than the exporter's timeout). */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Answers `status` (500, 503, 429, ...) with an optional Retry-After header. */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string }
  /** Answers 200 with a body that is no ExportMetricsServiceResponse. */
  | { readonly kind: 'garbage-body' }
  /** Answers bytes that are not HTTP at all, then closes. */
  | { readonly kind: 'garbage-http' }
  /** Reads the request, then destroys the connection without answering (ECONNRESET). */
  | { readonly kind: 'reset' };

export interface ReceivedRequest extends OtlpRequest {
  /** performance.now() in this process when the request's body had arrived. */
  readonly at: number;
  /** The mode the collector was in: what it answered. */
  readonly mode: CollectorMode['kind'];
}

export interface FakeCollector {
  /** POST /v1/metrics on a port that stays the same while the collector is down. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  readonly mode: CollectorMode;
  setMode(mode: CollectorMode): Promise<void>;
  /** Resolves with the first request, from index `from` on, that satisfies `test`. */
  waitFor(test: (r: ReceivedRequest) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

export async function startFakeCollector(initial: CollectorMode = { kind: 'ok' }): Promise<FakeCollector> {
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let mode: CollectorMode = initial;

  const answer = (req: IncomingMessage, res: ServerResponse, m: CollectorMode): void => {
    const json = String(req.headers['content-type']).includes('json');
    const ok = (): void => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined); // an empty ExportMetricsServiceResponse
    };
    switch (m.kind) {
      case 'ok':
      case 'down': // a request already in flight when the collector went down
        ok();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          ok();
        }, m.delayMs);
        timers.add(timer);
        return;
      }
      case 'status':
        res.writeHead(m.status, m.retryAfter === undefined ? {} : { 'retry-after': m.retryAfter });
        res.end(`collector says ${m.status}`);
        return;
      case 'garbage-body':
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37, 0x7b, 0x7b, 0x7b]));
        return;
      case 'garbage-http':
        req.socket.end('SSH-2.0-definitely-not-http\r\n\r\n\u0000\u00ff');
        return;
      case 'reset':
        req.socket.destroy();
        return;
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = mode;
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: performance.now(), mode: m.kind });
      waiters.forEach((w) => w());
      answer(req, res, m);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  let listening = false;
  let port = 0;
  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    listening = true;
  };
  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy(); // keep-alive sockets would keep the port answering
    await closed;
  };

  await listen();
  if (initial.kind === 'down') await stop();

  return {
    url: `http://127.0.0.1:${port}/v1/metrics`,
    requests,
    get mode() {
      return mode;
    },
    async setMode(next) {
      mode = next;
      if (next.kind === 'down') await stop();
      else if (!listening) await listen(); // the same port: the exporter's URL does not change
    },
    waitFor: (test, { from = 0, timeoutMs = 10_000 } = {}) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = requests.slice(from).find(test);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake collector: no matching request after ${timeoutMs} ms (${requests.length - from} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await stop();
    },
  };
}

// The generated protobufjs code of OTLP 0.52, as otlp-receiver.ts loads it (see there).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require('@opentelemetry/otlp-transformer-052/build/src/generated/root') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: object): unknown } } } } } };
};
const ExportMetricsServiceRequest = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** A sum or gauge point of one metric, with its timestamp. */
export interface TimedPoint {
  readonly value: number;
  /** timeUnixNano as a number of milliseconds. */
  readonly timeMs: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The points of `metricName` in one request, with timestamps (decodeOtlpExport leaves them out). */
export function timedPoints(request: OtlpRequest, metricName: string): TimedPoint[] {
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const message: any = String(request.headers['content-type']).startsWith('application/json')
    ? JSON.parse(body.toString('utf8'))
    : ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(body), { longs: String, enums: Number, bytes: String });
  const out: TimedPoint[] = [];
  for (const rm of message.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (m.name !== metricName) continue;
        for (const p of (m.sum ?? m.gauge)?.dataPoints ?? []) {
          const attributes: Record<string, unknown> = {};
          for (const { key, value } of p.attributes ?? []) attributes[key] = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
          out.push({ value: Number(p.asDouble ?? p.asInt ?? 0), timeMs: Number(BigInt(p.timeUnixNano) / 1_000_000n), attributes });
        }
      }
    }
  }
  return out;
}

/** Decodes a request (protobuf or JSON) with otlp-receiver.ts's decoder. */
export function decode(request: OtlpRequest): OtlpExport {
  return decodeOtlpExport(request);
}
