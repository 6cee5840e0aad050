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
  /** Whether this process has crashed (everything it started stops). */
  readonly dead: boolean;
  /** The live transport of a node, or undefined when that node is down. */
  transportOf(id: string): SimTransport | undefined;
  /** Per-message processing time of a node's receiver, ms (a slow consumer's is high). */
  processingMsOf(id: string): number;
}

/**
 * One packet (or one flight of a reliable transmission) from `host` to `to`: resolves after the
 * one-way delay; lost packets are retransmitted after an exponentially backed-off timeout
 * (max(200, 3 × latency) ms, doubling), `retries` times, then the transmission fails with
 * ETIMEDOUT. A peer that is down answers with ECONNRESET after the one-way delay.
 */
export async function transmit(host: Host, to: string, retries = 3): Promise<void> {
  const base = Math.max(200, 3 * host.net.link(host.id, to).latencyMs);
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (host.net.lost(host.id, to)) {
      await host.sleep(base * 2 ** attempt);
      continue;
    }
    await host.sleep(host.net.delay(host.id, to));
    if (host.transportOf(to) === undefined) throw netError('ECONNRESET', `${to}: connection reset by peer`);
    return;
  }
  throw netError('ETIMEDOUT', `${to}: timed out after ${retries + 1} transmissions`);
}
