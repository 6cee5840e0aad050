/**
 * Fuzzing P2pInstrumentation's entry points (instrument, instrumentConnector, instrumentTransport,
 * instrumentManager, observeCircuitBreaker, uninstrument, disable, enable) with hostile objects and
 * hostile options, RUNS cases per property. The application's objects are generated: methods that
 * return, throw, resolve or reject hostile values, members that are not functions or are throwing
 * getters, frozen and sealed shapes, emitters (a manager, a send queue, circuit breakers) whose
 * on()/off() throw on their n-th call, breakers with throwing state getters, pools with throwing
 * or nonsensical sizes. Options: method names that do not exist, extractors that throw or are not
 * functions, out-of-range numbers. Properties:
 * - instrument* never throws for an object (a TypeError for anything else, as documented) and
 *   returns its argument;
 * - every call of the application's methods returns or throws exactly what the original does
 *   (the same value, the same error, the same promise);
 * - collection never fails, however the objects behave;
 * - uninstrument restores every own property exactly and leaves no listener of ours on any of the
 *   application's emitters; nothing records afterwards;
 * - every internal_error counted is logged to diag, and vice versa.
 * invisibility.test.ts compares whole transcripts against uninstrumented twins at a few hundred
 * runs; this suite trades that depth for breadth of hostile input.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import fc from 'fast-check';
import { P2pInstrumentation, RECORD_METHODS, type P2pObjectOptions } from '../../src/index.js';
import { isWrapped } from '../../src/instrumentation/method-wrapper.js';
import { hostileCorpus as hostile, RUNS } from './hostile.js';

// 10,000 cases per property: generous room on a loaded machine (Jest's default is 30 s per test).
jest.setTimeout(120_000);

// ---------------------------------------------------------------------------------------------
// diag: internal errors are logged as errors; counted here
// ---------------------------------------------------------------------------------------------

let diagErrors = 0;
beforeAll(() => {
  const ignore = (): void => undefined;
  diag.setLogger({ error: () => void diagErrors++, warn: ignore, info: ignore, debug: ignore, verbose: ignore }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
});
afterAll(() => diag.disable());

// ---------------------------------------------------------------------------------------------
// Generated application objects
// ---------------------------------------------------------------------------------------------

type Behaviour = { kind: 'return'; value: unknown } | { kind: 'throw'; error: unknown } | { kind: 'resolve'; value: unknown } | { kind: 'reject'; error: unknown };
type Slot = { kind: 'fn'; b: Behaviour } | { kind: 'value'; value: unknown } | { kind: 'getterThrows' } | { kind: 'absent' };

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.record({ kind: fc.constant('return' as const), value: hostile }),
  fc.record({ kind: fc.constant('throw' as const), error: hostile }),
  fc.record({ kind: fc.constant('resolve' as const), value: hostile }),
  fc.record({ kind: fc.constant('reject' as const), error: hostile }),
);
const slot: fc.Arbitrary<Slot> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('fn' as const), b: behaviour }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('value' as const), value: hostile }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'getterThrows' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'absent' as const }) },
);

/** What an emitter's on()/off() do: work, or throw from their n-th call on. */
interface EmitterSpec {
  readonly addThrowsFrom: number;
  readonly removeThrowsFrom: number;
  readonly removeName: 'removeListener' | 'off' | 'both';
}
const emitterSpec: fc.Arbitrary<EmitterSpec> = fc.record({
  addThrowsFrom: fc.oneof({ weight: 2, arbitrary: fc.constant(Infinity) }, { weight: 1, arbitrary: fc.nat({ max: 10 }) }),
  removeThrowsFrom: fc.oneof({ weight: 3, arbitrary: fc.constant(Infinity) }, { weight: 1, arbitrary: fc.nat({ max: 10 }) }),
  removeName: fc.constantFrom('removeListener' as const, 'off' as const, 'both' as const),
});

/** A state getter of a breaker: a boolean, a hostile value, or one that throws. */
const stateGetter = fc.oneof(fc.boolean(), hostile, fc.constant('throws' as const));

interface Spec {
  readonly shape: 'plain' | 'class' | 'frozen' | 'sealed';
  readonly slots: Readonly<Record<string, Slot>>;
  /** The object itself is an emitter (a manager): its on/off. */
  readonly emitter: EmitterSpec | undefined;
  readonly queue: EmitterSpec | undefined;
  readonly breakers: readonly { spec: EmitterSpec; key: unknown; opened: unknown; halfOpen: unknown; closed: unknown }[] | undefined;
  readonly pool: { acquire: Slot; release: Slot; destroy: Slot; isBorrowedResource: Slot; size: unknown; available: unknown } | undefined;
}

