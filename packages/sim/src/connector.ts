import type { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { createPool, type Pool } from 'generic-pool';
import { netError, type Host } from './host.js';
import { setQuietInterval } from './virtual-time.js';

/** A connection shaped like Iroh's: `closed()` resolves with the close reason. */
export class SimConnection {
  isClosed = false;
  closeReason: string | undefined;
  private readonly whenClosed: Promise<string>;
  private resolveClosed!: (reason: string) => void;

  constructor(
    readonly peerId: string,
    readonly id: number,
  ) {
    this.whenClosed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  closed(): Promise<string> {
    return this.whenClosed;
  }

  close(reason = 'closed locally'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    this.resolveClosed(reason);
  }
}

export interface ConnectorSettings {
  /** opossum's timeout around a dial, ms. */
  connectTimeoutMs: number;
  /** opossum's resetTimeout: how long an open breaker stays open before half-opening, ms. */
  breakerResetMs: number;
  /** opossum's errorThresholdPercentage. */
  breakerErrorPercentage: number;
  /** opossum's volumeThreshold: failures needed in the rolling window before it may open. */
  breakerVolumeThreshold: number;
  /** generic-pool max per peer. */
  poolMax: number;
}

export const DEFAULT_CONNECTOR: ConnectorSettings = {
  connectTimeoutMs: 2_000,
  breakerResetMs: 10_000,
  breakerErrorPercentage: 50,
  breakerVolumeThreshold: 3,
  poolMax: 4,
};

/** opossum's defaults: a 10 s rolling window of ten 1 s buckets. */
const WINDOW_MS = 10_000;
const WINDOW_BUCKETS = 10;
/** The breaker events opossum counts in its window (its Status listens to exactly these). */
const COUNTED_EVENTS = ['success', 'failure', 'fallback', 'timeout', 'fire', 'reject', 'cacheHit', 'cacheMiss', 'coalesceCacheHit', 'coalesceCacheMiss', 'open', 'close', 'semaphoreLocked'] as const;

/**
 * Rotates one breaker's rolling window: given to opossum as its `rotateBucketController` (the
 * option meant for applications with many breakers), it is what opossum's Status subscribes its
 * rotate function to. It rotates on the same schedule as opossum's own per-breaker `setInterval`
 * (one interval, created right after the breaker, where opossum creates its own: the same firing
 * times and the same order among timers due at the same ms), with two savings that leave the
 * window's contents unchanged at every moment:
 *
 * - a window with nothing counted in its last WINDOW_BUCKETS buckets is all empty buckets, and
 *   rotating it gives an equal window (opossum drops an empty bucket and allocates a new one), so
 *   it is not rotated: nearly every breaker of a large run is idle, and its per-second bucket was
 *   a steady stream of objects living ten seconds;
 * - the interval is a quiet one (`setQuietInterval`): rotating settles no promise, so it fires
 *   without an event-loop turn of its own.
 */
class WindowRotation {
  private rotate: (() => void) | undefined;
  /** Rotations since the window last counted something: at WINDOW_BUCKETS every bucket is empty. */
  private sinceEvent = WINDOW_BUCKETS;
  private timer: ReturnType<typeof setInterval> | undefined;
  private watching = false;
  private readonly tick = (): void => {
    if (this.sinceEvent >= WINDOW_BUCKETS) return;
    this.sinceEvent++;
    this.rotate?.();
  };
  private readonly counted = (): void => {
    this.sinceEvent = 0;
  };

  /** Starts rotating the window of a breaker just created with this controller. */
  watch(breaker: CircuitBreaker<[string], SimConnection>): void {
    for (const event of COUNTED_EVENTS) (breaker as unknown as EventEmitter).on(event, this.counted);
    this.watching = true;
    this.timer = setQuietInterval(this.tick, WINDOW_MS / WINDOW_BUCKETS);
  }

  // The part of EventEmitter that opossum's Status uses on a rotateBucketController.
  on(_event: string, rotate: () => void): this {
    this.rotate = rotate;
    // Subscribed again (breaker.enable() after disable()): rotating again from now.
    if (this.watching && this.timer === undefined) this.timer = setQuietInterval(this.tick, WINDOW_MS / WINDOW_BUCKETS);
    return this;
  }

  /** Status unsubscribes when its breaker shuts down (or is disabled): the interval stops. */
  removeListener(_event: string, rotate: () => void): this {
    if (this.rotate !== rotate) return this;
    this.rotate = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return this;
  }

  listenerCount(_event: string, rotate?: () => void): number {
    return this.rotate !== undefined && (rotate === undefined || rotate === this.rotate) ? 1 : 0;
  }
}

/**
 * A node's peer connector, written as an application would (like the instrumentation's reference
 * connector): a per-peer opossum breaker around each dial, a per-peer generic-pool pool of
 * connections. A dial is a handshake over the simulated network: one round trip (a lost flight is
 * resent after 1 s); refused by a peer that is down; never answered across a partition (opossum's
 * timeout ends it with ETIMEDOUT).
 */
export class SimConnector {
  readonly breakers = new Map<string, CircuitBreaker<[string], SimConnection>>();
  readonly pools = new Map<string, Pool<SimConnection>>();
  private connections = 0;

  constructor(
    private readonly host: Host,
    private readonly settings: ConnectorSettings,
    private readonly onBreaker: (peerId: string, state: 'open' | 'halfOpen' | 'close') => void,
  ) {}

  connectToPeer(peerId: string): Promise<SimConnection> {
    return this.breakerFor(peerId).fire(peerId);
  }

  /** Gives a connection back to its pool broken: the pool destroys it (an `error` eviction). */
  async discard(connection: SimConnection, reason: string): Promise<void> {
    connection.close(reason);
    const pool = this.pools.get(connection.peerId);
    if (pool?.isBorrowedResource(connection)) await pool.destroy(connection);
  }

  /** Stops the breakers' timers (a crash or the end of the run). */
  shutdown(): void {
    for (const breaker of this.breakers.values()) breaker.shutdown();
  }

  private breakerFor(peerId: string): CircuitBreaker<[string], SimConnection> {
    let breaker = this.breakers.get(peerId);
    if (breaker === undefined) {
      const s = this.settings;
      const rotation = new WindowRotation();
      breaker = new CircuitBreaker((peer: string) => this.dial(peer), {
        name: peerId,
        timeout: s.connectTimeoutMs,
        resetTimeout: s.breakerResetMs,
        errorThresholdPercentage: s.breakerErrorPercentage,
        volumeThreshold: s.breakerVolumeThreshold,
        // Only the per-second 'snapshot' events (nobody listens) and latency percentiles: the
        // breaker's decisions are the same without them, and a simulated hour is 30 % faster.
        enableSnapshots: false,
        rollingPercentilesEnabled: false,
        rollingCountTimeout: WINDOW_MS,
        rollingCountBuckets: WINDOW_BUCKETS,
        rotateBucketController: rotation as unknown as EventEmitter,
      });
      rotation.watch(breaker);
      breaker.on('open', () => this.onBreaker(peerId, 'open'));
      breaker.on('halfOpen', () => this.onBreaker(peerId, 'halfOpen'));
      breaker.on('close', () => this.onBreaker(peerId, 'close'));
      this.breakers.set(peerId, breaker);
    }
    return breaker;
  }

  private async dial(peerId: string): Promise<SimConnection> {
    const { host } = this;
    for (let flight = 0; flight < 2; flight++) {
      // Handshake: out and back. Lost flights are resent after a 1 s probe timeout.
      for (;;) {
        if (!host.net.reachable(host.id, peerId)) {
          // Nobody answers: hang past opossum's timeout, then give up quietly.
          await host.sleep(this.settings.connectTimeoutMs + 1_000);
          throw netError('ETIMEDOUT', `connect to ${peerId}: timed out`);
        }
        if (!host.net.lost(host.id, peerId)) break;
        await host.sleep(1_000);
      }
      await host.sleep(host.net.delay(host.id, peerId));
      if (flight === 0 && host.transportOf(peerId) === undefined) {
        throw netError('ECONNREFUSED', `connect ECONNREFUSED (peer ${peerId})`);
      }
    }
    return this.poolFor(peerId).acquire();
  }

  private poolFor(peerId: string): Pool<SimConnection> {
    let pool = this.pools.get(peerId);
    if (pool === undefined) {
      pool = createPool(
        {
          create: async () => new SimConnection(peerId, ++this.connections),
          destroy: async (connection) => connection.close('evicted'),
        },
        { max: this.settings.poolMax },
      );
      this.pools.set(peerId, pool);
    }
    return pool;
  }
}
