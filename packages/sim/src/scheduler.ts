/**
 * Virtual time: the event queue behind `withVirtualTime`.
 *
 * Timers fire in the order @sinonjs/fake-timers fires them: by due time, then immediates before
 * timeouts, then by insertion sequence (an interval is re-armed, with a new sequence number, just
 * before its callback runs). Delays are normalised as fake-timers normalises them: truncated to
 * whole ms, and 0 taken as 1 ms while a tick is running (Node's minimum delay). A run written
 * against fake-timers therefore gives the same results here, event for event; what differs is the
 * cost per event:
 *
 * - the queue is a timing wheel, one slot per virtual ms over the next 4,096 ms (a slot holds its
 *   timers in insertion order, so a slot is already in firing order), with a bitmap of non-empty
 *   slots to skip idle stretches and a binary heap for timers due further ahead. Inserting and
 *   taking the next timer cost O(1), where a heap costs O(log timers) (fake-timers 15 uses one;
 *   a 1,000-node run holds tens of thousands of timers);
 * - between two timers the promise jobs and `process.nextTick` callbacks the first one caused must
 *   run to completion (fake-timers waits one real `setImmediate` per timer). Each timer fires in
 *   its own real `setImmediate` callback, queued in batches: Node settles every promise job and
 *   tick between two immediates of one batch, so a batch behaves exactly like one event-loop turn
 *   per timer, without paying for the turn (its poll phase and system call) each time.
 */

/** Node's largest timer delay; a longer one is taken as 1 ms (as Node and fake-timers do). */
const MAX_TIMEOUT = 2 ** 31 - 1;
/** Real immediates queued at a time (see above). */
const BATCH = 256;
/**
 * The wheel covers this many ms ahead of the current slot: every periodic timer of the simulated
 * application but the slowest (health rounds, discovery), small enough to stay in cache.
 */
const WHEEL_SLOTS = 1 << 12;
const WHEEL_MASK = WHEEL_SLOTS - 1;

type Callback = (...args: unknown[]) => unknown;

const NOWHERE = 0;
const IN_WHEEL = 1;
const IN_HEAP = 2;

/**
 * A pending callback in virtual time: what the virtual `setTimeout`, `setInterval` and
 * `setImmediate` return. Shaped like Node's `Timeout` / `Immediate` (ref, unref, hasRef, refresh,
 * close, and a numeric id through `Symbol.toPrimitive`, which `clearTimeout(id)` accepts).
 */
export class VirtualTimer {
  /** Virtual ms since the Unix epoch at which it fires. */
  callAt = 0;
  /** Insertion sequence: the tie-break between timers due at the same time. */
  seq = 0;
  /** NOWHERE, IN_WHEEL or IN_HEAP. */
  where = NOWHERE;
  /** Position in the overflow heap while IN_HEAP. */
  heapIndex = -1;
  /** Neighbours in its wheel slot's list while IN_WHEEL. */
  next: VirtualTimer | undefined = undefined;
  prev: VirtualTimer | undefined = undefined;
  id = 0;
  /** The one extra argument of a timer given exactly one (`args` is then undefined): no array for it. */
  arg: unknown = undefined;
  hasArg = false;
  /** A timer of `Scheduler.post`: reused once fired (nothing outside the scheduler holds it). */
  pooled = false;
  /** Fired without a real immediate of its own: its callback settles no promise and queues no tick (see Scheduler.setInterval). */
  quiet = false;
  private refed = true;

  constructor(
    private readonly scheduler: Scheduler,
    /** Replaced only on a reused timer of `Scheduler.post`. */
    public fn: Callback,
    readonly args: unknown[] | undefined,
    /** As normalised; undefined for an immediate. */
    public delay: number | undefined,
    /** Repeat period of an interval, undefined otherwise. */
    readonly interval: number | undefined,
  ) {}

  get immediate(): boolean {
    return this.delay === undefined;
  }

  ref(): this {
    this.refed = true;
    return this;
  }

  unref(): this {
    this.refed = false;
    return this;
  }

  hasRef(): boolean {
    return this.refed;
  }

  /** Starts the delay again from now (re-arming a timer that already fired, as Node does). */
  refresh(): this {
    this.scheduler.refresh(this);
    return this;
  }

  close(): this {
    this.scheduler.clear(this);
    return this;
  }

  [Symbol.toPrimitive](): number {
    return this.scheduler.idOf(this);
  }
}

