import type { HealthCheckTimers } from '../../../src/health/index.js';

interface Handle {
  readonly id: number;
  unrefd: boolean;
  unref(): void;
}

interface Pending {
  readonly at: number;
  readonly fn: () => void;
  readonly handle: Handle;
}

/** Lets every promise chain triggered so far run (setImmediate runs after all microtasks). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A deterministic clock and timers: time moves only in advance(), timers fire in (time, creation)
 * order, and each firing's promise chains settle before the next one fires.
 */
export class VirtualTimers implements HealthCheckTimers {
  private time = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Every handle ever returned, to check that the checker unref'd them. */
  readonly handles: Handle[] = [];

  now = (): number => this.time;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const handle: Handle = {
      id: ++this.seq,
      unrefd: false,
      unref() {
        this.unrefd = true;
      },
    };
    this.handles.push(handle);
    this.pending.set(handle.id, { at: this.time + Math.max(0, ms), fn, handle });
    return handle;
  };

  clearTimeout = (handle: unknown): void => {
    if (handle !== undefined) this.pending.delete((handle as Handle).id);
  };

  /** Timers set and neither fired nor cleared. */
  get active(): number {
    return this.pending.size;
  }

  /** Resolves after `ms` of virtual time, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const handle = this.setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        this.clearTimeout(handle);
        reject(signal.reason);
      });
    });
  }

  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values()) {
        if (p.at <= target && (next === undefined || p.at < next.at || (p.at === next.at && p.handle.id < next.handle.id))) next = p;
      }
      if (next === undefined) break;
      this.pending.delete(next.handle.id);
      this.time = next.at;
      next.fn();
      await settle();
    }
    this.time = target;
    await settle();
  }
}
