import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { isWrapped, unwrapMethod, wrapMethod, type CallObserver, type Direction, type P2pMonitor } from '@p2p-otel/instrumentation';
import { ConnectionTracker, type IrohPathChange } from './connections.js';
import { isGetterWrapped, unwrapGetter, wrapGetter } from './getter-wrapper.js';
import type { HookErrorSink } from './hook-error.js';
import { classifyIrohError, irohErrorMessage } from './iroh-errors.js';
import type { EndpointAddrLike, IrohConnectionLike, IrohModuleLike } from './iroh-types.js';
import { StreamTracker } from './streams.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface IrohInstrumentationConfig extends InstrumentationConfig {
  /**
   * Where every observation goes (required): the monitor startP2pTelemetry() returns, or any
   * OtelP2pMonitor / P2pInstrumentation. RTT, loss, bytes and paths are read at its collections
   * (through addCollectionHook); a monitor without addCollectionHook gets them when `collect()`
   * is called.
   */
  monitor: P2pMonitor;
  /**
   * Report each connection's UDP bytes as p2p_bytes_sent_total / p2p_bytes_received_total
   * (default true). These are wire bytes: QUIC headers, handshakes, acknowledgements and
   * retransmissions included. Set false when the transport wrapper (instrumentTransport) or
   * recordMessage already counts the application's bytes to these peers, or both are summed.
   */
  bytes?: boolean;
  /**
   * Record connection lifecycles (default true): attempts (p2p_connection_attempts_total), state
   * transitions, handshake durations, connection durations and connection errors (failed dials,
   * abnormal closes). Set false beside the connector wrapper (instrumentConnector), which records
   * the same dials and closes: connections are still followed, for their streams, loss,
   * retransmissions, path distance, ALPN and (per the `rtt` and `bytes` options) RTT and bytes.
   * `connectTimeoutMs` has no effect then.
   */
  connections?: boolean;
  /**
   * Report each connection's selected-path RTT at collection as p2p_rtt_milliseconds and
   * p2p_ping_latency_milliseconds (default true). Set false when a P2pHealthChecker (or recordRtt /
   * recordPingLatency) already measures RTT to these peers, or both samples mix in one histogram.
   */
  rtt?: boolean;
  /**
   * Declare an outbound dial timed out after this many milliseconds (default: none, wait for
   * Iroh, whose dials time out after 30 s). The application's call is not touched: at the
   * deadline the attempt is recorded as `timeout`; if it connects later anyway, that shows as
   * `failed → connected` and the connection is followed as usual. Iroh's connect takes no signal
   * or timeout of its own.
   */
  connectTimeoutMs?: number;
  /**
   * How often (ms) open connections are checked for a close nobody told us about: closed by the
   * peer, timed out, or dropped by the application (default 1000; 0 checks only at collection).
   * One `closeReason()` call per connection, about 0.2 µs; the timer never keeps the process up.
   */
  closePollIntervalMs?: number;
  /** Called at a collection that sees a connection's selected path change kind (direct, relay). */
  onPathChange?: (change: IrohPathChange) => void;
  /** Milliseconds for durations (default: the monitor's `clock` if it has one, else performance). */
  clock?: () => number;
}

type Role = 'Endpoint' | 'Connection' | 'Connecting' | 'Incoming' | 'Accepting' | 'BiStream' | 'SendStream' | 'RecvStream';
const ROLES: readonly Role[] = ['Endpoint', 'Connection', 'Connecting', 'Incoming', 'Accepting', 'BiStream', 'SendStream', 'RecvStream'];
const SUPPORTED_VERSIONS = ['>=1 <2'];

/** One outbound dial, from connect()/connectPending() to its connection or error. */
interface Dial {
  readonly peer: string;
  readonly startedAt: number;
  /** Outcome recorded (a settled call, a deadline, an abandoned Connecting). */
  settled: boolean;
  /** The connectTimeoutMs deadline recorded a timeout before the call settled. */
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  /** connectPending: the Connecting's connect() was called. */
  claimed: boolean;
}

const performanceNow = (): number => performance.timeOrigin + performance.now();