/** The virtual clock handed to `withVirtualTime`'s body. Time moves only through `tickAsync`. */
export interface VirtualClock {
  /** Virtual ms since the Unix epoch (what `Date.now()` returns). */
  readonly now: number;
  /**
   * Advances virtual time by `ms`, firing every timer due on the way in order; after each timer,
   * the promise jobs and `process.nextTick` callbacks it caused run to completion before the next
   * one fires. Resolves with the new `now`; rejects with the first error a timer callback threw
   * (once the tick completed, as fake-timers does).
   */
  tickAsync(ms: number): Promise<number>;
  /** Timers pending (timeouts, intervals and immediates). */
  countTimers(): number;
  /** Timers fired so far: the events of the run. */
  readonly fired: number;
}

interface TickRun {
  readonly tickTo: number;
  /** One step of this run: what each of its real immediates calls (no argument to keep per immediate). */
  step: () => void;
  readonly resolve: (now: number) => void;
  readonly reject: (e: unknown) => void;
  /** Real immediates queued for this run and not yet executed. */
  queued: number;
  done: boolean;
  failed: boolean;
  error: unknown;
}

export class Scheduler implements VirtualClock {
  now: number;
  fired = 0;
  private duringTick = false;
  /** Set by the running timer's callback (`markQuiet`): it queued no promise job and no tick. */
  private quietFiring = false;
  private seq = 0;
  /**
   * The wheel: the slot of time t is (t - origin) & WHEEL_MASK, for t in [cursor, cursor + WHEEL_SLOTS).
   * A slot is two linked lists of timers in insertion order (its immediates fire first): heads
   * and tails per slot.
   */
  private readonly immediateHeads = new Array<VirtualTimer | undefined>(WHEEL_SLOTS).fill(undefined);
  private readonly immediateTails = new Array<VirtualTimer | undefined>(WHEEL_SLOTS).fill(undefined);
  private readonly timeoutHeads = new Array<VirtualTimer | undefined>(WHEEL_SLOTS).fill(undefined);
  private readonly timeoutTails = new Array<VirtualTimer | undefined>(WHEEL_SLOTS).fill(undefined);
  /** One bit per slot with pending timers. */
  private readonly occupied = new Uint32Array(WHEEL_SLOTS / 32);
  private inWheel = 0;
  /** The earliest time the wheel may hold: every wheel timer is due in [cursor, cursor + WHEEL_SLOTS); cursor <= now. */
  private cursor: number;
  /** Timers due at cursor + WHEEL_SLOTS or later, by (time, sequence). */
  private readonly heap: VirtualTimer[] = [];
  /** Timers whose numeric id was asked for (`+timer`, `Number(timer)`): `clearTimeout(id)` finds them. */
  private readonly byId = new Map<number, VirtualTimer>();
  /** Fired timers of `post`, for reuse. */
  private readonly spare: VirtualTimer[] = [];
  private nextId = 1;
  private run: TickRun | undefined;

  constructor(
    /** Virtual start, ms since the Unix epoch (whole ms: every due time is a whole number of ms after it). */
    private readonly origin: number,
    /** Told every time `now` moves (keeps the virtual Date and performance in step). */
    private readonly onNow: (now: number) => void,
    /** The real setImmediate. */
    private readonly realSetImmediate: (fn: () => void) => unknown,
  ) {
    if (!Number.isInteger(origin)) throw new RangeError(`virtual time must start at a whole ms (got ${origin})`);
    this.now = origin;
    this.cursor = origin;
  }

  // ---- the global functions -------------------------------------------------------------------

  setTimeout(fn: Callback, delay: unknown, args: unknown[] | undefined): VirtualTimer {
    checkCallback(fn);
    const timer = new VirtualTimer(this, fn, args, normaliseDelay(delay), undefined);
    this.schedule(timer);
    return timer;
  }

  /**
   * `quiet`: the callback neither settles a promise nor queues a `nextTick` (nor throws), so it needs
   * no event-loop turn of its own: it fires in the real immediate of the next timer, just before
   * it (in its place in the order: only the real immediates are saved).
   */
  /** setTimeout(fn, delay, arg): one extra argument, kept without an array. */
  setTimeout1(fn: Callback, delay: unknown, arg: unknown): VirtualTimer {
    checkCallback(fn);
    const timer = new VirtualTimer(this, fn, undefined, normaliseDelay(delay), undefined);
    timer.arg = arg;
    timer.hasArg = true;
    this.schedule(timer);
    return timer;
  }

