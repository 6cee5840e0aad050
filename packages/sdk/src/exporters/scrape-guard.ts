import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ResolvedRateLimit, ResolvedScrapeAuth } from '../config/scrape-security.js';

/**
 * Compares a presented secret with the expected one in time independent of where they differ and
 * of their lengths: both sides are hashed to 32 bytes first, then compared with timingSafeEqual
 * (which alone would throw on, and so reveal, a length difference).
 */
export function secretsEqual(presented: string | Buffer, expectedDigest: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(presented).digest(), expectedDigest);
}

export function secretDigest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

const REALM = 'realm="metrics"';

/** Checks `Authorization` against the configured bearer token or basic credentials. */
export class ScrapeAuthenticator {
  private readonly scheme: 'bearer' | 'basic';
  private readonly expected: Buffer;

  constructor(auth: ResolvedScrapeAuth) {
    this.scheme = auth.scheme;
    this.expected = secretDigest(auth.scheme === 'bearer' ? auth.token : `${auth.username}:${auth.password}`);
  }

  /** The `WWW-Authenticate` value of a 401; `presented` says whether credentials were sent. */
  challenge(presented: boolean): string {
    if (this.scheme === 'basic') return `Basic ${REALM}, charset="UTF-8"`;
    return presented ? `Bearer ${REALM}, error="invalid_token"` : `Bearer ${REALM}`;
  }

  verify(authorization: string | undefined): boolean {
    if (authorization === undefined) return false;
    const m = /^\s*([A-Za-z]+) +(\S+)\s*$/.exec(authorization);
    if (m === null || (m[1] as string).toLowerCase() !== this.scheme) return false;
    const credentials = m[2] as string;
    // Basic: compare the decoded user:password, so any valid base64 spelling of it is accepted.
    return secretsEqual(this.scheme === 'basic' ? Buffer.from(credentials, 'base64') : credentials, this.expected);
  }
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client key (the remote address): `burst` requests at once, refilled at
 * `requestsPerSecond`. At most `maxClients` buckets are kept, in a Map ordered by last use; the
 * least recently seen is dropped first. A dropped client starts again with a full bucket, which
 * only ever loosens the limit.
 */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: ResolvedRateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  take(client: string): RateDecision {
    const now = this.now();
    const { requestsPerSecond, burst } = this.limit;
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      if (this.buckets.size >= this.limit.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    } else {
      this.buckets.delete(client); // re-inserted below: most recently seen last
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) * requestsPerSecond) / 1000);
      bucket.at = now;
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / requestsPerSecond)) };
  }
}

export interface ScrapeGuardOptions {
  /** The scrape path; anything else is 404. */
  readonly endpoint: string;
  readonly auth: ScrapeAuthenticator | undefined;
  readonly rateLimiter: ClientRateLimiter | undefined;
  readonly maxConcurrentScrapes: number;
  /** Serves an admitted scrape; the slot is held until the response closes. */
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void;
}

const ALLOWED_METHODS = 'GET, HEAD';

/**
 * The request handler in front of the exporter, in this order: rate limit per client (429, every
 * request counts, so probing paths or guessing credentials is throttled too), path (404), method
 * (405), credentials (401), concurrent scrapes (503), then the scrape.
 */
export function createScrapeGuard(options: ScrapeGuardOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { endpoint, auth, rateLimiter, maxConcurrentScrapes, serve } = options;
  let active = 0;
  return (req, res) => {
    if (rateLimiter !== undefined) {
      const decision = rateLimiter.take(req.socket.remoteAddress ?? '');
      if (!decision.allowed) return reply(res, 429, 'Too Many Requests', { 'Retry-After': String(decision.retryAfterSeconds) });
    }
    if (pathOf(req.url) !== endpoint) return reply(res, 404, 'Not Found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'Method Not Allowed', { Allow: ALLOWED_METHODS });
    if (auth !== undefined && !auth.verify(req.headers.authorization)) {
      return reply(res, 401, 'Unauthorized', { 'WWW-Authenticate': auth.challenge(req.headers.authorization !== undefined) });
    }
    if (active >= maxConcurrentScrapes) return reply(res, 503, 'Too Many Concurrent Scrapes', { 'Retry-After': '1' });
    active++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        active--;
      }
    };
    res.once('finish', release); // the response is with the OS: a scraper reading it next finds the slot free
    res.once('close', release); // or the scraper went away first
    res.setHeader('Cache-Control', 'no-store');
    serve(req, res);
  };
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${text}\n`);
}