const METHOD_NAMES = ['connectToPeer', 'disconnectFromPeer', 'sendToPeer', 'onMessage', 'offMessage', 'subscribe', 'events', 'on'] as const;

const spec: fc.Arbitrary<Spec> = fc.record({
  shape: fc.constantFrom('plain' as const, 'class' as const, 'frozen' as const, 'sealed' as const),
  slots: fc.record(Object.fromEntries(METHOD_NAMES.filter((n) => n !== 'on').map((n) => [n, slot])) as Record<string, fc.Arbitrary<Slot>>),
  emitter: fc.option(emitterSpec, { nil: undefined }),
  queue: fc.option(emitterSpec, { nil: undefined }),
  breakers: fc.option(fc.array(fc.record({ spec: emitterSpec, key: hostile, opened: stateGetter, halfOpen: stateGetter, closed: stateGetter }), { maxLength: 3 }), { nil: undefined }),
  pool: fc.option(
    fc.record({
      acquire: slot,
      release: slot,
      destroy: slot,
      isBorrowedResource: slot,
      size: fc.oneof(fc.nat({ max: 10 }), hostile, fc.constant('throws')),
      available: fc.oneof(fc.nat({ max: 10 }), hostile, fc.constant('throws')),
    }),
    { nil: undefined },
  ),
});

/** A minimal emitter whose listeners the test can see and call; on/off throw as specified. */
class FakeEmitter {
  readonly listeners = new Map<unknown, Function[]>();
  private adds = 0;
  private removes = 0;
  /** off() threw at least once. */
  refusedRemoval = false;
  constructor(spec: EmitterSpec, target: object = {}) {
    const on = (event: unknown, listener: Function): unknown => {
      if (typeof listener !== 'function') throw new TypeError('The "listener" argument must be of type function'); // as Node's
      if (this.adds++ >= spec.addThrowsFrom) throw new Error('on() refused');
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
      return target;
    };
    const off = (event: unknown, listener: Function): unknown => {
      if (this.removes++ >= spec.removeThrowsFrom) {
        this.refusedRemoval = true;
        throw new Error('off() refused');
      }
      const list = this.listeners.get(event) ?? [];
      // As Node's: a wrapper names what it wraps as `.listener`.
      let i = list.length - 1;
      while (i >= 0 && list[i] !== listener && (list[i] as { listener?: unknown }).listener !== listener) i--;
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.listeners.delete(event);
      return target;
    };
    Object.assign(target, { on, addListener: on });
    if (spec.removeName !== 'off') Object.assign(target, { removeListener: off });
    if (spec.removeName !== 'removeListener') Object.assign(target, { off });
    this.target = target;
  }
  readonly target: object;
  count(): number {
    let n = 0;
    for (const list of this.listeners.values()) n += list.length;
    return n;
  }
}

interface World {
  readonly object: Record<string, unknown>;
  /** Originals of the function slots, to call for the expected outcome. */
  readonly originals: ReadonlyMap<string, (...a: unknown[]) => unknown>;
  readonly emitters: FakeEmitter[];
  /** Functions handed to onMessage (the transport's handlers). */
  readonly handlers: Function[];
  /** Every promise the application's methods returned. */
  readonly made: unknown[];
}

/** A fresh promise per call, its rejection handled: the outcome compares by identity, not by promise. */
function run(b: Behaviour, made: unknown[]): unknown {
  switch (b.kind) {
    case 'return':
      return b.value;
    case 'throw':
      throw b.error;
    case 'resolve': {
      // Rejects after all when the value is a hostile thenable (its `then` getter throws): handled,
      // or the unwrapped baseline call would leave an unhandled rejection of its own.
      const p = Promise.resolve(b.value);
      p.catch(() => undefined);
      made.push(p);
      return p;
    }
    case 'reject': {
      const p = Promise.reject(b.error);
      p.catch(() => undefined);
      made.push(p);
      return p;
    }
  }
}

function defineSlot(target: object, name: string, s: Slot, fn: (...a: unknown[]) => unknown): void {
  switch (s.kind) {
    case 'fn':
      Object.defineProperty(target, name, { value: fn, writable: true, enumerable: true, configurable: true });
      return;
    case 'value':
      Object.defineProperty(target, name, { value: s.value, writable: true, enumerable: true, configurable: true });
      return;
    case 'getterThrows':
      Object.defineProperty(target, name, {
        enumerable: true,
        configurable: true,
        get() {
          throw new Error(`getter ${name}`);
        },
      });
      return;
    case 'absent':
      return;
  }
}