/**
 * OpenTelemetry instrumentation for @number0/iroh 1.x: registered before the application requires
 * the module, it patches the prototypes of Endpoint, Connection, Connecting, Incoming, Accepting,
 * BiStream, SendStream and RecvStream, so every connection the application dials or accepts is
 * recorded into the configured P2pMonitor with no other code change. Wraps are invisible (same
 * `this`, arguments, return value and promise, same errors) and undone exactly by disable().
 *
 * For an ES-module application (no require hook) or a module loaded before registration, call
 * `instrumentModule(iroh)` with the module's exports, or `instrumentEndpoint(endpoint)` per endpoint.
 *
 * @example
 *   const telemetry = await startP2pTelemetry({ ... });
 *   registerInstrumentations({ instrumentations: [new IrohInstrumentation({ monitor: telemetry.monitor })] });
 *   const iroh = require('@number0/iroh'); // after registration
 */
export class IrohInstrumentation extends InstrumentationBase<IrohInstrumentationConfig> {
  // Assigned after super(): InstrumentationBase calls init() and enable() from its constructor.
  private connections!: ConnectionTracker;
  private streams!: StreamTracker;
  private now!: () => number;
  private onHookError!: HookErrorSink;
  private observers!: Record<Role, readonly (readonly [string, CallObserver<any>])[]>;
  /** Prototype methods and getters we wrapped, to unwrap on disable. */
  private patched!: { target: object; name: string; getter: boolean }[];
  /** Prototypes patchPrototype ran on per role (since the last unpatch): not looked at again. */
  private seenPrototypes!: Record<Role, WeakSet<object>>;
  /** Per role, the last prototype found in seenPrototypes (cleared with it). */
  private lastSeenPrototype!: Partial<Record<Role, object>>;
  /** Observers of the BiStream `send` and `recv` getters (built once: the getters run per stream). */
  private halfObservers!: Record<'send' | 'recv', (self: unknown, half: unknown) => void>;
  /** Endpoints given to instrumentEndpoint, weakly: an endpoint the application drops is let go. */
  private endpoints!: Set<WeakRef<object>>;
  /** Module exports given to instrumentModule, patched again on enable(). */
  private modules!: Set<object>;
  /** Methods we wrapped on each endpoint instance. */
  private wrappedEndpoints!: WeakMap<object, string[]>;
  private dials!: WeakMap<object, Dial>;
  private abandoned!: FinalizationRegistry<Dial>;
  private arrivals!: WeakMap<object, number>;
  private removeCollectionHook: (() => void) | undefined;
  /** Endpoint.prototype is patched: every endpoint is followed, not only instrumented ones. */
  private endpointPrototypePatched = false;

  constructor(config: IrohInstrumentationConfig) {
    const monitor = (config as Partial<IrohInstrumentationConfig> | undefined)?.monitor;
    if (monitor === null || typeof monitor !== 'object' || typeof monitor.recordConnectionAttempt !== 'function') {
      throw new TypeError('p2p-otel: new IrohInstrumentation({ monitor }) needs a P2pMonitor (for example the monitor startP2pTelemetry() returns)');
    }
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    const clock = config.clock ?? (monitor as { clock?: unknown }).clock;
    this.now = typeof clock === 'function' ? (clock as () => number) : performanceNow;
    this.onHookError = (error) => {
      try {
        // Counted where the monitor can (OtelP2pMonitor, P2pInstrumentation: internal_error in
        // p2p_monitor_rejected_records_total, with its own diag error); else only logged.
        const m = this.monitor as P2pMonitor & { reportInternalError?: (e: unknown) => void };
        if (typeof m.reportInternalError === 'function') m.reportInternalError(error);
        else this._diag.error('p2p-otel: internal error while observing @number0/iroh', error);
      } catch {
        // never into the application
      }
    };
    const config_ = (): IrohInstrumentationConfig => this._config;
    this.connections = new ConnectionTracker(
      {
        monitor: () => this.monitor,
        now: () => this.now(),
        onHookError: this.onHookError,
        debug: (message, ...args) => this._diag.debug(message, ...args),
        get bytes() {
          return config_().bytes !== false;
        },
        get connections() {
          return config_().connections !== false;
        },
        get rtt() {
          return config_().rtt !== false;
        },
        get onPathChange() {
          return config_().onPathChange;
        },
        sweep: () => this.streams?.sweep(),
      },
      config.closePollIntervalMs ?? 1000,
    );
    this.streams = new StreamTracker(() => this.monitor, this.onHookError);
    this.patched = [];
    this.seenPrototypes = newSeenPrototypes();
    this.lastSeenPrototype = {};
    this.halfObservers = {
      send: (self, half) => {
        this.streams.halfTaken(self, half);
        this.patchPrototypeOf('SendStream', half);
      },
      recv: (self, half) => {
        this.streams.halfTaken(self, half);
        this.patchPrototypeOf('RecvStream', half);
      },
    };
    this.endpoints = new Set();
    this.modules = new Set();
    this.wrappedEndpoints = new WeakMap();
    this.dials = new WeakMap();
    this.arrivals = new WeakMap();
    this.abandoned = new FinalizationRegistry((dial) => this.safely(() => this.dialAbandoned(dial)));
    this.observers = this.buildObservers();
    if (this.isEnabled()) this.attach();
  }

