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

/**
 * One packet (or one flight of a reliable transmission) from `host` to `to`: `done()` after the
 * one-way delay; lost packets are retransmitted after an exponentially backed-off timeout
 * (max(200, 3 × latency) ms, doubling), `retries` times, then `done(ETIMEDOUT)`. A peer that is
 * down answers with `done(ECONNRESET)` after the one-way delay. Nothing is called once `host` has
 * crashed. (Callbacks rather than a promise: this runs for every message of a run.)
 */
export function transmit(host: Host, to: string, done: (error?: Error) => void, retries = 3): void {
  const base = Math.max(200, 3 * host.net.link(host.id, to).latencyMs);
  let attempt = 0;
  const arrived = (): void => {
    if (host.transportOf(to) === undefined) done(netError('ECONNRESET', `${to}: connection reset by peer`));
    else done();
  };
  const fly = (): void => {
    if (attempt > retries) {
      done(netError('ETIMEDOUT', `${to}: timed out after ${retries + 1} transmissions`));
      return;
    }
    if (host.net.lost(host.id, to)) {
      host.after(base * 2 ** attempt++, fly);
      return;
    }
    host.after(host.net.delay(host.id, to), arrived);
  };
  fly();
}