function build(s: Spec, made: unknown[]): World {
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  const emitters: FakeEmitter[] = [];
  const handlers: Function[] = [];
  const methods: Record<string, (...a: unknown[]) => unknown> = {};
  for (const name of METHOD_NAMES) {
    const sl = s.slots[name];
    if (sl === undefined || sl.kind !== 'fn') continue;
    const b = sl.b;
    methods[name] = function (this: unknown, ...args: unknown[]) {
      if (name === 'onMessage') for (const a of args) if (typeof a === 'function') handlers.push(a);
      return run(b, made);
    };
  }
  const holder: Record<string, unknown> = s.shape === 'class' ? (new (class AppObject {})() as Record<string, unknown>) : {};
  const methodHost = s.shape === 'class' ? (Object.getPrototypeOf(holder) as object) : holder;
  for (const name of METHOD_NAMES) {
    const sl = s.slots[name];
    if (sl !== undefined) defineSlot(methodHost, name, sl, methods[name]!);
    if (methods[name] !== undefined) originals.set(name, methods[name]!);
  }
  if (s.emitter !== undefined) emitters.push(new FakeEmitter(s.emitter, holder));
  if (s.queue !== undefined) {
    const q = new FakeEmitter(s.queue);
    emitters.push(q);
    holder['queue'] = q.target;
  }
  if (s.breakers !== undefined) {
    const map = new Map<unknown, unknown>();
    for (const b of s.breakers) {
      const e = new FakeEmitter(b.spec);
      emitters.push(e);
      for (const [key, v] of [
        ['opened', b.opened],
        ['halfOpen', b.halfOpen],
        ['closed', b.closed],
      ] as const) {
        Object.defineProperty(e.target, key, {
          get() {
            if (v === 'throws') throw new Error(`breaker getter ${key}`);
            return v;
          },
        });
      }
      map.set(b.key, e.target);
    }
    holder['breakers'] = map;
  }
  if (s.pool !== undefined) {
    const p = s.pool;
    const pool: Record<string, unknown> = {};
    const fns: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of ['acquire', 'release', 'destroy', 'isBorrowedResource'] as const) {
      const sl = p[name];
      if (sl.kind === 'fn') fns[name] = () => run(sl.b, made);
      defineSlot(pool, name, sl, fns[name]!);
      if (fns[name] !== undefined) originals.set(`pool.${name}`, fns[name]!);
    }
    for (const key of ['size', 'available'] as const) {
      const v = p[key];
      Object.defineProperty(pool, key, {
        enumerable: true,
        get() {
          if (v === 'throws') throw new Error(`pool getter ${key}`);
          return v;
        },
      });
    }
    holder['pool'] = pool;
  }
  if (s.shape === 'frozen') Object.freeze(holder);
  if (s.shape === 'sealed') Object.seal(holder);
  return { object: holder, originals, emitters, handlers, made };
}

/** Own properties, exactly (descriptor fields by identity), of the object, its prototype and its pool. */
function snapshot(w: World): unknown[][] {
  const rows: unknown[][] = [];
  const targets = [w.object, Object.getPrototypeOf(w.object) as object, w.object['pool']].filter((t): t is object => typeof t === 'object' && t !== null && t !== Object.prototype);
  for (const t of targets) {
    for (const k of Reflect.ownKeys(t)) {
      const d = Object.getOwnPropertyDescriptor(t, k)!;
      rows.push([k, d.value, d.get, d.set, d.writable, d.enumerable, d.configurable]);
    }
  }
  return rows;
}

function sameRows(a: unknown[][], b: unknown[][]): boolean {
  return a.length === b.length && a.every((row, i) => row.length === b[i]!.length && row.every((v, j) => Object.is(v, b[i]![j])));
}

// ---------------------------------------------------------------------------------------------
// Generated options
// ---------------------------------------------------------------------------------------------

/** An extractor: absent, one returning a hostile value, one that throws, or not a function at all. */
const extractor = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: hostile.map((v) => () => v) },
  {
    weight: 1,
    arbitrary: fc.constant(() => {
      throw new Error('extractor threw');
    }),
  },
  { weight: 1, arbitrary: hostile },
);
const methodName = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(...METHOD_NAMES, 'missing', 'queue', 'pool', '__proto__', 'constructor', 'toString') },
  { weight: 1, arbitrary: hostile },
);
const number = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -2, max: 5 }), hostile) });

