/**
 * Instrumentation is invisible to the application, through the public API only:
 * `new P2pInstrumentation().instrument({ connector, transport, manager })`, uninstrument,
 * uninstrumentAll, disable() and enable(). Every property runs the same operations on two
 * identical sets of hand-written application objects, one instrumented and one not, and compares
 * everything the application can observe: values and errors by identity, `this`, arguments,
 * promise settlement, unhandled rejections, handler and listener calls and their order, property
 * descriptors after restore, getters never read.
 *
 * Written against behaviour only, so that it holds for any correct connector/transport/manager
 * wrapper: it passes against do-nothing stubs too. Tests or assertions marked `[wrappers]` are
 * trivially true against a stub and only bite with real wrappers (connector.ts, transport.ts,
 * manager.ts were being written alongside this file).
 *
 * Tests marked `it.failing` reproduce known bugs (see each comment); remove `.failing` when fixed.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { types } from 'node:util';
import { P2P_EVENT_TYPES, P2pInstrumentation, RECORD_METHODS, type P2pObjectOptions } from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers (kept local: this file must not depend on other test files)
// ---------------------------------------------------------------------------------------------

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Row = readonly unknown[];

const EMITTER_STATE = new Set<PropertyKey>(['_events', '_eventsCount']);

function show(v: unknown): string {
  if (typeof v === 'function') return `[function ${v.name}]`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  try {
    return fc.stringify(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** The first difference between two transcripts (rows compared element-wise with Object.is). */
function difference(a: readonly Row[], b: readonly Row[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.length !== y.length || x.some((v, j) => !Object.is(v, y[j]))) {
      return `row ${i}: ${show(x)} vs ${show(y)} (of ${a.length} vs ${b.length} rows)`;
    }
  }
  return undefined;
}

function expectIdentical(actual: readonly Row[], expected: readonly Row[], what = 'transcripts'): void {
  const d = difference(actual, expected);
  if (d !== undefined) throw new Error(`${what} differ (instrumented vs plain): ${d}`);
}

/** Own properties of the object and of its prototypes (up to Object.prototype), exactly. */
/** What restore() may leave wrapped while the transport holds handler wrappers of ours. */
const OFF_MESSAGE: ReadonlySet<PropertyKey> = new Set(['offMessage']);

function snapshot(o: object, skip: ReadonlySet<PropertyKey> = new Set()): Row[] {
  const rows: Row[] = [['extensible', Object.isExtensible(o)]];
  for (let p: object | null = o; p !== null && p !== Object.prototype && p !== EventEmitter.prototype; p = Object.getPrototypeOf(p) as object | null) {
    rows.push(['proto', p]);
    for (const k of Reflect.ownKeys(p)) {
      if (skip.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      rows.push([k, 'value' in d, d.value, d.get, d.set, d.writable, d.enumerable, d.configurable]);
    }
  }
  return rows;
}

/**
 * The structure of a value the app passed: own keys, descriptors (getters are not called) and,
 * a few levels down, the same of the values held. For noticing that we changed the app's data.
 */
function structure(v: unknown, depth = 3, seen = new Set<object>()): Row[] {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null || depth === 0 || seen.has(v)) return [];
  seen.add(v);
  const rows: Row[] = [['object', v, Object.getPrototypeOf(v), Object.isExtensible(v)]];
  for (const k of Reflect.ownKeys(v)) {
    if (EMITTER_STATE.has(k)) continue; // an emitter's listeners are checked elsewhere
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    rows.push([k, d.value, d.get, d.set, d.writable, d.enumerable, d.configurable]);
    if ('value' in d) rows.push(...structure(d.value, depth - 1, seen));
  }
  return rows;
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function macrotasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await macrotask();
}

/** How a call came out, as the application sees it after awaiting a returned native promise. */
async function outcome(call: () => unknown): Promise<Row> {
  let r: unknown;
  try {
    r = call();
  } catch (e) {
    // EventEmitter throws a new error for emit('error', nonError) without listener: compare its content.
    if (types.isNativeError(e) && (e as { code?: unknown }).code === 'ERR_UNHANDLED_ERROR') return ['threw', 'ERR_UNHANDLED_ERROR', (e as { context?: unknown }).context];
    return ['threw', e];
  }
  if (!types.isPromise(r)) return ['returned', r];
  const proto: unknown = Object.getPrototypeOf(r);
  try {
    return ['fulfilled', await r, proto];
  } catch (e) {
    return ['rejected', e, proto];
  }
}

/**
 * Jest hands the test a copy of `process` whose listeners never fire, and puts its own
 * 'unhandledRejection' listener on the real one (failing the running test). Node's process is
 * reachable through a function of the outer realm (setImmediate is Node's): its Function
 * constructor evaluates in the outer global. Jest's listeners are swapped out while measuring.
 */
const realProcess: NodeJS.Process = (() => {
  try {
    const p = (setImmediate as unknown as { constructor: FunctionConstructor }).constructor('return process')() as NodeJS.Process;
    return typeof p?.on === 'function' ? p : process;
  } catch {
    return process;
  }
})();

