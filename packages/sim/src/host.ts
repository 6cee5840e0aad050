import type { Network } from './network.js';
import type { Random } from './random.js';
import type { SimTransport } from './transport.js';

/** An error with a Node-style `code`, as real sockets fail. */
export function netError(code: 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'ENOBUFS', message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** What a node's simulated components need from the world around them. */
export interface Host {
  readonly id: string;
  readonly net: Network;
  readonly random: Random;
  /** The virtual clock: ms since the epoch. */
  now(): number;
  /** Resolves after `ms` virtual ms; never, once this process has crashed. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms` virtual ms; never, once this process has crashed. */
  after(ms: number, fn: () => void): void;
  /** Whether this process has crashed (everything it started stops). */
  readonly dead: boolean;
  /** The live transport of a node, or undefined when that node is down. */
  transportOf(id: string): SimTransport | undefined;
  /** Per-message processing time of a node's receiver, ms (a slow consumer's is high). */
  processingMsOf(id: string): number;
}

/** Retransmissions of a lost message flight before the send fails with ETIMEDOUT. */
export const RETRANSMISSIONS = 3;

/**
 * The first retransmission timeout of a message flight from `host` to `to`: max(200, 3 × latency)
 * ms, doubling with each loss. A flight is one packet: it lands after the one-way delay, or is
 * lost and resent after the timeout, RETRANSMISSIONS times, then fails with ETIMEDOUT; a peer
 * that is down when it lands answers ECONNRESET. Nothing happens once `host` has crashed.
 * (SimTransport runs this for every message, with module functions as timer callbacks.)
 */
export function retransmitBaseMs(host: Host, to: string): number {
  return Math.max(200, 3 * host.net.link(host.id, to).latencyMs);
}