const options: fc.Arbitrary<P2pObjectOptions> = fc
  .record({
    connector: fc.record(
      {
        methods: fc.record({ connect: methodName, disconnect: methodName }),
        peerId: extractor,
        onClose: extractor,
        breakers: fc.oneof(extractor, fc.constant(false)),
        pool: fc.oneof(extractor, fc.constant(false)),
        poolPeerId: extractor,
        evictionReason: extractor,
      },
      { requiredKeys: [] },
    ),
    transport: fc.record(
      {
        methods: fc.record({ send: methodName, onMessage: methodName, offMessage: methodName }, { requiredKeys: [] }),
        event: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 3 })),
        peerId: extractor,
        message: extractor,
        messageType: extractor,
        size: extractor,
        received: fc.oneof(fc.constant(undefined), fc.record({ peerId: extractor, size: extractor, ackOf: extractor }, { requiredKeys: [] })),
        latency: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(undefined, 'settle', 'ack', 'none') }, { weight: 1, arbitrary: hostile }),
        latencyEvery: fc.oneof(number, fc.constantFrom('auto', 'always')),
        maxTimedSendsPerSecond: number,
        messageId: extractor,
        maxPendingAcks: number,
        ackTimeoutMs: number,
        errorType: extractor,
        queue: extractor,
      },
      { requiredKeys: [] },
    ),
    // One subscription mode per manager, as an application configures it.
    manager: fc
      .tuple(
        fc.oneof(
          fc.constant({}),
          fc.constant({ eventNames: true as const }),
          fc.dictionary(fc.constantFrom('peer_discovered', 'topology', 'peer_link_up'), fc.string({ maxLength: 3 })).map((eventNames) => ({ eventNames })),
          fc.constantFrom('event', 'p2p').map((eventName) => ({ eventName })),
          methodName.map((subscribe) => ({ subscribe })),
          extractor.map((emitter) => ({ emitter })),
        ),
        extractor,
      )
      .map(([mode, mapEvent]) => ({ ...mode, ...(mapEvent === undefined ? {} : { mapEvent }) })),
  })
  .map((o) => o as unknown as P2pObjectOptions);

// ---------------------------------------------------------------------------------------------
// Driving a world
// ---------------------------------------------------------------------------------------------

type Outcome = readonly [string, unknown];
function outcome(f: () => unknown): Outcome {
  try {
    return ['returned', f()];
  } catch (e) {
    return ['threw', e];
  }
}

/** Calls every method slot through the (maybe instrumented) object and checks it against the original. */
function exercise(w: World, args: readonly unknown[][]): void {
  const o = w.object;
  for (const [name, original] of w.originals) {
    const [owner, key] = name.startsWith('pool.') ? [o['pool'] as Record<string, unknown>, name.slice(5)] : [o, name];
    for (const a of args) {
      const made = w.made;
      // What the original does with these arguments: run() is deterministic but for fresh promises,
      // so a returned promise is compared as "a promise", by identity below.
      const expected = outcome(() => original.apply(owner, a));
      const before = made.length;
      // A promise is fresh per call: the instrumented call must return the very one its original made.
      const got = outcome(() => (owner[key] as (...x: unknown[]) => unknown).apply(owner, a));
      const same = got[0] === expected[0] && (Object.is(got[1], expected[1]) || (made.length > before && got[1] === made[made.length - 1]));
      if (!same) throw new Error(`${name}: the application saw ${got[0]} ${String(got[1])}, expected ${expected[0]} ${String(expected[1])}`);
    }
  }
  // Whatever the emitters carry, whoever listens: our listeners must not throw into emit().
  for (const e of w.emitters) {
    for (const [event, listeners] of e.listeners) {
      for (const l of [...listeners]) if (typeof l === 'function') for (const a of args) l(...a, event);
    }
  }
  for (const h of w.handlers) for (const a of args) outcome(() => h(...a));
}

/** Listener counts of every emitter of the world. */
const listenerCounts = (w: World): number[] => w.emitters.map((e) => e.count());