/** Unhandled-rejection events while `scenario` runs and a few macrotasks after. */
async function rejectionEvents(scenario: () => Promise<void> | void, settleTicks = 4): Promise<Row[]> {
  const events: Row[] = [];
  const saved = realProcess.listeners('unhandledRejection');
  const onUnhandled = (reason: unknown, promise: Promise<unknown>): void => void events.push(['unhandled', reason, promise]);
  const onHandled = (promise: Promise<unknown>): void => void events.push(['handled', promise]);
  realProcess.removeAllListeners('unhandledRejection');
  realProcess.on('unhandledRejection', onUnhandled);
  realProcess.on('rejectionHandled', onHandled);
  try {
    await scenario();
    await macrotasks(settleTicks);
  } finally {
    realProcess.off('unhandledRejection', onUnhandled);
    realProcess.off('rejectionHandled', onHandled);
    for (const l of saved) realProcess.on('unhandledRejection', l as (...a: unknown[]) => void);
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// OTel diag capture
// ---------------------------------------------------------------------------------------------

interface DiagEntry {
  level: 'error' | 'warn' | 'info' | 'debug' | 'verbose';
  args: unknown[];
}
const diagEntries: DiagEntry[] = [];
const capturingLogger: DiagLogger = {
  error: (...args) => void diagEntries.push({ level: 'error', args }),
  warn: (...args) => void diagEntries.push({ level: 'warn', args }),
  info: (...args) => void diagEntries.push({ level: 'info', args }),
  debug: (...args) => void diagEntries.push({ level: 'debug', args }),
  verbose: (...args) => void diagEntries.push({ level: 'verbose', args }),
};

beforeEach(() => {
  diagEntries.length = 0;
  diag.setLogger(capturingLogger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
});
afterEach(() => diag.disable());

const internalErrors = (inst: P2pInstrumentation): number => inst.rejectedRecords()['internal_error'] ?? 0;

// ---------------------------------------------------------------------------------------------
// Generated behaviours and values
// ---------------------------------------------------------------------------------------------

interface LazyThenable {
  /** Reads of `then` (a getter), and calls of the function it returns. */
  readonly reads: { count: number };
  readonly calls: { count: number };
}

/**
 * A non-native thenable whose then() starts work (a lazy query): only the app may call it.
 * Reading `then` is tolerated (connector.ts reads it to tell a thenable apart), calling is not.
 */
function lazyThenable(value: unknown): LazyThenable {
  const reads = { count: 0 };
  const calls = { count: 0 };
  const t = { reads, calls, [fc.toStringMethod]: () => 'lazyThenable' };
  Object.defineProperty(t, 'then', {
    enumerable: true,
    get() {
      reads.count++;
      return (resolve: (v: unknown) => void) => {
        calls.count++;
        resolve(value);
      };
    },
  });
  return t;
}

type Behaviour =
  | { kind: 'return'; value: unknown }
  | { kind: 'throw'; error: unknown }
  | { kind: 'resolve'; value: unknown; delay: boolean }
  | { kind: 'reject'; error: unknown; delay: boolean }
  | { kind: 'thenable'; thenable: LazyThenable };

function perform(b: Behaviour): unknown {
  switch (b.kind) {
    case 'return':
      return b.value;
    case 'throw':
      throw b.error;
    case 'thenable':
      return b.thenable;
    case 'resolve':
    case 'reject':
      return (async () => {
        if (b.delay) await macrotask();
        if (b.kind === 'reject') throw b.error;
        return b.value;
      })();
  }
}

const throwable: fc.Arbitrary<unknown> = fc.oneof(
  fc.string().map((m) => new Error(m)),
  fc.constantFrom('ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'ENOBUFS').map((code) => Object.assign(new Error(code), { code })),
  fc.constantFrom<unknown>(undefined, null, 0, '', 'timeout'),
  fc.string(),
  fc.object({ maxDepth: 1 }),
  fc.constant(null).map(() => Symbol('thrown')),
);

const peerId = fc.oneof(fc.constantFrom('peerA1b2c3d4e5f6', 'peerB1b2c3d4e5f6', '10.0.0.1:4433'), fc.string({ maxLength: 12 }));

/** Manager events: well-formed, half-formed and nonsense, each a fresh object. */
const p2pEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      type: fc.oneof(fc.constantFrom(...P2P_EVENT_TYPES), fc.string()),
      peerId,
      from: peerId,
      to: peerId,
      method: fc.constantFrom('mdns', 'dht', 'bootstrap', 'manual', 'nonsense'),
      reason: fc.constantFrom('timeout', 'network', 'nonsense'),
      resourceType: fc.constantFrom('blocks', 'state'),
      durationMs: fc.oneof(fc.double({ min: 0, max: 1e5, noNaN: true }), fc.constant(-1), fc.constant(NaN)),
      bytes: fc.oneof(fc.nat(), fc.constant(-5)),
      adjacency: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 3 })),
    },
    { requiredKeys: ['type'] },
  ),
  fc.anything({ maxDepth: 2 }),
);

/**
 * Values the application passes around: anything, messages of every shape, and hostile ones
 * (throwing getters and conversions) that only the instrumentation could trip over.
 */
function valueArb(): fc.Arbitrary<unknown> {
  const hostile = fc.constantFrom('payload', 'data', 'type', 'id', 'byteLength', 'length', 'peerId', 'toString').map((key) => {
    // fast-check's reporter must be able to print it without tripping the trap.
    const o = { [fc.toStringMethod]: () => `hostile(${key})` };
    Object.defineProperty(o, key, {
      enumerable: true,
      get() {
        throw new Error(`hostile ${key}`);
      },
    });
    return o as unknown;
  });
  // Connections as a connector returns them: the instrumentation follows their close.
  const connection = fc.constantFrom('emitter', 'closedResolves', 'closedRejects', 'closedThrows', 'closedPending').map((kind): unknown => {
    const tag = { [fc.toStringMethod]: () => `connection(${kind})` };
    switch (kind) {
      case 'emitter':
        return Object.assign(new EventEmitter(), tag);
      case 'closedResolves':
        return { ...tag, closed: async () => 'bye' };
      case 'closedRejects':
        return { ...tag, closed: () => Promise.reject(new Error('closed with error')) };
      case 'closedThrows':
        return {
          ...tag,
          closed: () => {
            throw new Error('closed() threw');
          },
        };
      default:
        return { ...tag, closed: () => new Promise(() => undefined) };
    }
  });
  return fc.oneof(
    fc.anything({ maxDepth: 2, withTypedArray: true, withNullPrototype: true }),
    peerId,
    connection,
    fc.uint8Array({ maxLength: 64 }),
    fc.string().map((s) => Buffer.from(s)),
    fc.record({ type: fc.constantFrom('ping', 'gossip', 'raft', 'x'), id: fc.oneof(fc.string(), fc.nat()), payload: fc.uint8Array({ maxLength: 32 }) }, { requiredKeys: [] }),
    hostile,
    fc.constant(null).map(() => Symbol('value')),
    fc.constantFrom<unknown>(undefined, null, NaN),
  );
}

function behaviourArb(value: fc.Arbitrary<unknown>): fc.Arbitrary<Behaviour> {
  return fc.oneof(
    fc.record({ kind: fc.constant('return' as const), value }),
    fc.record({ kind: fc.constant('throw' as const), error: throwable }),
    fc.record({ kind: fc.constant('resolve' as const), value, delay: fc.boolean() }),
    fc.record({ kind: fc.constant('reject' as const), error: throwable, delay: fc.boolean() }),
    value.map((v): Behaviour => ({ kind: 'thenable', thenable: lazyThenable(v) })),
  );
}

// ---------------------------------------------------------------------------------------------
// The application's objects (a world), written as an application would
// ---------------------------------------------------------------------------------------------

const SHAPES = ['class', 'literal', 'fields', 'frozenClass', 'sealedLiteral'] as const;
type Shape = (typeof SHAPES)[number];

const EVENTS = ['event', 'other', 'error'] as const;
type EventName = (typeof EVENTS)[number];

