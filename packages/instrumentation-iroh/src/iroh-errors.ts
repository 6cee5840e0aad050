import { classifyError, type P2pErrorType } from '@p2p-otel/instrumentation';

/**
 * Errors from @number0/iroh are napi errors: `code` is the napi status (`GenericFailure`), the
 * message is the Rust error chain, with each link's source location in parentheses and, when
 * RUST_BACKTRACE or RUST_LIB_BACKTRACE is set, a full backtrace after "Stack backtrace:". Frame
 * and file names (tokio's `time/timeout.rs`, a resolver crate) must not decide the class, so they
 * are cut before classifyError reads the message.
 */
const BACKTRACE = /\n\s*Stack backtrace:[\s\S]*$/;
const LOCATION = /\s*\((?:\/|[A-Za-z]:\\)[^()\n]*:\d+:\d+\)/g;

/** The message of an Iroh error without source locations and backtrace. */
export function irohErrorMessage(message: string): string {
  return message.replace(BACKTRACE, '').replace(LOCATION, '').trim();
}

/**
 * classifyError over an Iroh error, its message cleaned first. Measured with 1.1.0:
 * `incoming.refuse()` → "aborted by peer: the server refused to accept a new connection" (refused);
 * an unanswered dial, a wrong node id or an ALPN the peer does not serve → "timed out" after 30 s
 * (timeout); an id with no address and no lookup → "No addressing information available" (dns);
 * "Endpoint is closed", and "closed" for a dial cut by closing its endpoint → other.
 */
export function classifyIrohError(error: unknown): P2pErrorType {
  if (typeof error !== 'object' || error === null) return classifyError(error);
  let message: unknown;
  try {
    message = (error as { message?: unknown }).message;
  } catch {
    return classifyError(error);
  }
  if (typeof message !== 'string') return classifyError(error);
  const cleaned = irohErrorMessage(message);
  if (cleaned === message) return classifyError(error);
  const read = (key: string): unknown => {
    try {
      return (error as Record<string, unknown>)[key];
    } catch {
      return undefined;
    }
  };
  return classifyError({ code: read('code'), name: read('name'), message: cleaned, cause: read('cause'), errors: read('errors') });
}

/**
 * The error type of an abnormal close, or undefined for a normal one. `reason` is what
 * `Connection.closed()` resolves with (and `closeReason()` returns), quinn's ConnectionError
 * display: "closed" (closed by this side, its endpoint included) and "closed by peer: <reason>
 * (code N)" (the application on the other side closed it) are normal; "timed out" (idle timeout),
 * "reset by peer", "aborted by peer: <transport error>", "peer doesn't implement any supported
 * version", "CIDs exhausted" are not. `undefined` (the application dropped the connection and it
 * was garbage-collected) is normal too.
 */
export function abnormalCloseType(reason: string | undefined): P2pErrorType | undefined {
  if (reason === undefined || reason === 'closed' || reason.startsWith('closed by peer')) return undefined;
  // Closing this side's endpoint races its driver: a connection then sometimes ends with this
  // internal error instead of "closed" (seen on loopback under load). The application closed it.
  if (reason.endsWith(ENDPOINT_DRIVER_DROPPED)) return undefined;
  return classifyError(irohErrorMessage(reason));
}

const ENDPOINT_DRIVER_DROPPED = 'endpoint driver future was dropped';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const PRINTABLE = /^[\x20-\x7e]+$/;

/** An ALPN (a byte array) as a label value: its text when printable ASCII, else `0x` + hex. */
export function alpnLabel(alpn: ArrayLike<number> | null | undefined): string {
  if (alpn === null || alpn === undefined || alpn.length === 0) return '';
  const bytes = Uint8Array.from(alpn as ArrayLike<number>);
  try {
    const text = UTF8.decode(bytes);
    if (PRINTABLE.test(text)) return text;
  } catch {
    // not UTF-8: hex below
  }
  return '0x' + Buffer.from(bytes).toString('hex');
}