  /**
   * setTimeout(fn, delay, arg) for a caller that never sees the timer (nothing is returned, it
   * cannot be cleared): once fired, the timer object is reused by the next `post`. For the
   * simulator's per-message timers, which would otherwise be most of a large run's garbage.
   */
  post<T>(fn: (arg: T) => void, delay: number, arg: T): void {
    let timer = this.spare.pop();
    if (timer === undefined) {
      timer = new VirtualTimer(this, fn as Callback, undefined, normaliseDelay(delay), undefined);
      timer.pooled = true;
      timer.hasArg = true;
    } else {
      timer.fn = fn as Callback;
      timer.delay = normaliseDelay(delay);
    }
    timer.arg = arg;
    this.schedule(timer);
  }

  setInterval(fn: Callback, delay: unknown, args: unknown[] | undefined, quiet = false): VirtualTimer {
    checkCallback(fn);
    const period = parseInt(String(delay), 10);
    // fake-timers repeats a non-finite or too long period every 1 ms. A period of 0 (or less)
    // would fire forever at the same instant there; here it repeats every 1 ms, as in Node.
    const interval = !Number.isFinite(period) || period > MAX_TIMEOUT || period < 1 ? 1 : period;
    const timer = new VirtualTimer(this, fn, args, normaliseDelay(period), interval);
    timer.quiet = quiet;
    this.schedule(timer);
    return timer;
  }

  setImmediate(fn: Callback, args: unknown[] | undefined): VirtualTimer {
    checkCallback(fn);
    const timer = new VirtualTimer(this, fn, args, undefined, undefined);
    this.schedule(timer);
    return timer;
  }

  /** clearTimeout / clearInterval / clearImmediate: a timer, or the numeric id of one. */
  clear(handle: unknown): boolean {
    const timer = handle instanceof VirtualTimer ? handle : typeof handle === 'number' || typeof handle === 'string' ? this.byId.get(Number(handle)) : undefined;
    if (timer === undefined) return false;
    if (timer.id !== 0) this.byId.delete(timer.id);
    this.unschedule(timer);
    return true;
  }

  idOf(timer: VirtualTimer): number {
    if (timer.id === 0) timer.id = this.nextId++;
    if (timer.where !== NOWHERE) this.byId.set(timer.id, timer);
    return timer.id;
  }

  /**
   * Called by a timer's callback: this time it queued no promise job and no `nextTick` (and will
   * queue none), so the next timer may fire in the same real immediate, as after a quiet timer.
   * Has no effect once the callback returned.
   */
  markQuiet(): void {
    this.quietFiring = true;
  }

  refresh(timer: VirtualTimer): void {
    this.unschedule(timer);
    this.schedule(timer);
    if (timer.id !== 0) this.byId.set(timer.id, timer);
  }

  // ---- VirtualClock ---------------------------------------------------------------------------

  countTimers(): number {
    return this.inWheel + this.heap.length;
  }

  tickAsync(ms: number): Promise<number> {
    if (!(ms >= 0)) return Promise.reject(new TypeError(`tickAsync(${ms}): the time must be a number >= 0`));
    if (this.run !== undefined) return Promise.reject(new Error('tickAsync: a tick is already running'));
    return new Promise<number>((resolve, reject) => {
      const run: TickRun = { tickTo: this.now + Math.floor(ms), step: () => this.step(run), resolve, reject, queued: 0, done: false, failed: false, error: undefined };
      this.run = run;
      this.duringTick = true;
      this.queueBatch(run);
    });
  }

  /** Drops every pending timer (the end of a run). */
  dispose(): void {
    for (const heads of [this.immediateHeads, this.timeoutHeads]) {
      for (let i = 0; i < WHEEL_SLOTS; i++) {
        for (let t = heads[i]; t !== undefined; t = t.next) t.where = NOWHERE;
      }
    }
    for (const list of [this.immediateHeads, this.immediateTails, this.timeoutHeads, this.timeoutTails]) list.fill(undefined);
    for (const t of this.heap) t.where = NOWHERE;
    this.heap.length = 0;
    this.occupied.fill(0);
    this.inWheel = 0;
    this.byId.clear();
    this.spare.length = 0;
    const run = this.run;
    if (run !== undefined) {
      run.done = true;
      this.run = undefined;
      this.duringTick = false;
    }
  }

  // ---- firing ---------------------------------------------------------------------------------

  private queueBatch(run: TickRun): void {
    run.queued += BATCH;
    const { step } = run;
    for (let i = 0; i < BATCH; i++) this.realSetImmediate(step);
  }