interface World {
  /** What the application's code saw, in order. */
  log: Row[];
  connector: Record<string, Fn>;
  transport: Record<string, Fn>;
  manager: EventEmitter;
  /** The transport's registered handlers, as it holds them. */
  handlers: Fn[];
  /** For each of `handlers`: the app handler id registered, and whether it is held as itself (else as a wrapper of ours). */
  held: { id: number; asItself: boolean }[];
  /** The id of the app handler the current onMessage/offMessage op passes. */
  currentHandler: number;
  /** The application's handler functions, by id (created on first use, then reused). */
  appHandlers: Map<number, Fn>;
  /** The application's listener functions, by id; and back. */
  appListeners: Map<number, Fn>;
  listenerIds: Map<unknown, number>;
  /** Reads of getters the instrumentation has no business reading. */
  getterReads: { count: number };
  /** What the next method call does. */
  next: Behaviour;
  /** The application's handler / listener with that id (the same function each time). */
  handler(id: number): Fn;
  listener(id: number): Fn;
}

/** Puts `methods` on an object of the given shape, with two getters nobody may read. */
function build(shape: Shape, methods: Record<string, Fn>, getterReads: { count: number }): Record<string, Fn> {
  const getters: PropertyDescriptorMap = {
    status: {
      configurable: true,
      enumerable: true,
      get() {
        getterReads.count++;
        return 'up';
      },
    },
    boom: {
      configurable: true,
      enumerable: false,
      get() {
        getterReads.count++;
        throw new Error('do not read me');
      },
    },
  };
  switch (shape) {
    case 'class':
    case 'frozenClass': {
      class AppObject {}
      for (const [k, fn] of Object.entries(methods)) Object.defineProperty(AppObject.prototype, k, { value: fn, writable: true, enumerable: false, configurable: true });
      Object.defineProperties(AppObject.prototype, getters);
      const o = new AppObject() as Record<string, Fn>;
      return shape === 'frozenClass' ? Object.freeze(o) : o;
    }
    case 'literal':
    case 'sealedLiteral': {
      const o = Object.defineProperties({ ...methods }, getters);
      return shape === 'sealedLiteral' ? Object.seal(o) : o;
    }
    case 'fields': {
      class AppObject {
        constructor() {
          // Class fields holding arrow functions: `this` is always the instance.
          for (const [k, fn] of Object.entries(methods)) (this as Record<string, unknown>)[k] = (...a: unknown[]) => fn.apply(this, a);
        }
      }
      return Object.defineProperties(new AppObject(), getters) as Record<string, Fn>;
    }
  }
}

function makeWorld(shape: Shape, handlerBehaviours: readonly Behaviour[], listenerBehaviours: readonly Behaviour[]): World {
  const w: World = {
    log: [],
    connector: {},
    transport: {},
    manager: new EventEmitter(),
    handlers: [],
    held: [],
    currentHandler: -1,
    appHandlers: new Map(),
    appListeners: new Map(),
    listenerIds: new Map(),
    getterReads: { count: 0 },
    next: { kind: 'return', value: undefined },
    handler: () => {
      throw new Error('set below');
    },
    listener: () => {
      throw new Error('set below');
    },
  };
  const self = (thisArg: unknown, owner: object): unknown => (thisArg === owner ? 'self' : thisArg);
  const method = (name: string, owner: () => object): Fn =>
    function (this: unknown, ...args: unknown[]) {
      w.log.push([name, self(this, owner()), args.length, ...args]);
      return perform(w.next);
    };
  w.connector = build(shape, { connectToPeer: method('connectToPeer', () => w.connector), disconnectFromPeer: method('disconnectFromPeer', () => w.connector) }, w.getterReads);
  w.transport = build(
    shape,
    {
      sendToPeer: method('sendToPeer', () => w.transport),
      onMessage(this: unknown, ...args: unknown[]) {
        w.log.push(['onMessage', self(this, w.transport), args.length, ...args.map((a) => (typeof a === 'function' ? 'function' : a))]);
        if (typeof args[0] === 'function') {
          w.handlers.push(args[0] as Fn);
          w.held.push({ id: w.currentHandler, asItself: args[0] === w.appHandlers.get(w.currentHandler) });
        }
        return perform(w.next);
      },
      // Written the usual way: finds the handler by identity.
      offMessage(this: unknown, ...args: unknown[]) {
        w.log.push(['offMessage', self(this, w.transport), args.length, ...args.map((a) => (typeof a === 'function' ? 'function' : a))]);
        const i = w.handlers.indexOf(args[0] as Fn);
        if (i >= 0) {
          w.handlers.splice(i, 1);
          w.held.splice(i, 1);
        }
        return perform(w.next);
      },
    },
    w.getterReads,
  );
  class AppManager extends EventEmitter {}
  Object.defineProperties(AppManager.prototype, {
    status: {
      get() {
        w.getterReads.count++;
        return 'up';
      },
    },
  });
  w.manager = new AppManager();
  // Handlers and listeners are created on first use and reused, as an app reuses its functions.
  w.handler = (id: number): Fn => {
    let h = w.appHandlers.get(id);
    if (h === undefined) {
      h = function (this: unknown, ...args: unknown[]) {
        w.log.push(['handler', id, this === w.transport ? 'transport' : this, args.length, ...args]);
        return perform(handlerBehaviours[id]!);
      };
      w.appHandlers.set(id, h);
    }
    return h;
  };
  w.listener = (id: number): Fn => {
    let l = w.appListeners.get(id);
    if (l === undefined) {
      l = function (this: unknown, ...args: unknown[]) {
        w.log.push(['listener', id, this === w.manager ? 'manager' : this, args.length, ...args]);
        return perform(listenerBehaviours[id]!);
      };
      w.appListeners.set(id, l);
      w.listenerIds.set(l, id);
    }
    return l;
  };
  return w;
}

const handlerOf = (w: World, id: number): Fn => w.handler(id);
const listenerOf = (w: World, id: number): Fn => w.listener(id);

