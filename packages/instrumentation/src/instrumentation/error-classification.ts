import type { P2pErrorType } from '../schema/label-values.js';

/**
 * Maps a failed connect's error onto the closed `error_type` set of p2p_connection_errors_total.
 *
 * Three passes over the error and everything it wraps (`cause` chains, AggregateError's `errors`):
 * `code`, then `name`, which are stable across versions, then message text, which is all a napi
 * error from @number0/iroh carries (its `code` is the napi status `GenericFailure`; its message is
 * the Rust error chain). The outermost classifiable error wins within a pass, so an application's
 * own code on a wrapper overrides what it wraps.
 */

const BY_CODE: ReadonlyMap<string, P2pErrorType> = new Map<string, P2pErrorType>([
  // timeout
  ['ETIMEDOUT', 'timeout'], // net, and opossum's "Timed out after N ms"
  ['ESOCKETTIMEDOUT', 'timeout'],
  ['ETIME', 'timeout'],
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ['ERR_SOCKET_CONNECTION_TIMEOUT', 'timeout'], // net autoSelectFamily gave up on every address
  ['ABORT_ERR', 'timeout'], // Node's AbortError: see NAME_TIMEOUT
  // refused
  ['ECONNREFUSED', 'refused'],
  // opossum fails fast while the breaker is open: no dial happened, the peer is refused locally.
  // Counted as refused (not other) so error rates stay high while the breaker holds, rather than
  // dropping to zero and resolving alerts; p2p_circuit_breaker_state tells the two apart.
  ['EOPENBREAKER', 'refused'],
  // reset
  ['ECONNRESET', 'reset'],
  ['EPIPE', 'reset'],
  ['ECONNABORTED', 'reset'],
  ['UND_ERR_SOCKET', 'reset'], // undici: "other side closed"
  ['ERR_STREAM_PREMATURE_CLOSE', 'reset'],
  // tls (besides the ERR_TLS_, ERR_SSL_ and CERT_ prefixes)
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'tls'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
  ['HOSTNAME_MISMATCH', 'tls'],
  // dns (getaddrinfo and c-ares codes; EREFUSED is a DNS server refusing the query)
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],
  ['EAI_FAIL', 'dns'],
  ['EAI_NONAME', 'dns'],
  ['EAI_NODATA', 'dns'],
  ['ESERVFAIL', 'dns'],
  ['EREFUSED', 'dns'],
  ['ENODATA', 'dns'],
]);

const CODE_PREFIXES: readonly (readonly [string, P2pErrorType])[] = [
  ['ERR_TLS_', 'tls'],
  ['ERR_SSL_', 'tls'],
  ['CERT_', 'tls'],
];

/**
 * `TimeoutError` is what AbortSignal.timeout() aborts with. `AbortError` is counted as a timeout
 * too: a connect is aborted almost always on a deadline. Names come after codes, so an AbortError
 * whose `cause` (Node keeps the signal's reason there) has a code is classified by that code.
 */
const BY_NAME: ReadonlyMap<string, P2pErrorType> = new Map<string, P2pErrorType>([
  ['TimeoutError', 'timeout'],
  ['AbortError', 'timeout'],
]);

/**
 * Message patterns, tried in this order. Phrases are those of Node, quinn/noq (`timed out`,
 * `reset by peer`, `aborted by peer`, `closed by peer`, `the cryptographic handshake failed`,
 * `the server refused to accept a new connection`), iroh (`No addressing information available`,
 * `Failure finalizing the handshake`, `Connection was rejected locally`, `connection lost`),
 * rustls (`peer doesn't support any known protocol`, `No common ALPN protocols`) and tokio
 * (`deadline has elapsed`). Timeout goes first: "handshake timed out" is a timeout, not TLS; TLS
 * goes before reset: "aborted by peer: the cryptographic handshake failed" is a TLS failure.
 */
const BY_MESSAGE: readonly (readonly [RegExp, P2pErrorType])[] = [
  [/timed? ?out\b|\btimeout\b|deadline has elapsed/i, 'timeout'],
  [/\btls\b|\bssl\b|certificate|\bcert\b|cryptographic|\bcrypto\b|handshake fail|finaliz\w* the handshake|\balpn\b|known protocol/i, 'tls'],
  [/no addressing information|\bdns\b|resolv|getaddrinfo|name not known|address lookup|lookup failed/i, 'dns'],
  [/refused|connection (?:was )?rejected/i, 'refused'],
  [/\breset\b|connection lost|aborted by peer|closed by peer|broken pipe|socket hang up|other side closed|premature close/i, 'reset'],
];

/** Errors looked at per classification: bounds the walk over hostile or cyclic cause chains. */
const MAX_NODES = 16;

/** The `error_type` of a failed connect; `other` when nothing identifies it. */
export function classifyError(error: unknown): P2pErrorType {
  const chain = unwrap(error);
  for (const node of chain) {
    const type = byCode(read(node, 'code'));
    if (type !== undefined) return type;
  }
  for (const node of chain) {
    const name = read(node, 'name');
    const type = typeof name === 'string' ? BY_NAME.get(name) : undefined;
    if (type !== undefined) return type;
  }
  for (const node of chain) {
    const message = typeof node === 'string' ? node : read(node, 'message');
    if (typeof message !== 'string') continue;
    for (const [pattern, type] of BY_MESSAGE) if (pattern.test(message)) return type;
  }
  return 'other';
}

/** True when the connect failed for lack of time: the attempt's result is `timeout`, not `failed`. */
export function isTimeout(error: unknown): boolean {
  return classifyError(error) === 'timeout';
}

function byCode(code: unknown): P2pErrorType | undefined {
  if (typeof code !== 'string') return undefined;
  const exact = BY_CODE.get(code);
  if (exact !== undefined) return exact;
  for (const [prefix, type] of CODE_PREFIXES) if (code.startsWith(prefix)) return type;
  return undefined;
}

/** The error, then what it wraps, breadth-first, each object once. */
function unwrap(error: unknown): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < MAX_NODES) {
    const node = queue.shift();
    if (node === undefined || node === null || seen.has(node)) continue;
    seen.add(node);
    out.push(node);
    if (typeof node !== 'object') continue;
    queue.push(read(node, 'cause'));
    const errors = read(node, 'errors'); // AggregateError, e.g. from Promise.any over several addresses
    if (Array.isArray(errors)) queue.push(...errors.slice(0, MAX_NODES));
  }
  return out;
}

/** A property of something thrown, which may be a proxy or have a throwing getter. */
function read(node: unknown, key: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  try {
    return (node as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
