import type { InstrumentationContext } from './context.js';
import { MAX_AMOUNT } from '../monitor/normalizer.js';
import { toPeerKey } from './peer-key.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Node's EventEmitter listeners take any[]
type Listener = (...args: any[]) => void;

/**
 * The adapter contract for a transport's send queue: an EventEmitter-like object (Node's
 * EventEmitter qualifies) that emits, for every message it holds:
 * - `enqueue(peerId, bytes)` when a message enters the queue,
 * - `dequeue(peerId, bytes, delayMs?)` when it leaves for the wire, `delayMs` the time it waited,
 * - `overflow(peerId)` when a message is refused or dropped because the queue is full.
 * Peer ids go through toPeerKey, as on the send path.
 */
export interface SendQueueLike {
  on?(event: string, listener: Listener): unknown;
  addListener?(event: string, listener: Listener): unknown;
  off?(event: string, listener: Listener): unknown;
  removeListener?(event: string, listener: Listener): unknown;
}

export const QUEUE_EVENTS = ['enqueue', 'dequeue', 'overflow'] as const;

/** Add and remove functions of an emitter, or undefined when it is not one. */
export function emitterMethods(value: unknown): { add: Function; remove: Function } | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const e = value as SendQueueLike;
  const add = typeof e.on === 'function' ? e.on : e.addListener;
  const remove = typeof e.off === 'function' ? e.off : e.removeListener;
  return typeof add === 'function' && typeof remove === 'function' ? { add, remove } : undefined;
}

/** Depth records kept before drained ones are swept. */
const SWEEP_MIN = 1_024;

/** What the monitor accepts as an amount (see InputNormalizer.amount). */
const isAmount = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_AMOUNT;

/**
 * Feeds the buffer metrics from a queue's events. Our listeners are appended (the app's keep
 * their order), never throw into the queue's emit, and are removed by the returned function.
 * What is still queued at removal is taken out of the buffered gauges then: once we stop
 * listening we would never see those messages leave, and a frozen depth would keep a
 * buffer-high alert firing. A peer's depth record stays when it drains to zero (a queue that
 * empties after every message would otherwise allocate a record and churn the map per message);
 * drained records are swept when the map doubles past what the last sweep kept (at least
 * SWEEP_MIN), so the map is bounded by about twice the peers with something queued.
 */
export function subscribeQueue(queue: unknown, ctx: InstrumentationContext): (() => void) | undefined {
  const methods = emitterMethods(queue);
  if (methods === undefined) return undefined;
  const depth = new Map<unknown, { messages: number; bytes: number }>();
  let sweepAt = SWEEP_MIN;
  const sweep = (): void => {
    for (const [peerId, d] of depth) if (d.messages <= 0) depth.delete(peerId);
    sweepAt = Math.max(SWEEP_MIN, 2 * depth.size);
  };
  // Listeners the queue refuses to remove (its off() throws) stay on it: inert once unsubscribed.
  let live = true;
  // Fixed arity (the events carry at most three arguments): no argument array per event.
  const guard =
    (fn: (a: unknown, b: unknown, c: unknown) => void) =>
    (a?: unknown, b?: unknown, c?: unknown): void => {
      if (!live) return;
      try {
        fn(a, b, c);
      } catch (e) {
        ctx.onHookError(e);
      }
    };
  const listeners: Record<(typeof QUEUE_EVENTS)[number], Listener> = {
    enqueue: guard((id: unknown, bytes: unknown) => {
      const peerId = toPeerKey(id);
      ctx.monitor.recordBufferEnqueue(peerId, bytes as number);
      if (!isAmount(bytes)) return; // the monitor dropped it: so do we
      const d = depth.get(peerId);
      if (d === undefined) {
        if (depth.size >= sweepAt) sweep();
        depth.set(peerId, { messages: 1, bytes });
      } else {
        d.messages++;
        d.bytes += bytes;
      }
    }),
    dequeue: guard((id: unknown, bytes: unknown, delayMs?: unknown) => {
      const peerId = toPeerKey(id);
      ctx.monitor.recordBufferDequeue(peerId, bytes as number, delayMs as number | undefined);
      const d = depth.get(peerId);
      if (d === undefined || d.messages <= 0 || !isAmount(bytes)) return;
      d.messages--;
      d.bytes = d.messages === 0 ? 0 : Math.max(0, d.bytes - bytes);
    }),
    overflow: guard((id: unknown) => ctx.monitor.recordBufferOverflow(toPeerKey(id))),
  };
  const added: (typeof QUEUE_EVENTS)[number][] = [];
  const removeListeners = (): void => {
    live = false;
    for (const event of added.splice(0)) {
      try {
        methods.remove.call(queue, event, listeners[event]);
      } catch (e) {
        ctx.onHookError(e);
      }
    }
  };
  try {
    for (const event of QUEUE_EVENTS) {
      methods.add.call(queue, event, listeners[event]);
      added.push(event);
    }
  } catch (e) {
    removeListeners(); // an on() that threw part-way: take back the listeners it accepted before
    throw e;
  }
  return () => {
    removeListeners();
    for (const [peerId, d] of depth) {
      for (let i = 0; i < d.messages; i++) ctx.monitor.recordBufferDequeue(peerId as string, i === 0 ? d.bytes : 0);
    }
    depth.clear();
  };
}