  /**
   * One real immediate: fires the next due timer (after the quiet ones due before it), or ends the
   * tick when none is due by its end.
   */
  private step(run: TickRun): void {
    run.queued--;
    if (run.done) return;
    let timer: VirtualTimer | undefined;
    do {
      timer = this.takeNext(run.tickTo);
      if (timer === undefined) {
        this.finish(run);
        return;
      }
      this.fire(timer, run);
    } while (timer.quiet || this.quietFiring);
    if (run.queued === 0) this.queueBatch(run);
  }

  private fire(timer: VirtualTimer, run: TickRun): void {
    const at = timer.callAt;
    if (timer.interval !== undefined) {
      // Re-armed before its callback runs: what the callback schedules comes after it.
      timer.callAt = at + timer.interval;
      this.insert(timer);
    } else if (timer.id !== 0) {
      this.byId.delete(timer.id);
    }
    if (at !== this.now) {
      this.now = at;
      this.onNow(at);
    }
    this.fired++;
    this.quietFiring = false;
    try {
      const args = timer.args;
      if (timer.hasArg) timer.fn(timer.arg);
      else if (args === undefined || args.length === 0) timer.fn();
      else timer.fn(...args);
    } catch (e) {
      if (!run.failed) {
        run.failed = true;
        run.error = e;
      }
    }
    if (timer.pooled) {
      timer.fn = noop;
      timer.arg = undefined;
      this.spare.push(timer);
    }
  }

  private finish(run: TickRun): void {
    run.done = true;
    this.run = undefined;
    this.duringTick = false;
    if (this.now !== run.tickTo) {
      this.now = run.tickTo;
      this.onNow(run.tickTo);
    }
    // Nothing left in the wheel: re-centre it on now (every pending timer is due after now).
    if (this.inWheel === 0 && this.cursor !== this.now) this.advance(this.now);
    if (run.failed) run.reject(run.error);
    else run.resolve(this.now);
  }

  // ---- the queue --------------------------------------------------------------------------------

  private schedule(timer: VirtualTimer): void {
    const delay = timer.delay;
    // fake-timers: now + parseInt(String(delay)), or 1 ms when that is 0 during a tick (0 outside).
    // Math.trunc(d) equals parseInt(String(d)) for d >= 1e-6 (below it String() uses an exponent).
    const whole = delay === undefined ? 0 : delay >= 1e-6 ? Math.trunc(delay) : parseInt(String(delay), 10) || 0;
    timer.callAt = this.now + (whole !== 0 ? whole : this.duringTick ? 1 : 0);
    this.insert(timer);
  }

  /** Queues a timer at its callAt (>= now) with the next sequence number. */
  private insert(timer: VirtualTimer): void {
    timer.seq = this.seq++;
    if (timer.callAt - this.cursor < WHEEL_SLOTS) this.toWheel(timer);
    else this.heapPush(timer);
  }

  private toWheel(timer: VirtualTimer): void {
    const index = (timer.callAt - this.origin) & WHEEL_MASK;
    const immediate = timer.delay === undefined;
    const tails = immediate ? this.immediateTails : this.timeoutTails;
    const tail = tails[index];
    timer.prev = tail;
    timer.next = undefined;
    if (tail === undefined) (immediate ? this.immediateHeads : this.timeoutHeads)[index] = timer;
    else tail.next = timer;
    tails[index] = timer;
    timer.where = IN_WHEEL;
    this.occupied[index >>> 5] = (this.occupied[index >>> 5] as number) | (1 << (index & 31));
    this.inWheel++;
  }

  private unschedule(timer: VirtualTimer): void {
    if (timer.where === IN_HEAP) this.heapRemove(timer);
    else if (timer.where === IN_WHEEL) this.unlink(timer, (timer.callAt - this.origin) & WHEEL_MASK);
  }

  /** Takes a timer out of its wheel slot's list. */
  private unlink(timer: VirtualTimer, index: number): void {
    const immediate = timer.delay === undefined;
    const { prev, next } = timer;
    if (prev === undefined) (immediate ? this.immediateHeads : this.timeoutHeads)[index] = next;
    else prev.next = next;
    if (next === undefined) (immediate ? this.immediateTails : this.timeoutTails)[index] = prev;
    else next.prev = prev;
    timer.prev = timer.next = undefined;
    timer.where = NOWHERE;
    this.inWheel--;
    if (this.immediateHeads[index] === undefined && this.timeoutHeads[index] === undefined) {
      this.occupied[index >>> 5] = (this.occupied[index >>> 5] as number) & ~(1 << (index & 31));
    }
  }

