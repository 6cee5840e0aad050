import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** Trusted CA (PEM) for https URLs. */
  readonly ca?: Buffer | string;
  /** Aborts the request once this signal fires. */
  readonly signal?: AbortSignal;
}

export interface RequestResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One real HTTP(S) request on a fresh connection (no pooled keep-alive socket outlives the test). */
export function request(url: string, options: RequestOptions = {}): Promise<RequestResult> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export function bearer(token: string): OutgoingHttpHeaders {
  return { Authorization: `Bearer ${token}` };
}

export function basic(username: string, password: string): OutgoingHttpHeaders {
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}
