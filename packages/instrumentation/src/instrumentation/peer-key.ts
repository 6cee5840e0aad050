import { Buffer } from 'node:buffer';

/**
 * What an extracted peer id becomes before it reaches the monitor. Connectors key peers by
 * strings, by id objects (an Iroh PublicKey prints itself with toString()) or by raw key bytes
 * (lower-case hex); the monitor takes strings. Anything else is passed through as is: the monitor folds it into `other` and counts
 * it as invalid_peer_id, which is the truth (the extractor returned something unusable), whereas
 * an extractor that throws is our failure and is counted as internal_error by the caller.
 */
export function toPeerKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'object':
      // Raw key bytes (a 32-byte public key in a Buffer or Uint8Array): hex, as ids are printed.
      // Checked first: Buffer's own toString() would decode the bytes as UTF-8 into a garbled label.
      // Never cached by identity: an application may reuse one buffer for different peers.
      if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
      if (value !== null && hasOwnToString(value)) return String(value);
      return value as unknown as string;
    default:
      return value as unknown as string;
  }
}

/** A toString other than Object.prototype's, which would give every object "[object Object]". */
function hasOwnToString(value: object): boolean {
  const toString = (value as { toString?: unknown }).toString;
  return typeof toString === 'function' && toString !== Object.prototype.toString && toString !== Array.prototype.toString;
}
