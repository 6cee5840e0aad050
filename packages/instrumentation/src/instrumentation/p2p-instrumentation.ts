import { OtelP2pMonitor, type P2pMonitorConfig } from '../monitor/otel-monitor.js';
import type { InstrumentationContext, Instrumented } from './context.js';
import { observeCircuitBreaker as observeBreaker, type CircuitBreakerLike } from './circuit-breaker.js';
import { instrumentConnector, type ConnectorOptions } from './connector.js';
import { instrumentManager, type ManagerOptions } from './manager.js';
import { instrumentTransport, type TransportOptions } from './transport.js';

export type P2pInstrumentationConfig = P2pMonitorConfig;

/** The application's P2P objects, any of which may be left out. */
export interface P2pObjects {
  connector?: object;
  transport?: object;
  manager?: object;
}

export interface P2pObjectOptions {
  connector?: ConnectorOptions;
  transport?: TransportOptions;
  manager?: ManagerOptions;
}

type Kind = keyof P2pObjects | 'breaker';
const INSTRUMENTERS: { readonly [K in Kind]: (target: object, options: never, ctx: InstrumentationContext) => Instrumented } = {
  connector: instrumentConnector,
  transport: instrumentTransport,
  manager: instrumentManager,
  breaker: (target, options: { peerId: string }, ctx) => observeBreaker(options.peerId, target as CircuitBreakerLike, ctx),
};
const OBJECT_KINDS: readonly (keyof P2pObjects)[] = ['connector', 'transport', 'manager'];

/**
 * The monitor plus automatic instrumentation: hand it the application's connector, transport and
 * P2P manager and every metric flows without the application calling a record method. Works with
 * registerInstrumentations (setMeterProvider, enable, disable); disable() restores every wrapped
 * object exactly, enable() wraps them again.
 *
 * @example
 *   const p2p = new P2pInstrumentation({ localPeerId: node.id });
 *   p2p.instrument({ connector, transport, manager });
 */
export class P2pInstrumentation extends OtelP2pMonitor {
  // Assigned after super(), which may call enable() before fields exist. Per object, per kind: one
  // object may be both the connector and the transport (a node class with connectToPeer and
  // sendToPeer), and is then instrumented as both.
  private objects!: Map<object, Map<Kind, { options: object; handle: Instrumented | undefined }>>;
  private context!: InstrumentationContext;

  constructor(config: P2pInstrumentationConfig = {}) {
    super(config);
    this.objects = new Map();
    this.context = {
      monitor: this,
      now: this.clock,
      onHookError: (e) => this.internalError(e),
      reject: (reason) => this.rejectInput(reason),
      addCollectionHook: (hook) => this.addCollectionHook(hook),
      createMessageStage: (direction) => this.createMessageStage(direction),
    };
  }

  /** Instruments each object given; returns this for chaining. */
  instrument(objects: P2pObjects, options: P2pObjectOptions = {}): this {
    for (const kind of OBJECT_KINDS) {
      const target = objects[kind];
      if (target !== undefined) this.add(kind, target, options[kind] ?? {});
    }
    return this;
  }

  /** Wraps the connector's connect and disconnect methods, its breakers and its pool. */
  instrumentConnector<T extends object>(connector: T, options: ConnectorOptions = {}): T {
    return this.add('connector', connector, options);
  }

  /** Wraps the transport's send method and incoming-message handler registration. */
  instrumentTransport<T extends object>(transport: T, options: TransportOptions = {}): T {
    return this.add('transport', transport, options);
  }

  /** Subscribes to the manager's P2P event stream. */
  instrumentManager<T extends object>(manager: T, options: ManagerOptions = {}): T {
    return this.add('manager', manager, options);
  }

  /**
   * Follows a circuit breaker no instrumented connector holds (opossum, or anything emitting
   * open/halfOpen/close/failure). Like the instrumented objects, it is let go on disable() and
   * followed again on enable(); uninstrument(breaker) stops it for good.
   */
  observeCircuitBreaker<T extends CircuitBreakerLike>(peerId: string, breaker: T): T {
    return this.add('breaker', breaker, { peerId });
  }

  /** Restores `target` as it was before it was instrumented (a no-op for an unknown object). */
  uninstrument(target: object): void {
    const kinds = this.objects?.get(target);
    if (kinds === undefined) return;
    this.objects.delete(target);
    for (const entry of [...kinds.values()].reverse()) this.restore(entry.handle); // last wrapped, first restored
  }

  /** Restores every instrumented object. */
  uninstrumentAll(): void {
    for (const target of [...(this.objects?.keys() ?? [])]) this.uninstrument(target);
  }

  override enable(): void {
    super.enable();
    for (const [target, kinds] of this.objects ?? []) {
      for (const [kind, entry] of kinds) if (entry.handle === undefined) entry.handle = this.wrap(kind, target, entry.options);
    }
  }

  override disable(): void {
    // Restore first: restoring records what it settles (pending acks, emptied buffers, ended
    // transfers), which the record methods would ignore once disabled.
    for (const kinds of this.objects?.values() ?? []) {
      for (const entry of [...kinds.values()].reverse()) {
        this.restore(entry.handle);
        entry.handle = undefined;
      }
    }
    super.disable();
  }

  private add<T extends object>(kind: Kind, target: T, options: object): T {
    if (target === null || typeof target !== 'object') {
      throw new TypeError(`p2p-otel: instrument${kind[0]!.toUpperCase()}${kind.slice(1)} needs an object (got ${target === null ? 'null' : typeof target})`);
    }
    let kinds = this.objects.get(target);
    if (kinds === undefined) this.objects.set(target, (kinds = new Map()));
    if (kinds.has(kind)) return target; // idempotent
    kinds.set(kind, { options, handle: this.isDisabled ? undefined : this.wrap(kind, target, options) });
    return target;
  }

  private wrap(kind: Kind, target: object, options: object): Instrumented | undefined {
    try {
      return INSTRUMENTERS[kind](target, options as never, this.context);
    } catch (e) {
      this.internalError(e);
      return undefined;
    }
  }

  private restore(handle: Instrumented | undefined): void {
    try {
      handle?.restore();
    } catch (e) {
      this.internalError(e);
    }
  }
}