/** The manager's listeners per event, as app listener ids ('ours' for anything else), in order. */
function listenerLayout(w: World): { rows: Row[]; foreign: number } {
  let foreign = 0;
  const rows: Row[] = [];
  for (const name of new Set<string | symbol>([...EVENTS, ...w.manager.eventNames()])) {
    const ids: unknown[] = [];
    for (const raw of w.manager.rawListeners(name)) {
      const fn = (raw as { listener?: unknown }).listener ?? raw;
      const id = w.listenerIds.get(fn);
      if (id === undefined) foreign++;
      else ids.push(id);
    }
    // The app only listens to EVENTS: other names can only hold listeners of ours.
    if ((EVENTS as readonly (string | symbol)[]).includes(name)) rows.push([name, ...ids]);
  }
  return { rows, foreign };
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

type Receiver = { self: true } | { self: false; value: unknown };
type Lifecycle = 'instrument' | 'instrumentEach' | 'disable' | 'enable' | 'uninstrument' | 'uninstrumentAll';
type Op =
  | { op: 'connectToPeer' | 'disconnectFromPeer' | 'sendToPeer'; args: unknown[]; b: Behaviour; recv: Receiver }
  | { op: 'onMessage' | 'offMessage'; handler: number; b: Behaviour }
  | { op: 'deliver'; args: unknown[]; toTransport: boolean }
  | { op: 'listen'; id: number; how: 'on' | 'once' | 'prependListener'; event: EventName }
  | { op: 'unlisten'; id: number; event: EventName }
  | { op: 'removeAll'; event: EventName }
  | { op: 'emit'; event: EventName; args: unknown[] }
  | { op: 'lifecycle'; what: Lifecycle };

const HANDLERS = 3;
const LISTENERS = 4;

function opArb(value: fc.Arbitrary<unknown>): fc.Arbitrary<Op> {
  const behaviour = behaviourArb(value);
  const args = fc.array(value, { maxLength: 4 });
  const recv: fc.Arbitrary<Receiver> = fc.oneof({ weight: 4, arbitrary: fc.constant({ self: true as const }) }, { weight: 1, arbitrary: value.map((v) => ({ self: false as const, value: v })) });
  const event = fc.constantFrom<EventName>(...EVENTS);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constantFrom('connectToPeer' as const, 'disconnectFromPeer' as const, 'sendToPeer' as const),
        args: fc.tuple(peerId, value, args).map(([p, m, rest]) => [p, m, ...rest]),
        b: behaviour,
        recv,
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('connectToPeer' as const, 'disconnectFromPeer' as const, 'sendToPeer' as const), args, b: behaviour, recv }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('onMessage' as const, 'offMessage' as const), handler: fc.nat({ max: HANDLERS - 1 }), b: behaviour }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('deliver' as const), args: fc.oneof(fc.tuple(peerId, value), args), toTransport: fc.boolean() }) },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('listen' as const), id: fc.nat({ max: LISTENERS - 1 }), how: fc.constantFrom('on' as const, 'once' as const, 'prependListener' as const), event }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('unlisten' as const), id: fc.nat({ max: LISTENERS - 1 }), event }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('removeAll' as const), event }) },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('emit' as const),
        event: fc.constantFrom<EventName>('event', 'event', 'event', 'other', 'error'),
        args: fc.oneof(
          p2pEvent.map((e) => [e]),
          fc.array(fc.oneof(p2pEvent, value), { maxLength: 3 }),
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('lifecycle' as const), what: fc.constantFrom<Lifecycle>('instrument', 'instrumentEach', 'disable', 'enable', 'uninstrument', 'uninstrumentAll') }),
    },
  );
}

/** Runs one application operation on a world; returns what the app saw of it. */
async function apply(w: World, op: Exclude<Op, { op: 'lifecycle' }>): Promise<Row[]> {
  const start = w.log.length;
  const rows: Row[] = [];
  switch (op.op) {
    case 'connectToPeer':
    case 'disconnectFromPeer':
    case 'sendToPeer': {
      const owner = op.op === 'sendToPeer' ? w.transport : w.connector;
      w.next = op.b;
      const thisArg = op.recv.self ? owner : op.recv.value;
      rows.push([op.op, ...(await outcome(() => owner[op.op]!.apply(thisArg, op.args)))]);
      break;
    }
    case 'onMessage':
    case 'offMessage':
      w.next = op.b;
      w.currentHandler = op.handler;
      rows.push([op.op, ...(await outcome(() => w.transport[op.op]!(handlerOf(w, op.handler))))]);
      break;
    case 'deliver':
      // The transport calling its handlers, as it holds them, for an incoming message.
      for (const h of [...w.handlers]) rows.push(['delivered', ...(await outcome(() => h.apply(op.toTransport ? w.transport : undefined, op.args)))]);
      break;
    case 'listen':
      w.manager[op.how](op.event, listenerOf(w, op.id) as (...a: unknown[]) => void);
      break;
    case 'unlisten':
      w.manager.removeListener(op.event, listenerOf(w, op.id) as (...a: unknown[]) => void);
      break;
    case 'removeAll':
      w.manager.removeAllListeners(op.event);
      break;
    case 'emit': {
      const r = await outcome(() => w.manager.emit(op.event, ...op.args));
      // emit() returns whether the event had listeners: one of ours makes it true. Not compared.
      rows.push(['emit', ...(r[0] === 'returned' ? ['returned'] : r)]);
      break;
    }
  }
  return [...w.log.slice(start), ...rows];
}

/** How recording is made to fail, to check that it never reaches the application. */
type Failure = 'none' | 'records' | 'extractors';

interface Instrumented {
  inst: P2pInstrumentation;
  /** Errors our sabotage threw: each must be reported (counted and logged), none may reach the app. */
  thrown: unknown[];
  options: P2pObjectOptions;
  /** Re-applies the sabotage (enable() puts the monitor's methods back). */
  sabotage(): void;
}