  /** Removes and returns the next timer if it is due at or before `until`. */
  private takeNext(until: number): VirtualTimer | undefined {
    let time: number;
    const here = (this.cursor - this.origin) & WHEEL_MASK;
    if (this.immediateHeads[here] !== undefined || this.timeoutHeads[here] !== undefined) time = this.cursor;
    else if (this.inWheel > 0) time = this.cursor + this.distanceToOccupied();
    else if (this.heap.length > 0) time = (this.heap[0] as VirtualTimer).callAt;
    else return undefined;
    if (time > until) return undefined;
    if (time !== this.cursor) this.advance(time);
    const index = (time - this.origin) & WHEEL_MASK;
    const timer = (this.immediateHeads[index] ?? this.timeoutHeads[index]) as VirtualTimer;
    this.unlink(timer, index);
    return timer;
  }

  /** Ms from the cursor to the first occupied slot (the wheel is not empty). */
  private distanceToOccupied(): number {
    const words = this.occupied;
    const start = (this.cursor - this.origin) & WHEEL_MASK;
    let w = start >>> 5;
    // The first word: only bits at or after the start.
    let bits = (words[w] as number) & (~0 << (start & 31));
    for (let n = 0; bits === 0; n++) {
      w = (w + 1) & (words.length - 1);
      bits = words[w] as number;
      if (n > words.length) throw new Error('virtual time: the wheel lost its timers');
    }
    const index = (w << 5) | (31 - Math.clz32(bits & -bits));
    return (index - start) & WHEEL_MASK;
  }

  /** Moves the cursor to `time` and brings the heap's timers now within the wheel's reach into it. */
  private advance(time: number): void {
    this.cursor = time;
    const horizon = time + WHEEL_SLOTS;
    const heap = this.heap;
    // In (time, sequence) order: each lands behind nothing (no timer of those slots could be put
    // in the wheel directly while they were out of reach), so the slots stay in firing order.
    while (heap.length > 0 && (heap[0] as VirtualTimer).callAt < horizon) this.toWheel(this.heapPop());
  }

  // ---- the overflow heap ------------------------------------------------------------------------

  private heapPush(timer: VirtualTimer): void {
    timer.where = IN_HEAP;
    timer.heapIndex = this.heap.length;
    this.heap.push(timer);
    this.siftUp(timer.heapIndex);
  }

  private heapPop(): VirtualTimer {
    const heap = this.heap;
    const top = heap[0] as VirtualTimer;
    const last = heap.pop() as VirtualTimer;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.siftDown(0);
    }
    top.where = NOWHERE;
    top.heapIndex = -1;
    return top;
  }

  private heapRemove(timer: VirtualTimer): void {
    const heap = this.heap;
    const i = timer.heapIndex;
    const last = heap.pop() as VirtualTimer;
    timer.where = NOWHERE;
    timer.heapIndex = -1;
    if (last === timer) return;
    heap[i] = last;
    last.heapIndex = i;
    if (i > 0 && before(last, heap[(i - 1) >> 1] as VirtualTimer)) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const timer = heap[i] as VirtualTimer;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as VirtualTimer;
      if (!before(timer, parent)) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    heap[i] = timer;
    timer.heapIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const timer = heap[i] as VirtualTimer;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = heap[l] as VirtualTimer;
      if (r < n && before(heap[r] as VirtualTimer, child)) {
        c = r;
        child = heap[r] as VirtualTimer;
      }
      if (!before(child, timer)) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = timer;
    timer.heapIndex = i;
  }
}

function noop(): void {}

/** Heap order (immediates never go to the heap: they are due within 1 ms). */
function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.callAt < b.callAt || (a.callAt === b.callAt && a.seq < b.seq);
}

/** setTimeout's delay as fake-timers normalises it: a number in [0, 2^31 - 1], 1 beyond. */
function normaliseDelay(delay: unknown): number {
  if (typeof delay === 'number' && delay >= 0 && delay <= MAX_TIMEOUT) return delay;
  let d = typeof delay === 'number' ? delay : parseInt(delay as string, 10);
  if (!Number.isFinite(d)) d = 0;
  if (d > MAX_TIMEOUT) d = 1;
  return d < 0 ? 0 : d;
}

function checkCallback(fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError(`[ERR_INVALID_CALLBACK]: Callback must be a function. Received ${String(fn)}`);
}
