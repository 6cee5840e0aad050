import CircuitBreaker from 'opossum';
import { classifyError, isTimeout } from '../../src/instrumentation/error-classification.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const named = (name: string, message = name) => Object.assign(new Error(message), { name });
/** What a napi error from @number0/iroh looks like: status code, the Rust error chain as text. */
const napi = (message: string) => Object.assign(new Error(message), { code: 'GenericFailure' });

describe('classifyError', () => {
  it.each([
    // Node error codes
    ['ETIMEDOUT', withCode('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:4433'), 'timeout'],
    ['ESOCKETTIMEDOUT', withCode('ESOCKETTIMEDOUT'), 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', withCode('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'), 'timeout'],
    ['ERR_SOCKET_CONNECTION_TIMEOUT', withCode('ERR_SOCKET_CONNECTION_TIMEOUT'), 'timeout'],
    ['ECONNREFUSED', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'refused'],
    ['ECONNRESET', withCode('ECONNRESET', 'read ECONNRESET'), 'reset'],
    ['EPIPE', withCode('EPIPE', 'write EPIPE'), 'reset'],
    ['ECONNABORTED', withCode('ECONNABORTED'), 'reset'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    ['CERT_HAS_EXPIRED', withCode('CERT_HAS_EXPIRED', 'certificate has expired'), 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', withCode('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    ['ENOTFOUND', withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND peer.example'), 'dns'],
    ['EAI_AGAIN', withCode('EAI_AGAIN'), 'dns'],
    ['EAI_FAIL', withCode('EAI_FAIL'), 'dns'],
    // names
    ['TimeoutError (AbortSignal.timeout)', named('TimeoutError', 'The operation was aborted due to timeout'), 'timeout'],
    ['AbortError', named('AbortError', 'This operation was aborted'), 'timeout'],
    // opossum
    ['opossum open breaker (EOPENBREAKER)', withCode('EOPENBREAKER', 'Breaker is open'), 'refused'],
    ['opossum timeout', withCode('ETIMEDOUT', 'Timed out after 50ms'), 'timeout'],
    ['opossum semaphore locked', withCode('ESEMLOCKED', 'Semaphore locked'), 'other'],
    // iroh / quinn / rustls messages, as napi errors carry them
    ['quinn timed out', napi('timed out'), 'timeout'],
    ['tokio deadline', napi('deadline has elapsed'), 'timeout'],
    ['quinn reset', napi('reset by peer'), 'reset'],
    ['connection lost', napi('Failed to read from stream: connection lost'), 'reset'],
    ['closed by peer', napi('closed by peer: 0'), 'reset'],
    ['aborted by peer (crypto)', napi("aborted by peer: the cryptographic handshake failed: error 120: peer doesn't support any known protocol"), 'tls'],
    ['no common ALPN', napi('the cryptographic handshake failed: error 40: No common ALPN protocols'), 'tls'],
    ['iroh handshake failure', napi('Failure finalizing the handshake'), 'tls'],
    ['QUIC CONNECTION_REFUSED', napi('aborted by peer: the server refused to accept a new connection'), 'refused'],
    ['iroh locally rejected', napi('Connection was rejected locally'), 'refused'],
    ['iroh no address', napi('No addressing information available'), 'dns'],
    ['dns resolve', napi('failed to resolve peer.example: no record found'), 'dns'],
    ['anyhow chain', napi('Unable to connect to remote\n\nCaused by:\n    0: timed out'), 'timeout'],
    // anything else
    ['plain error', new Error('boom'), 'other'],
    ['self connect', napi('Connecting to ourself is not supported'), 'other'],
    ['a string', 'connection refused', 'refused'],
    ['undefined', undefined, 'other'],
    ['null', null, 'other'],
    ['a number', 42, 'other'],
  ])('%s', (_case, error, type) => {
    expect(classifyError(error)).toBe(type);
  });

  it('walks cause chains: an unclassifiable wrapper takes the type of what it wraps', () => {
    const inner = withCode('ECONNREFUSED');
    const outer = new Error('dial failed', { cause: new Error('attempt 3 failed', { cause: inner }) });
    expect(classifyError(outer)).toBe('refused');
  });

  it('codes win over names and messages, at any depth; the outermost code wins', () => {
    const abort = Object.assign(named('AbortError'), { cause: withCode('ECONNRESET') });
    expect(classifyError(abort)).toBe('reset');
    expect(classifyError(new Error('timed out', { cause: withCode('ECONNREFUSED') }))).toBe('refused');
    expect(classifyError(Object.assign(withCode('ENOTFOUND'), { cause: withCode('ECONNRESET') }))).toBe('dns');
  });

  it('looks into AggregateError (Promise.any over several addresses)', () => {
    const all = new AggregateError([new Error('nope'), withCode('ETIMEDOUT')], 'All promises were rejected');
    expect(classifyError(all)).toBe('timeout');
  });

  it('survives cycles, throwing getters and proxies', () => {
    const a: { cause?: unknown; message: string } = { message: 'x' };
    const b = { cause: a, message: 'y' };
    a.cause = b;
    expect(classifyError(a)).toBe('other');
    const hostile = Object.defineProperty(new Error('m'), 'code', {
      get() {
        throw new Error('getter');
      },
    });
    expect(classifyError(hostile)).toBe('other');
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(classifyError(proxy)).toBe('other');
  });

  it("classifies opossum's own errors as it builds them", async () => {
    const breaker = new CircuitBreaker(() => new Promise<never>(() => undefined), { timeout: 5, resetTimeout: 10_000 });
    const timedOut = await breaker.fire().catch((e: unknown) => e);
    const rejected = await breaker.fire().catch((e: unknown) => e);
    breaker.shutdown();
    expect(classifyError(timedOut)).toBe('timeout');
    expect(classifyError(rejected)).toBe('refused');
  });
});

describe('isTimeout', () => {
  it.each([
    [withCode('ETIMEDOUT'), true],
    [named('TimeoutError'), true],
    [napi('timed out'), true],
    [withCode('ECONNREFUSED'), false],
    [new Error('boom'), false],
  ])('%#', (error, expected) => {
    expect(isTimeout(error)).toBe(expected);
  });
});