  /** The monitor of the current configuration. */
  get monitor(): P2pMonitor {
    return this._config.monitor;
  }

  /** Connections followed right now (bounded by the application's open connections). */
  get trackedConnections(): number {
    return this.connections?.size ?? 0;
  }

  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      '@number0/iroh',
      SUPPORTED_VERSIONS,
      (moduleExports: unknown) => {
        this.patchModule(moduleExports);
        return moduleExports;
      },
      () => this.unpatchPrototypes(),
    );
  }

  /**
   * Patches the classes of an @number0/iroh module already loaded (an ES-module import, or a
   * require that ran before this instrumentation was registered). Endpoints and connections that
   * exist already are covered from their next call on. Returns the exports unchanged.
   */
  instrumentModule<T>(moduleExports: T): T {
    if (moduleExports === null || (typeof moduleExports !== 'object' && typeof moduleExports !== 'function')) {
      throw new TypeError('p2p-otel: instrumentModule needs the exports of @number0/iroh');
    }
    this.modules.add(moduleExports as object);
    if (this.isEnabled()) this.patchModule(moduleExports);
    return moduleExports;
  }

  /**
   * Instruments one endpoint (its connect, connectPending, acceptNext and close, wrapped on the
   * instance) and, from the objects it returns, the classes of its connections and streams.
   * For endpoints of a module this instrumentation cannot patch (ES modules without the loader
   * hook). A no-op while the module's prototypes are patched. Returns the endpoint.
   */
  instrumentEndpoint<T extends object>(endpoint: T): T {
    if (endpoint === null || typeof endpoint !== 'object') {
      throw new TypeError(`p2p-otel: instrumentEndpoint needs an Iroh Endpoint (got ${endpoint === null ? 'null' : typeof endpoint})`);
    }
    for (const ref of this.endpoints) if (ref.deref() === undefined) this.endpoints.delete(ref);
    if (![...this.endpoints].some((ref) => ref.deref() === endpoint)) this.endpoints.add(new WeakRef(endpoint));
    if (this.isEnabled()) this.wrapEndpoint(endpoint);
    return endpoint;
  }

  /** Restores one endpoint given to instrumentEndpoint. */
  uninstrumentEndpoint(endpoint: object): void {
    for (const ref of this.endpoints) if (ref.deref() === endpoint || ref.deref() === undefined) this.endpoints.delete(ref);
    this.unwrapEndpoint(endpoint);
  }

  /**
   * Samples every open connection now (RTT, path, loss, retransmissions, bytes) and records the
   * closes found. Runs by itself at each collection of a monitor with addCollectionHook.
   */
  collect(): void {
    this.safely(() => this.connections?.collect());
  }

  override enable(): void {
    super.enable(); // re-patches the module if it was loaded
    if (this.connections === undefined) return; // from super(): the constructor attaches
    this.attach();
    for (const moduleExports of this.modules) this.patchModule(moduleExports);
    for (const ref of this.endpoints) {
      const endpoint = ref.deref();
      if (endpoint === undefined) this.endpoints.delete(ref);
      else this.wrapEndpoint(endpoint);
    }
  }

  override disable(): void {
    super.disable(); // unpatches the module (unpatchPrototypes)
    if (this.connections === undefined) return;
    this.unpatchPrototypes();
    for (const ref of this.endpoints) {
      const endpoint = ref.deref();
      if (endpoint !== undefined) this.unwrapEndpoint(endpoint);
    }
    this.removeCollectionHook?.();
    this.removeCollectionHook = undefined;
    this.connections.clear();
    this.streams.clear();
  }

  override setConfig(config: IrohInstrumentationConfig): void {
    const previous = this._config?.monitor;
    super.setConfig({ ...config, monitor: config?.monitor ?? previous });
    if (this.connections !== undefined && this.isEnabled() && this.monitor !== previous) {
      this.removeCollectionHook?.();
      this.removeCollectionHook = undefined;
      this.attach();
    }
  }

  // ---- patching ---------------------------------------------------------------------------------

  private attach(): void {
    if (this.removeCollectionHook !== undefined) return;
    const monitor = this.monitor as P2pMonitor & { addCollectionHook?: (hook: () => void) => () => void };
    if (typeof monitor.addCollectionHook !== 'function') return;
    try {
      this.removeCollectionHook = monitor.addCollectionHook(() => this.collect());
    } catch (e) {
      this.onHookError(e);
    }
  }

  private patchModule(moduleExports: unknown): void {
    if (moduleExports === null || (typeof moduleExports !== 'object' && typeof moduleExports !== 'function')) return;
    const classes = moduleExports as IrohModuleLike;
    for (const role of ROLES) {
      let proto: unknown;
      try {
        proto = classes[role]?.prototype;
      } catch (e) {
        this.onHookError(e);
      }
      if (proto !== null && typeof proto === 'object') this.patchPrototype(role, proto);
    }
  }

  /** The prototype of an object Iroh returned, patched for `role` if it is not yet (instrumentEndpoint). */
  private patchPrototypeOf(role: Role, instance: unknown): void {
    if (instance === null || typeof instance !== 'object') return;
    const proto: unknown = Object.getPrototypeOf(instance);
    // The per-stream path: the prototype seen last for the role costs a comparison, another one
    // this instance patched already a WeakSet lookup.
    if (proto === this.lastSeenPrototype[role]) return;
    if (proto === null || typeof proto !== 'object' || proto === Object.prototype) return;
    if (this.seenPrototypes[role].has(proto)) {
      this.lastSeenPrototype[role] = proto;
      return;
    }
    if (!this.isEnabled()) return;
    this.patchPrototype(role, proto);
  }

  private patchPrototype(role: Role, proto: object): void {
    // Seen (not looked at again until unpatched) only when every wrap on it is this instance's:
    // one another instance holds may be undone by its disable(), and is then taken over here.
    let ours = true;
    const mine = (name: string): boolean => this.patched.some((p) => p.target === proto && p.name === name);
    for (const [name, observer] of this.observers[role]) {
      if (isWrapped(proto, name)) {
        if (!mine(name)) ours = false; // another instance's: it observes
        continue;
      }
      if (!wrapMethod(proto, name, observer, this.onHookError)) continue;
      this.patched.push({ target: proto, name, getter: false });
      if (role === 'Endpoint') this.endpointPrototypePatched = true;
    }
    if (role === 'BiStream') {
      for (const side of ['send', 'recv'] as const) {
        if (isGetterWrapped(proto, side)) {
          if (!mine(side)) ours = false;
          continue;
        }
        if (wrapGetter(proto, side, this.halfObservers[side], this.onHookError)) this.patched.push({ target: proto, name: side, getter: true });
      }
    }
    if (ours) this.seenPrototypes[role].add(proto);
  }

  private unpatchPrototypes(): void {
    this.endpointPrototypePatched = false;
    if (this.seenPrototypes !== undefined) this.seenPrototypes = newSeenPrototypes();
    this.lastSeenPrototype = {};
    for (const { target, name, getter } of this.patched?.splice(0) ?? []) {
      if (getter) unwrapGetter(target, name);
      else unwrapMethod(target, name);
    }
  }

  private wrapEndpoint(endpoint: object): void {
    let wrapped = this.wrappedEndpoints.get(endpoint);
    if (wrapped === undefined) this.wrappedEndpoints.set(endpoint, (wrapped = []));
    const proto: unknown = Object.getPrototypeOf(endpoint);
    for (const [name, observer] of this.observers.Endpoint) {
      // A wrapper captures the method it replaces. While the prototype's method is ours, an
      // instance wrapper would call it and the dial would be counted twice: the prototype's
      // wrapper alone observes it. An instance wrapped first calls the native method directly,
      // so a prototype patched later never sees this endpoint's calls twice either.
      if (isWrapped(endpoint, name) || (typeof proto === 'object' && proto !== null && isWrapped(proto, name))) continue;
      if (wrapMethod(endpoint, name, observer, this.onHookError)) wrapped.push(name);
    }
  }

  private unwrapEndpoint(endpoint: object): void {
    const wrapped = this.wrappedEndpoints?.get(endpoint);
    if (wrapped === undefined) return;
    this.wrappedEndpoints.delete(endpoint);
    for (const name of wrapped) unwrapMethod(endpoint, name);
  }

  // ---- observers ----------------------------------------------------------------------------------

  private buildObservers(): Record<Role, readonly (readonly [string, CallObserver<any>])[]> {
    const self = (thisArg: unknown): unknown => thisArg;
    const dial: CallObserver<Dial> = {
      start: (_endpoint, args) => this.dialStarted(args[0]),
      end: (call, connection) => this.dialConnected(call, connection),
      fail: (call, error) => this.dialFailed(call, error),
    };
    const dialPending: CallObserver<Dial> = {
      start: (_endpoint, args) => this.dialStarted(args[0]),
      end: (call, connecting) => {
        if (typeof connecting !== 'object' || connecting === null) return;
        this.dials.set(connecting, call);
        this.abandoned.register(connecting, call, call);
        this.patchPrototypeOf('Connecting', connecting);
      },
      fail: (call, error) => this.dialFailed(call, error),
    };
    const connectingConnect: CallObserver<Dial | undefined> = {
      start: (connecting) => {
        const call = typeof connecting === 'object' && connecting !== null ? this.dials.get(connecting) : undefined;
        if (call !== undefined) {
          call.claimed = true;
          this.abandoned.unregister(call);
        }
        return call;
      },
      end: (call, connection) => {
        if (call !== undefined) this.dialConnected(call, connection);
      },
      fail: (call, error) => {
        if (call !== undefined) this.dialFailed(call, error);
      },
    };
    const acceptNext: CallObserver<void> = {
      start: () => undefined,
      end: (_, incoming) => {
        if (typeof incoming !== 'object' || incoming === null) return;
        this.arrivals.set(incoming, this.now());
        this.patchPrototypeOf('Incoming', incoming);
      },
    };
    // An Incoming or Accepting not seen coming from an observed acceptNext() belongs to an endpoint
    // that is not instrumented (instrumentEndpoint mode), or was pulled before patching: followed
    // (without a handshake duration) only while every endpoint is.
    const arrivalOf = (object: unknown): number | undefined => {
      const seen = typeof object === 'object' && object !== null ? this.arrivals.get(object) : undefined;
      return seen ?? (this.endpointPrototypePatched ? NaN : undefined);
    };
    const incomingAccept: CallObserver<number | undefined> = {
      start: (incoming) => arrivalOf(incoming),
      end: (arrived, accepting) => {
        if (arrived === undefined || typeof accepting !== 'object' || accepting === null) return;
        this.arrivals.set(accepting, arrived);
        this.patchPrototypeOf('Accepting', accepting);
      },
    };
    const acceptingConnect: CallObserver<number | undefined> = {
      start: (accepting) => arrivalOf(accepting),
      end: (arrived, connection) => {
        if (arrived !== undefined) this.accepted(Number.isNaN(arrived) ? undefined : arrived, connection);
      },
      fail: (_, error) => {
        // The peer is not known before the handshake completes: no per-peer series can carry it.
        this._diag.debug('iroh inbound handshake failed', { errorType: classifyIrohError(error) });
      },
    };
    const endpointClose: CallObserver<void> = {
      start: () => undefined,
      end: () => this.connections.poll(),
      fail: () => this.connections.poll(),
    };
    const stream = (kind: 'bi' | 'uni', direction: Direction): CallObserver<unknown> => ({
      start: self,
      end: (connection, opened) => {
        this.streams.opened(this.connections.entryOf(connection), kind, direction, opened);
        this.patchPrototypeOf(kind === 'bi' ? 'BiStream' : direction === 'outbound' ? 'SendStream' : 'RecvStream', opened);
      },
      fail: (connection) => this.connections.check(connection),
    });
    const connectionClose: CallObserver<unknown> = { start: self, end: (connection) => this.connections.check(connection) };
    const connectionClosed: CallObserver<unknown> = {
      start: self,
      end: (connection, reason) => this.connections.closed(connection, typeof reason === 'string' ? reason : String(reason)),
      fail: (connection) => this.connections.check(connection),
    };
    const half = (side: 'send' | 'recv'): CallObserver<unknown> => ({
      start: self,
      end: (s) => this.streams.halfDone(s, side),
      fail: (s) => this.streams.halfDone(s, side),
    });
    // finish(), reset() and stop() end their half whatever they resolve or reject with: the half is
    // done when they are called (no reaction on their promise: the per-stream path).
    const ending = (side: 'send' | 'recv'): CallObserver<void> => ({ start: (s) => this.streams.halfDone(s, side) });
    const failOnly = (side: 'send' | 'recv'): CallObserver<unknown> => ({ start: self, fail: (s) => this.streams.halfDone(s, side) });
    const read: CallObserver<unknown> = {
      start: self,
      end: (s, chunk, args) => {
        // read() resolves with no bytes at the end of the stream (or for a zero limit).
        if (Array.isArray(chunk) && chunk.length === 0 && typeof args[0] === 'number' && args[0] > 0) this.streams.halfDone(s, 'recv');
      },
      fail: (s) => this.streams.halfDone(s, 'recv'),
    };
    return {
      Endpoint: [
        ['connect', dial],
        ['connectPending', dialPending],
        ['acceptNext', acceptNext],
        ['close', endpointClose],
      ],
      Connecting: [['connect', connectingConnect]],
      Incoming: [['accept', incomingAccept]],
      Accepting: [['connect', acceptingConnect]],
      Connection: [
        ['openBi', stream('bi', 'outbound')],
        ['openUni', stream('uni', 'outbound')],
        ['acceptBi', stream('bi', 'inbound')],
        ['acceptUni', stream('uni', 'inbound')],
        ['close', connectionClose],
        ['closed', connectionClosed],
      ],
      BiStream: [],
      SendStream: [
        ['finish', ending('send')],
        ['reset', ending('send')],
        ['stopped', half('send')],
      ],
      RecvStream: [
        ['readToEnd', half('recv')],
        ['stop', ending('recv')],
        ['readExact', failOnly('recv')],
        ['read', read],
      ],
    };
  }

  // ---- dials and accepts ----------------------------------------------------------------------------

  private dialStarted(addr: unknown): Dial {
    const call: Dial = { peer: peerOfAddr(addr, this.onHookError), startedAt: this.now(), settled: false, timedOut: false, timer: undefined, claimed: false };
    if (!this.recordsConnections) return call; // no deadline either: nothing to record at it
    this.monitor.recordConnectionStateChange(call.peer, 'disconnected', 'connecting');
    const deadline = this._config.connectTimeoutMs;
    if (typeof deadline === 'number' && deadline > 0 && Number.isFinite(deadline)) {
      call.timer = setTimeout(() => this.safely(() => this.dialDeadline(call)), deadline);
      call.timer.unref();
    }
    return call;
  }

  private dialDeadline(call: Dial): void {
    call.timer = undefined;
    if (call.settled) return;
    call.settled = true;
    call.timedOut = true;
    const monitor = this.monitor;
    monitor.recordConnectionStateChange(call.peer, 'connecting', 'failed');
    monitor.recordConnectionAttempt(call.peer, 'timeout');
    monitor.recordError(call.peer, 'timeout');
  }

  private dialConnected(call: Dial, connection: unknown): void {
    if (call.timer !== undefined) clearTimeout(call.timer);
    const late = call.timedOut;
    if (call.settled && !late) return;
    call.settled = true;
    const monitor = this.monitor;
    const peer = call.peer !== '' ? call.peer : remotePeer(connection, this.onHookError);
    if (this.recordsConnections) {
      // A dial the deadline declared timed out that connects after all: failed → connected.
      monitor.recordConnectionStateChange(peer, late ? 'failed' : 'connecting', 'connected');
      if (!late) monitor.recordConnectionAttempt(peer, 'success');
      monitor.recordHandshake(peer, Math.max(0, this.now() - call.startedAt));
    }
    this.connections.opened(connection, 'outbound', peer);
    this.patchPrototypeOf('Connection', connection);
  }

  private dialFailed(call: Dial, error: unknown): void {
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.settled) return; // the deadline recorded it
    call.settled = true;
    const type = classifyIrohError(error);
    if (this.recordsConnections) {
      const monitor = this.monitor;
      monitor.recordConnectionStateChange(call.peer, 'connecting', 'failed');
      monitor.recordConnectionAttempt(call.peer, type === 'timeout' ? 'timeout' : 'failed');
      monitor.recordError(call.peer, type);
    }
    this._diag.debug('iroh dial failed', { errorType: type, message: errorMessage(error) });
  }

  /** A Connecting from connectPending was garbage-collected before its connect() was called. */
  private dialAbandoned(call: Dial): void {
    if (call.settled || call.claimed) return;
    call.settled = true;
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (this.recordsConnections) this.monitor.recordConnectionStateChange(call.peer, 'connecting', 'disconnected');
  }

  private accepted(arrived: number | undefined, connection: unknown): void {
    if (this.connections.entryOf(connection) !== undefined) return;
    const peer = remotePeer(connection, this.onHookError);
    if (this.recordsConnections) {
      const monitor = this.monitor;
      // The peer is known once the handshake is done: both transitions are recorded then.
      monitor.recordConnectionStateChange(peer, 'disconnected', 'connecting');
      monitor.recordConnectionStateChange(peer, 'connecting', 'connected');
      if (arrived !== undefined) monitor.recordHandshake(peer, Math.max(0, this.now() - arrived));
    }
    this.connections.opened(connection, 'inbound', peer);
    this.patchPrototypeOf('Connection', connection);
  }

  /** The `connections` option: lifecycles are recorded (not only followed). */
  private get recordsConnections(): boolean {
    return this._config.connections !== false;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onHookError?.(e);
    }
  }
}

function newSeenPrototypes(): Record<Role, WeakSet<object>> {
  const seen = {} as Record<Role, WeakSet<object>>;
  for (const role of ROLES) seen[role] = new WeakSet();
  return seen;
}

/** The dialled node id from an EndpointAddr, '' when it has none (the monitor counts it as invalid). */
function peerOfAddr(addr: unknown, onHookError: HookErrorSink): string {
  if (addr === null || typeof addr !== 'object' || typeof (addr as EndpointAddrLike).id !== 'function') return '';
  try {
    return String((addr as EndpointAddrLike).id());
  } catch (e) {
    onHookError(e);
    return '';
  }
}

function remotePeer(connection: unknown, onHookError: HookErrorSink): string {
  if (connection === null || typeof connection !== 'object') return '';
  try {
    return String((connection as IrohConnectionLike).remoteId());
  } catch (e) {
    onHookError(e);
    return '';
  }
}

function errorMessage(error: unknown): string {
  try {
    const message = (error as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? irohErrorMessage(message).split('\n').pop()!.trim() : String(error);
  } catch {
    return 'unreadable error';
  }
}