function instrumentation(failure: Failure): Instrumented {
  const inst = new P2pInstrumentation();
  const thrown: unknown[] = [];
  const boom = (what: string) =>
    function throwing(): never {
      const e = new Error(`sabotaged ${what}`);
      thrown.push(e);
      throw e;
    };
  const sabotage = (): void => {
    if (failure !== 'records') return;
    for (const name of Object.keys(RECORD_METHODS)) (inst as unknown as Record<string, unknown>)[name] = boom(name);
  };
  sabotage();
  let options: P2pObjectOptions = {};
  if (failure === 'extractors') {
    // The option names of the wrappers, as far as known; a Proxy answers any other name with a
    // throwing function, so that whatever the connector wrapper will call (peerId, errorType...)
    // throws too. A wrapper that rejects such options must do so without the app noticing.
    const extractors = { peerId: boom('peerId'), message: boom('message'), messageType: boom('messageType'), size: boom('size'), errorType: boom('errorType'), messageId: boom('messageId') };
    options = {
      connector: new Proxy({}, { get: (_t, k) => (typeof k === 'string' ? boom(`connector.${k}`) : undefined) }),
      transport: { ...extractors, received: { ...extractors } },
      manager: { mapEvent: boom('mapEvent') },
    } as unknown as P2pObjectOptions;
  }
  return { inst, thrown, options, sabotage };
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

describe('P2pInstrumentation is invisible to the application', () => {
  it('same results, errors, this, arguments, handler and listener calls as without instrumentation, through instrument/disable/enable/uninstrument; exact restore; our listeners at most one', async () => {
    const value = valueArb();
    const behaviours = (n: number) => fc.array(behaviourArb(value), { minLength: n, maxLength: n });
    const syncBehaviours = (n: number) =>
      fc.array(fc.oneof(fc.record({ kind: fc.constant('return' as const), value }), fc.record({ kind: fc.constant('throw' as const), error: throwable })), { minLength: n, maxLength: n });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SHAPES),
        fc.constantFrom<Failure>('none', 'records', 'extractors'),
        fc.constantFrom<Lifecycle>('instrument', 'instrumentEach'),
        fc.array(opArb(value), { maxLength: 40, size: 'max' }),
        behaviours(HANDLERS),
        syncBehaviours(LISTENERS),
        async (shape, failure, first, ops, handlerBehaviours, listenerBehaviours) => {
          const plain = makeWorld(shape, handlerBehaviours, listenerBehaviours);
          const world = makeWorld(shape, handlerBehaviours, listenerBehaviours);
          const original = {
            connector: snapshot(world.connector),
            transport: snapshot(world.transport),
            transportButOff: snapshot(world.transport, OFF_MESSAGE),
            manager: snapshot(world.manager, EMITTER_STATE),
          };
          const { inst, thrown, options, sabotage } = instrumentation(failure);
          const diagStart = diagEntries.length;
          let registered = false;
          let enabled = true;
          const objects = { connector: world.connector, transport: world.transport, manager: world.manager };

          const lifecycle = (what: Lifecycle): void => {
            switch (what) {
              case 'instrument':
                expect(inst.instrument(objects, options)).toBe(inst);
                registered = true;
                break;
              case 'instrumentEach':
                expect(inst.instrumentConnector(world.connector, options.connector)).toBe(world.connector);
                expect(inst.instrumentTransport(world.transport, options.transport)).toBe(world.transport);
                expect(inst.instrumentManager(world.manager, options.manager)).toBe(world.manager);
                registered = true;
                break;
              case 'disable':
                inst.disable();
                enabled = false;
                break;
              case 'enable':
                inst.enable();
                sabotage();
                enabled = true;
                break;
              case 'uninstrument':
                for (const o of Object.values(objects)) inst.uninstrument(o);
                registered = false;
                break;
              case 'uninstrumentAll':
                inst.uninstrumentAll();
                registered = false;
                break;
            }
          };

          const check = (step: string): void => {
            expect(world.getterReads.count).toBe(0);
            const mine = listenerLayout(world);
            const theirs = listenerLayout(plain);
            expectIdentical(mine.rows, theirs.rows, `app listeners (order) after ${step}`);
            expect(theirs.foreign).toBe(0);
            if (registered && enabled) {
              expect(mine.foreign).toBeLessThanOrEqual(1);
            } else {
              // Nothing of ours left on the objects: descriptors exactly as they were, no listener;
              // but offMessage, while the transport holds a wrapper of ours it must translate.
              expect(mine.foreign).toBe(0);
              expectIdentical(snapshot(world.connector), original.connector, `connector after ${step}`);
              if (world.held.some((e) => !e.asItself)) {
                expectIdentical(snapshot(world.transport, OFF_MESSAGE), original.transportButOff, `transport after ${step}`);
              } else {
                expectIdentical(snapshot(world.transport), original.transport, `transport after ${step}`);
              }
              expectIdentical(snapshot(world.manager, EMITTER_STATE), original.manager, `manager after ${step}`);
            }
          };

          lifecycle(first);
          check(first);
          for (const [i, op] of ops.entries()) {
            if (op.op === 'offMessage') {
              // The documented limitation (see below) is skipped here, so that the property keeps
              // checking everything else.
              const entries = world.held.filter((e) => e.id === op.handler);
              const asWrapper = entries.some((e) => !e.asItself);
              const asItself = entries.some((e) => e.asItself);
              if (asWrapper && asItself) continue; // LIMITATION "held both as itself and as wrapper"
            }
            if (op.op === 'lifecycle') {
              lifecycle(op.what);
            } else {
              const expected = await apply(plain, op);
              const args = 'args' in op ? op.args : [];
              const before = structure(args);
              const actual = await apply(world, op);
              expectIdentical(actual, expected, `op ${i} (${op.op})`);
              expectIdentical(structure(args), before, `arguments of op ${i} (${op.op}) after it`);
            }
            check(`op ${i} (${op.op === 'lifecycle' ? op.what : op.op})`);
          }
          for (const b of [...ops.flatMap((o) => ('b' in o ? [o.b] : [])), ...handlerBehaviours]) {
            if (b.kind === 'thenable') expect(b.thenable.calls.count).toBe(0);
          }

          // Whatever recording threw was counted as internal_error and logged to diag, once each.
          const errors = diagEntries.slice(diagStart).filter((e) => e.level === 'error');
          expect(internalErrors(inst)).toBe(errors.length);
          for (const e of thrown) expect(errors.filter((entry) => entry.args.includes(e))).toHaveLength(1);
          inst.uninstrumentAll();
          check('final uninstrumentAll');
        },
      ),
      {
        numRuns: Number(process.env['FC_RUNS'] ?? 200),
        examples: [
          // A handler registered while instrumented, removed by the app after uninstrument / disable:
          // a bug until session 3, kept as a fixed example.
          ...(['uninstrument', 'disable'] as const).map((what): [Shape, Failure, Lifecycle, Op[], Behaviour[], Behaviour[]] => [
            'class',
            'none',
            'instrument',
            [
              { op: 'onMessage', handler: 0, b: { kind: 'return', value: undefined } },
              { op: 'lifecycle', what },
              { op: 'offMessage', handler: 0, b: { kind: 'return', value: undefined } },
              { op: 'deliver', args: ['peerA1b2c3d4e5f6', 'hello'], toTransport: true },
            ],
            [
              { kind: 'return', value: 1 },
              { kind: 'return', value: 2 },
              { kind: 'return', value: 3 },
            ],
            [
              { kind: 'return', value: 1 },
              { kind: 'return', value: 2 },
              { kind: 'return', value: 3 },
              { kind: 'return', value: 4 },
            ],
          ]),
        ],
      },
    );
  });

  it('never adds an unhandled rejection to connectToPeer or sendToPeer, and keeps the ones the app handles identical', async () => {
    const handling = fc.constantFrom('never', 'catch', 'await', 'late');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('connectToPeer' as const, 'sendToPeer' as const, 'disconnectFromPeer' as const),
        fc.constantFrom(...SHAPES),
        fc.constantFrom<Failure>('none', 'records', 'extractors'),
        throwable,
        fc.boolean(),
        handling,
        peerId,
        async (name, shape, failure, error, delay, how, peer) => {
          const run = async (instrumented: boolean) => {
            const w = makeWorld(shape, [], []);
            if (instrumented) {
              const { inst, options } = instrumentation(failure);
              inst.instrument({ connector: w.connector, transport: w.transport, manager: w.manager }, options);
            }
            w.next = { kind: 'reject', error, delay };
            let held: unknown;
            const events = await rejectionEvents(async () => {
              const owner = name === 'sendToPeer' ? w.transport : w.connector;
              const p = owner[name]!(peer, { type: 'ping', payload: new Uint8Array(3) }) as Promise<unknown>;
              held = p;
              if (how === 'catch') p.catch(() => undefined);
              if (how === 'await') await p.catch(() => undefined);
              if (how === 'late') {
                await macrotasks(3);
                p.catch(() => undefined);
              }
            });
            return events.map((e) => e.map((v) => (v === held ? 'held' : v)));
          };
          const wrapped = await run(true);
          const plain = await run(false);
          // Documented trade-off (method-wrapper.ts): the app gets its own promise back and we observe it
          // with a reaction of ours, so a rejection it never handles (or handles only after Node reported
          // it) may go unreported; nothing new is ever reported.
          if (how === 'never' || how === 'late') expect([plain, []]).toContainEqual(wrapped);
          else expectIdentical(wrapped, plain, 'unhandled-rejection events');
        },
      ),
      { numRuns: 80 },
    );
  });

  it('never then()s a non-native thenable the application returns or passes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SHAPES), fc.anything(), peerId, (shape, v, peer) => {
        const w = makeWorld(shape, [{ kind: 'return', value: undefined }], []);
        new P2pInstrumentation().instrument({ connector: w.connector, transport: w.transport, manager: w.manager });
        const returned = lazyThenable(v);
        const passed = lazyThenable(v);
        w.next = { kind: 'thenable', thenable: returned };
        // (Not expect(thenable): Jest's expect reads `then` itself.)
        expect(w.connector['connectToPeer']!(peer, passed) === returned).toBe(true);
        expect(w.transport['sendToPeer']!(peer, passed) === returned).toBe(true);
        w.next = { kind: 'return', value: undefined };
        w.transport['onMessage']!(handlerOf(w, 0));
        for (const h of w.handlers) h.call(w.transport, peer, passed);
        w.manager.emit('event', passed);
        expect(returned.calls.count).toBe(0);
        expect(passed.calls.count).toBe(0);
      }),
    );
  });

  it('does not consume stream data: readables, async iterables and iterators passed to send, handlers and listeners are read exactly as much as without instrumentation', async () => {
    const run = async (instrumented: boolean) => {
      const w = makeWorld('class', [{ kind: 'return', value: undefined }], [{ kind: 'return', value: undefined }]);
      if (instrumented) new P2pInstrumentation().instrument({ connector: w.connector, transport: w.transport, manager: w.manager });
      w.transport['onMessage']!(w.handler(0));
      w.manager.on('event', w.listener(0) as (...a: unknown[]) => void);
      const counts = { read: 0, asyncIterator: 0, iterator: 0, next: 0 };
      const readable = new Readable({ read() {} });
      readable.push(Buffer.from('chunk-1'));
      readable.push(Buffer.from('chunk-2'));
      const read = readable.read.bind(readable);
      readable.read = (...a: [number?]) => {
        counts.read++;
        return read(...a);
      };
      const asyncIterable = {
        [Symbol.asyncIterator]() {
          counts.asyncIterator++;
          return { next: async () => ({ done: true, value: undefined }) };
        },
      };
      const iterator = {
        next() {
          counts.next++;
          return { done: true, value: undefined };
        },
        [Symbol.iterator]() {
          counts.iterator++;
          return this;
        },
      };
      function* generator(): Generator<number> {
        counts.next++;
        yield 1;
      }
      const peer = 'peerA1b2c3d4e5f6';
      const streams = [readable, asyncIterable, iterator, generator(), { type: 'stream', payload: readable, data: asyncIterable }];
      for (const s of streams) {
        await outcome(() => w.transport['sendToPeer']!(peer, s));
        await outcome(() => w.connector['connectToPeer']!(peer, s));
        for (const h of w.handlers) await outcome(() => h.call(w.transport, peer, s));
        w.manager.emit('event', s);
        w.manager.emit('event', { type: 'resource_transfer_progress', peerId: peer, resourceType: 'blocks', bytes: s });
      }
      await macrotasks(3);
      const state = [readable.readableFlowing, readable.listenerCount('data'), readable.listenerCount('readable'), readable.readableLength];
      // The app can still read everything.
      readable.push(null);
      const chunks: Buffer[] = [];
      for await (const c of readable) chunks.push(c as Buffer);
      return { counts, state, data: Buffer.concat(chunks).toString() };
    };
    const plain = await run(false);
    const instrumented = await run(true);
    expect(instrumented).toEqual(plain);
    expect(instrumented.data).toBe('chunk-1chunk-2');
  });

  it('an exception inside recording never reaches the application: it is counted as internal_error and logged to diag', async () => {
    // Sabotages the monitor itself (every record method throws) and, separately, the extractors.
    for (const failure of ['records', 'extractors'] as const) {
      const { inst, thrown, options } = instrumentation(failure);
      const plain = makeWorld('class', [{ kind: 'return', value: 'handled' }], [{ kind: 'return', value: undefined }]);
      const w = makeWorld('class', [{ kind: 'return', value: 'handled' }], [{ kind: 'return', value: undefined }]);
      const before = internalErrors(inst);
      const diagStart = diagEntries.length;
      inst.instrument({ connector: w.connector, transport: w.transport, manager: w.manager }, options);
      const message = { type: 'ping', id: 'm1', payload: new Uint8Array(10) };
      const script: Exclude<Op, { op: 'lifecycle' }>[] = [
        { op: 'onMessage', handler: 0, b: { kind: 'return', value: undefined } },
        { op: 'listen', id: 0, how: 'on', event: 'event' },
        { op: 'connectToPeer', args: ['peerA1b2c3d4e5f6'], b: { kind: 'resolve', value: 'conn', delay: false }, recv: { self: true } },
        { op: 'connectToPeer', args: ['peerB1b2c3d4e5f6'], b: { kind: 'reject', error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), delay: true }, recv: { self: true } },
        { op: 'connectToPeer', args: ['peerC1b2c3d4e5f6'], b: { kind: 'throw', error: new Error('sync') }, recv: { self: true } },
        { op: 'sendToPeer', args: ['peerA1b2c3d4e5f6', message], b: { kind: 'resolve', value: undefined, delay: true }, recv: { self: true } },
        { op: 'sendToPeer', args: ['peerA1b2c3d4e5f6', message], b: { kind: 'reject', error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }), delay: false }, recv: { self: true } },
        { op: 'sendToPeer', args: ['peerA1b2c3d4e5f6', message], b: { kind: 'return', value: true }, recv: { self: true } },
        { op: 'deliver', args: ['peerB1b2c3d4e5f6', message], toTransport: true },
        { op: 'emit', event: 'event', args: [{ type: 'peer_discovered', peerId: 'peerB1b2c3d4e5f6', method: 'mdns', durationMs: 12 }] },
        { op: 'emit', event: 'event', args: [{ type: 'resource_sync_started', resourceType: 'blocks', peerId: 'peerB1b2c3d4e5f6' }] },
        { op: 'emit', event: 'event', args: [{ type: 'peer_link_up', from: 'peerA1b2c3d4e5f6', to: 'peerB1b2c3d4e5f6' }] },
        { op: 'disconnectFromPeer', args: ['peerA1b2c3d4e5f6'], b: { kind: 'return', value: undefined }, recv: { self: true } },
      ];
      for (const op of script) expectIdentical(await apply(w, op), await apply(plain, op), `${failure}: ${op.op}`);
      await macrotasks(2);
      const errors = diagEntries.slice(diagStart).filter((e) => e.level === 'error');
      expect(internalErrors(inst) - before).toBe(errors.length);
      for (const e of thrown) expect(errors.filter((entry) => entry.args.includes(e))).toHaveLength(1);
      // [wrappers] With the real transport and manager wrappers, recording happens and so fails.
      if (thrown.length > 0) expect(internalErrors(inst) - before).toBeGreaterThanOrEqual(thrown.length);
      inst.uninstrumentAll();
    }
  });

  it('instrumenting twice (instrument, instrumentX, repeated) records each call once, and one uninstrument restores', async () => {
    // [wrappers] Counts record-method calls: zero everywhere against stubs.
    const counted = (inst: P2pInstrumentation): Record<string, number> => {
      const counts: Record<string, number> = {};
      const proto = Object.getPrototypeOf(inst) as Record<string, Fn>;
      for (const name of Object.keys(RECORD_METHODS)) {
        counts[name] = 0;
        (inst as unknown as Record<string, Fn>)[name] = function (this: unknown, ...a: unknown[]) {
          counts[name]!++;
          return proto[name]!.apply(this, a);
        };
      }
      return counts;
    };
    const session = async (times: number) => {
      const inst = new P2pInstrumentation();
      const counts = counted(inst);
      const w = makeWorld('class', [{ kind: 'return', value: undefined }], []);
      const original = { connector: snapshot(w.connector), transport: snapshot(w.transport), transportButOff: snapshot(w.transport, OFF_MESSAGE) };
      for (let i = 0; i < times; i++) {
        inst.instrument({ connector: w.connector, transport: w.transport, manager: w.manager });
        inst.instrumentConnector(w.connector);
        inst.instrumentTransport(w.transport);
        inst.instrumentManager(w.manager);
      }
      expect(listenerLayout(w).foreign).toBeLessThanOrEqual(1);
      await apply(w, { op: 'onMessage', handler: 0, b: { kind: 'return', value: undefined } });
      await apply(w, { op: 'connectToPeer', args: ['peerA1b2c3d4e5f6'], b: { kind: 'resolve', value: 1, delay: false }, recv: { self: true } });
      await apply(w, { op: 'sendToPeer', args: ['peerA1b2c3d4e5f6', { type: 'ping', payload: new Uint8Array(4) }], b: { kind: 'resolve', value: 1, delay: false }, recv: { self: true } });
      await apply(w, { op: 'deliver', args: ['peerB1b2c3d4e5f6', { type: 'ping', payload: new Uint8Array(4) }], toTransport: true });
      w.manager.emit('event', { type: 'peer_discovered', peerId: 'peerB1b2c3d4e5f6', method: 'mdns' });
      await apply(w, { op: 'disconnectFromPeer', args: ['peerA1b2c3d4e5f6'], b: { kind: 'return', value: undefined }, recv: { self: true } });
      inst.uninstrument(w.connector);
      inst.uninstrument(w.transport);
      inst.uninstrument(w.manager);
      expectIdentical(snapshot(w.connector), original.connector, 'connector');
      // The handler registered while instrumented is held as our wrapper: offMessage stays ours
      // until the app removes it, and is restored exactly then.
      expectIdentical(snapshot(w.transport, OFF_MESSAGE), original.transportButOff, 'transport but offMessage');
      await apply(w, { op: 'offMessage', handler: 0, b: { kind: 'return', value: undefined } });
      expect(w.handlers).toHaveLength(0);
      expectIdentical(snapshot(w.transport), original.transport, 'transport');
      expect(listenerLayout(w).foreign).toBe(0);
      return counts;
    };
    const once = await session(1);
    expect(await session(3)).toEqual(once);
  });

  it('a second P2pInstrumentation on the same objects: uninstrumenting it leaves the first one working, and the objects behave the same', async () => {
    // [wrappers] Against stubs nothing is recorded, so the counts compare trivially. With the real
    // wrappers, this fails while method-wrapper.ts shares wrap records between instances (see the
    // report: unwrapMethod by B removes A's wrapper) unless each wrapper guards against it, as
    // transport.ts does (it leaves an already-wrapped transport alone).
    const countsOf = (inst: P2pInstrumentation) => {
      let n = 0;
      const proto = Object.getPrototypeOf(inst) as Record<string, Fn>;
      for (const name of Object.keys(RECORD_METHODS)) {
        (inst as unknown as Record<string, Fn>)[name] = function (this: unknown, ...a: unknown[]) {
          n++;
          return proto[name]!.apply(this, a);
        };
      }
      return () => n;
    };
    const exercise = async (w: World) => {
      await apply(w, { op: 'connectToPeer', args: ['peerA1b2c3d4e5f6'], b: { kind: 'resolve', value: 1, delay: false }, recv: { self: true } });
      await apply(w, { op: 'sendToPeer', args: ['peerA1b2c3d4e5f6', { type: 'ping', payload: new Uint8Array(4) }], b: { kind: 'resolve', value: 1, delay: false }, recv: { self: true } });
      w.manager.emit('event', { type: 'peer_discovered', peerId: 'peerB1b2c3d4e5f6', method: 'mdns' });
    };
    const w = makeWorld('class', [], []);
    const original = { connector: snapshot(w.connector), transport: snapshot(w.transport) };
    const a = new P2pInstrumentation();
    const countA = countsOf(a);
    a.instrument({ connector: w.connector, transport: w.transport, manager: w.manager });
    await exercise(w);
    const alone = countA();
    const b = new P2pInstrumentation();
    b.instrument({ connector: w.connector, transport: w.transport, manager: w.manager });
    b.uninstrumentAll();
    await exercise(w);
    expect(countA() - alone).toBe(alone);
    a.uninstrumentAll();
    expectIdentical(snapshot(w.connector), original.connector, 'connector');
    expectIdentical(snapshot(w.transport), original.transport, 'transport');
    expect(listenerLayout(w).foreign).toBe(0);
  });

  it('never throws from instrument/uninstrument/disable/enable, whatever the objects (frozen, sealed, partly unwrappable, without methods)', () => {
    const locked = Object.defineProperty({ connectToPeer: () => 1, sendToPeer: () => 1, onMessage: () => 1 }, 'disconnectFromPeer', { value: () => 1, writable: true, configurable: false });
    const candidates: object[] = [
      Object.freeze(
        new (class {
          connectToPeer() {}
          sendToPeer() {}
        })(),
      ),
      Object.seal({ connectToPeer() {}, disconnectFromPeer() {}, sendToPeer() {}, onMessage() {} }),
      Object.preventExtensions(new EventEmitter()),
      locked,
      {},
      Object.create(null) as object,
      new Proxy(
        {},
        {
          get: () => {
            throw new Error('proxy get');
          },
          has: () => {
            throw new Error('proxy has');
          },
        },
      ),
    ];
    for (const o of candidates) {
      const inst = new P2pInstrumentation();
      expect(() => inst.instrument({ connector: o, transport: o, manager: o })).not.toThrow();
      expect(() => inst.disable()).not.toThrow();
      expect(() => inst.enable()).not.toThrow();
      expect(() => inst.uninstrumentAll()).not.toThrow();
    }
  });

  // BUG (method-wrapper.ts:45-53, connector.ts wrap(), p2p-instrumentation.ts wrap()): a connector
  // whose connectToPeer can be wrapped but whose disconnectFromPeer is writable and non-configurable
  // (any own method of a sealed object is): wrapMethod throws on the second method instead of
  // returning false, instrumentConnector throws with connectToPeer already wrapped, and
  // P2pInstrumentation.wrap() catches it and keeps no handle: connectToPeer stays wrapped for
  // good, uninstrument() and disable() cannot undo it.
  it('a partly wrappable connector is restored exactly by uninstrument', () => {
    const locked = Object.defineProperty({ connectToPeer: () => 1 }, 'disconnectFromPeer', { value: () => 1, writable: true, configurable: false });
    const original = snapshot(locked);
    const inst = new P2pInstrumentation();
    inst.instrument({ connector: locked });
    inst.uninstrumentAll();
    expectIdentical(snapshot(locked), original, 'connector after uninstrumentAll');
  });

  // Was a bug: the transport held our wrapper, and the restored offMessage looked for the app's
  // handler itself. restore() now leaves offMessage wrapped (translating only) while the
  // transport holds wrappers of ours, and restores it exactly once the last one is removed.
  it('offMessage(handler) after uninstrument / disable removes a handler registered while instrumented, then offMessage is restored', async () => {
    for (const stop of ['uninstrument', 'disable'] as const) {
      const w = makeWorld('class', [{ kind: 'return', value: 'seen' }], []);
      const inst = new P2pInstrumentation();
      inst.instrument({ transport: w.transport });
      w.transport['onMessage']!(w.handler(0));
      if (stop === 'uninstrument') inst.uninstrument(w.transport);
      else inst.disable();
      w.transport['offMessage']!(w.handler(0));
      expect(w.handlers).toHaveLength(0);
      expect(Object.hasOwn(w.transport, 'offMessage')).toBe(false); // class shape: back on the prototype only
    }
  });

  // Was a bug: the handler → wrapper map outlived the registration, so a handler registered again
  // as itself (while disabled) was swapped for its old wrapper after enable(). Deregistration now
  // swaps only while a wrapped registration of that handler is outstanding.
  it('offMessage(handler) after enable() removes a handler registered while disabled that had been wrapped before', () => {
    const w = makeWorld('class', [{ kind: 'return', value: 'seen' }], []);
    const inst = new P2pInstrumentation();
    inst.instrument({ transport: w.transport });
    w.currentHandler = 0;
    w.transport['onMessage']!(w.handler(0));
    w.transport['offMessage']!(w.handler(0));
    expect(w.handlers).toHaveLength(0);
    inst.disable();
    w.transport['onMessage']!(w.handler(0));
    inst.enable();
    w.transport['offMessage']!(w.handler(0));
    expect(w.handlers).toHaveLength(0);
  });

  // LIMITATION (not a bug to fix, documented): the same handler registered once before and once
  // while instrumented is held once as itself and once as our wrapper. offMessage(handler) then
  // removes the wrapper, where the uninstrumented transport would remove the first registration:
  // the remaining registrations are called in a different order. Only with duplicate registrations
  // of one function; skipped in the property above.

  // BUG (method-wrapper.ts:90-102, reached through transport.ts's send wrapper): the wrapped
  // sendToPeer returns a new promise. A transport that handles its own send promise and callers
  // that fire and forget (`transport.sendToPeer(peer, msg)` without await, common for gossip) get
  // an 'unhandledRejection' that does not happen without instrumentation, which terminates Node
  // >= 15 by default. Fails today (transport.ts wraps sendToPeer); remove `.failing` once fixed.
  it('a send promise the transport handles itself, fired and forgotten by the app, causes no unhandled rejection', async () => {
    const run = async (instrumented: boolean) => {
      const transport = {
        sendToPeer(_peer: string, _message: unknown): Promise<void> {
          const p = Promise.reject(new Error('peer gone'));
          p.catch(() => undefined); // the transport logs its own send failures
          return p;
        },
        onMessage(_h: unknown) {},
      };
      if (instrumented) new P2pInstrumentation().instrument({ transport });
      return rejectionEvents(() => void transport.sendToPeer('peerA1b2c3d4e5f6', { type: 'ping', payload: new Uint8Array(1) }));
    };
    expect(await run(false)).toEqual([]);
    expect(await run(true)).toEqual([]);
  });
});