describe(`P2pInstrumentation entry points, ${RUNS} hostile worlds and options`, () => {
  // One instrumentation across all runs (constructing one costs milliseconds): each run must also
  // leave it clean for the next.
  const inst = new P2pInstrumentation({ peerId: { maxPeers: 16 } });
  const producer = inst.createMetricProducer();
  const internal = (): number => inst.rejectedRecords()['internal_error'] ?? 0;
  /** Shadows the record methods with counters (as disable() shadows them with no-ops); the stopper puts them back and says what was called. */
  const countRecords = (): (() => string[]) => {
    const called: string[] = [];
    const self = inst as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(inst) as Record<string, unknown>;
    for (const m of Object.keys(RECORD_METHODS)) self[m] = () => void called.push(m);
    return () => {
      for (const m of Object.keys(RECORD_METHODS)) self[m] = proto[m];
      return called;
    };
  };

  it('never throw for an object, restore exactly, never change what the application sees', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        spec,
        options,
        fc.constantFrom('instrument', 'each', 'breaker'),
        fc.array(fc.array(hostile, { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (s, opts, how, args, cycle) => {
          const made: unknown[] = [];
          const w = build(s, made);
          const before = snapshot(w);
          const listenersBefore = listenerCounts(w);
          const errorsBefore = internal() - diagErrors;
          const o = w.object;
          if (how === 'instrument') {
            if (inst.instrument({ connector: o, transport: o, manager: o }, opts) !== inst) throw new Error('instrument() did not return the instrumentation');
          } else if (how === 'each') {
            if (inst.instrumentConnector(o, opts.connector) !== o) throw new Error('instrumentConnector() did not return its argument');
            if (inst.instrumentTransport(o, opts.transport) !== o) throw new Error('instrumentTransport() did not return its argument');
            if (inst.instrumentManager(o, opts.manager) !== o) throw new Error('instrumentManager() did not return its argument');
          } else {
            for (const e of w.emitters) if (inst.observeCircuitBreaker(String(runs), e.target as never) !== e.target) throw new Error('observeCircuitBreaker() did not return its argument');
          }
          exercise(w, args);
          if (cycle) {
            inst.disable();
            exercise(w, args);
            inst.enable();
          }
          await new Promise((resolve) => setImmediate(resolve)); // promise outcomes, connecting marks
          exercise(w, args);
          inst.prepareCollection(); // collection hooks: pools and breakers are read here
          if (++runs % 250 === 0) {
            const { errors } = producer.collectSync();
            if (errors.length > 0) throw new AggregateError(errors, 'collection failed');
          }
          inst.uninstrumentAll();
          const after = snapshot(w);
          if (!sameRows(after, before)) {
            // Allowed: restore() leaves the deregistration method wrapped (translating only) while
            // the transport holds handler wrappers of ours (docs/instrumentation/transport.md).
            const off = (opts.transport as { methods?: { offMessage?: unknown } } | undefined)?.methods?.offMessage ?? 'offMessage';
            const without = (rows: unknown[][]) => rows.filter((r) => !Object.is(r[0], off));
            if (!isWrapped(o, off as PropertyKey) || !sameRows(without(after), without(before))) throw new Error('own properties not restored exactly');
          }
          // An emitter whose off() throws keeps what it holds: nothing we can do but be inert.
          const listenersAfter = listenerCounts(w);
          const leftBehind = w.emitters.filter((e, i) => listenersAfter[i] !== listenersBefore[i] && !e.refusedRemoval);
          if (leftBehind.length > 0) throw new Error(`listeners left behind: ${listenersBefore.join(',')} → ${listenersAfter.join(',')}`);
          const rejected = JSON.stringify(inst.rejectedRecords());
          const stopCounting = countRecords();
          exercise(w, args);
          inst.prepareCollection();
          const recordsAfter = stopCounting();
          if (recordsAfter.length > 0 || JSON.stringify(inst.rejectedRecords()) !== rejected) throw new Error(`recorded after uninstrument: ${recordsAfter.join(', ')}`);
          if (internal() - diagErrors !== errorsBefore) throw new Error('an internal_error without its diag error, or the reverse');
          await Promise.allSettled(made as Promise<unknown>[]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('instrument* throws a TypeError for anything that is not an object, and only then', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom('instrumentConnector', 'instrumentTransport', 'instrumentManager', 'observeCircuitBreaker'), (target, method) => {
        const isObject = typeof target === 'object' && target !== null;
        const call = (): unknown =>
          method === 'observeCircuitBreaker' ? inst.observeCircuitBreaker('peerA1b2c3d4e5f6', target as never) : (inst[method] as (t: unknown) => unknown).call(inst, target);
        let threw: unknown;
        try {
          if (call() !== target) throw new Error(`${method} did not return its argument`);
        } catch (e) {
          threw = e;
        }
        inst.uninstrumentAll();
        if (isObject && threw !== undefined) throw threw;
        if (!isObject && !(threw instanceof TypeError)) throw new Error(`${method}(${typeof target}) did not throw a TypeError`);
      }),
      { numRuns: RUNS },
    );
  });
});

// Regressions of what this suite found, as plain examples.
describe('found by this suite', () => {
  it('one object that is connector, transport and manager at once is instrumented as all three (it was only the first)', async () => {
    const inst = new P2pInstrumentation({ peerId: { mode: 'full' } });
    const node = Object.assign(new (class Node {})(), {
      connectToPeer: async (peer: string) => ({ peer, closed: () => new Promise(() => undefined) }),
      sendToPeer: async (_peer: string, _message: unknown) => undefined,
      onMessage: (_h: unknown) => undefined,
      on: () => undefined,
      removeListener: () => undefined,
    });
    const before = Reflect.ownKeys(node).map((k) => [k, Object.getOwnPropertyDescriptor(node, k)]);
    const calls: string[] = [];
    for (const m of ['recordConnectionAttempt', 'recordMessage'] as const) {
      const original = inst[m].bind(inst) as (...a: unknown[]) => void;
      (inst as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        calls.push(m);
        original(...a);
      };
    }
    inst.instrument({ connector: node, transport: node, manager: node });
    await node.connectToPeer('peerA1b2c3d4e5f6');
    await node.sendToPeer('peerA1b2c3d4e5f6', 'hello');
    expect(calls).toEqual(['recordConnectionAttempt', 'recordMessage']);
    inst.uninstrument(node);
    expect(Reflect.ownKeys(node).map((k) => [k, Object.getOwnPropertyDescriptor(node, k)])).toEqual(before);
  });

  it('a manager whose on() throws part-way keeps none of our listeners', () => {
    const inst = new P2pInstrumentation();
    const manager = new EventEmitterLike(3);
    inst.instrumentManager(manager, { eventNames: true });
    expect(manager.count()).toBe(0); // the two accepted before the throw were taken back
    expect(inst.rejectedRecords()['internal_error']).toBe(1);
  });

  it('a listener an emitter refuses to remove stays inert after uninstrument', () => {
    const inst = new P2pInstrumentation();
    const breaker = new EventEmitterLike(Infinity, true);
    inst.observeCircuitBreaker('peerA1b2c3d4e5f6', breaker as never);
    inst.uninstrument(breaker);
    const rejected = JSON.stringify(inst.rejectedRecords());
    const before = inst
      .createMetricProducer()
      .collectSync()
      .resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'p2p_circuit_breaker_failures');
    breaker.fire('failure');
    const after = inst
      .createMetricProducer()
      .collectSync()
      .resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'p2p_circuit_breaker_failures');
    expect(after).toEqual(before);
    expect(JSON.stringify(inst.rejectedRecords())).toBe(rejected);
  });

  it('a Symbol as a transport method name: nothing stays wrapped (a message template used to throw after the send was wrapped)', () => {
    const inst = new P2pInstrumentation();
    const send = async () => undefined;
    const transport = { sendToPeer: send };
    inst.instrumentTransport(transport, { methods: { onMessage: Symbol('onMessage') as never } });
    inst.uninstrument(transport);
    expect(transport.sendToPeer).toBe(send);
  });
});

/** An emitter whose on() throws from its `throwFrom`-th call, and whose removal may refuse. */
class EventEmitterLike {
  private readonly listeners: [unknown, (...a: unknown[]) => void][] = [];
  private adds = 0;
  constructor(
    private readonly throwFrom: number,
    private readonly refuseRemoval = false,
  ) {}
  on(event: unknown, listener: (...a: unknown[]) => void): this {
    if (this.adds++ >= this.throwFrom) throw new Error('on() refused');
    this.listeners.push([event, listener]);
    return this;
  }
  removeListener(event: unknown, listener: unknown): this {
    if (this.refuseRemoval) throw new Error('removeListener() refused');
    const i = this.listeners.findIndex(([e, l]) => e === event && l === listener);
    if (i >= 0) this.listeners.splice(i, 1);
    return this;
  }
  count(): number {
    return this.listeners.length;
  }
  fire(event: unknown, ...args: unknown[]): void {
    for (const [e, l] of this.listeners) if (e === event) l(...args);
  }
}
