/**
 * The cluster's wire protocol: one request and one reply per QUIC bidirectional stream, each a
 * length-prefixed frame.
 *
 *   request: u32 length (big-endian) | u8 message type | payload
 *   reply:   u32 length (big-endian) | u8 status (0 ok, 1 error) | payload (UTF-8 error text on error)
 *
 * `@number0/iroh` reads and writes `number[]`, not Buffers; the conversions live here.
 */
import type { RecvStream, SendStream } from '@number0/iroh';

/** The ALPN every node speaks; also the `version` label of `p2p_iroh_protocol_version`. */
export const ALPN = 'p2p-otel/cluster/1';
export const ALPN_BYTES: number[] = Array.from(Buffer.from(ALPN));

/** Message types: the closed `message_type` label set (anything else would be `other`). */
export const MESSAGE_TYPES = ['raft', 'gossip', 'sync', 'ping'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Resource types the manager synchronises: the closed `resource_type` label set. */
export const RESOURCE_TYPES = ['blob', 'snapshot'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export interface Message {
  type: MessageType;
  payload: Uint8Array;
}

/** Largest frame accepted (a blob chunk is 64 KiB, a snapshot burst message 512 KiB). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const STATUS_OK = 0;
const STATUS_ERROR = 1;

/** The reply of a request the peer's handler failed on (not a connection problem). */
export class RemoteError extends Error {
  readonly code = 'EREMOTE';
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

function frame(tag: number, payload: Uint8Array): number[] {
  const out = new Array<number>(5 + payload.byteLength);
  const length = 1 + payload.byteLength;
  out[0] = (length >>> 24) & 0xff;
  out[1] = (length >>> 16) & 0xff;
  out[2] = (length >>> 8) & 0xff;
  out[3] = length & 0xff;
  out[4] = tag;
  for (let i = 0; i < payload.byteLength; i++) out[5 + i] = payload[i] as number;
  return out;
}

async function readFrame(recv: RecvStream): Promise<{ tag: number; payload: Uint8Array }> {
  const header = await recv.readExact(4);
  const length = (((header[0] ?? 0) << 24) | ((header[1] ?? 0) << 16) | ((header[2] ?? 0) << 8) | (header[3] ?? 0)) >>> 0;
  if (length < 1 || length > MAX_FRAME_BYTES) throw Object.assign(new Error(`bad frame length ${length}`), { code: 'EPROTO' });
  const body = await recv.readExact(length);
  return { tag: body[0] ?? 0, payload: Uint8Array.from(body.slice(1)) };
}

export async function writeRequest(send: SendStream, message: Message): Promise<void> {
  const tag = MESSAGE_TYPES.indexOf(message.type);
  if (tag < 0) throw new TypeError(`unknown message type ${String(message.type)}`);
  await send.writeAll(frame(tag, message.payload));
  await send.finish();
}

export async function readRequest(recv: RecvStream): Promise<Message> {
  const { tag, payload } = await readFrame(recv);
  const type = MESSAGE_TYPES[tag];
  if (type === undefined) throw Object.assign(new Error(`unknown message type tag ${tag}`), { code: 'EPROTO' });
  return { type, payload };
}

export async function writeReply(send: SendStream, reply: Uint8Array | Error): Promise<void> {
  const body = reply instanceof Error ? Buffer.from(reply.message) : reply;
  await send.writeAll(frame(reply instanceof Error ? STATUS_ERROR : STATUS_OK, body));
  await send.finish();
}

/** The reply payload; rejects with RemoteError when the peer's handler failed. */
export async function readReply(recv: RecvStream): Promise<Uint8Array> {
  const { tag, payload } = await readFrame(recv);
  if (tag === STATUS_OK) return payload;
  throw new RemoteError(Buffer.from(payload).toString('utf8'));
}

export const encodeJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
export const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes).toString('utf8')) as T;

/**
 * Iroh's errors carry the whole Rust error chain and a backtrace in their message; the last
 * "Caused by" line is the part worth logging ("aborted by peer: the server refused ...").
 */
export function shortError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const lines = error.message.split('\n').map((l) => l.trim());
  const backtrace = lines.findIndex((l) => l.startsWith('Stack backtrace'));
  const chain = (backtrace < 0 ? lines : lines.slice(0, backtrace)).filter((l) => l !== '' && l !== 'Caused by:');
  const last = chain[chain.length - 1] ?? error.message;
  return last.replace(/\s*\(\/[^)]*\)\s*$/, '');
}

export function errorWithCode(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

/** Rejects with `onTimeout()` when `promise` has not settled after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
