/**
 * Faults inside what the instrumentation observes, end to end: startP2pTelemetry, the objects
 * instrumented through `telemetry.monitor`, a diag logger registered as an application would, and
 * a real scrape of `p2p_monitor_rejected_records_total`. Each fault must show up as diag messages
 * and a moving counter, never as an exception in, or a change of, the application's calls.
 *
 * Already covered elsewhere, not repeated here: record methods that throw and throwing transport
 * extractors against uninstrumented twins (invisibility.test.ts), throwing connector peerId and
 * onClose (connector.test.ts), throwing options.queue and hostile queue events (transport.test.ts),
 * malformed and hostile manager events, throwing mapEvent (manager.test.ts); hostile objects and
 * options of every kind, generated, without the export (fuzz/instrument.test.ts). New here: the
 * counter on the wire, and breakers and pools that misbehave, real (opossum, generic-pool) ones
 * included.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { METRICS, type P2pInstrumentation } from '@p2p-otel/instrumentation';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { createPool } from 'generic-pool';
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { parsePrometheusText } from '../support/prometheus-text';

const REJECTED = `${METRICS.rejectedRecords.name}`;
const PEER = 'peerA1b2c3d4e5f6';

let telemetry: P2pTelemetry<P2pInstrumentation> | undefined;
const diagLines: { level: string; message: string; args: unknown[] }[] = [];

beforeEach(async () => {
  diagLines.length = 0;
  const at =
    (level: string) =>
    (message: string, ...args: unknown[]) =>
      void diagLines.push({ level, message, args });
  diag.setLogger({ error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('verbose') }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  telemetry = await startP2pTelemetry({ prometheus: { port: 0 }, registerGlobal: false, monitor: { peerId: { mode: 'full' } } });
});

afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  diag.disable();
});

/** p2p_monitor_rejected_records_total by reason, from a real scrape. */
async function rejected(): Promise<Record<string, number>> {
  const response = await fetch(telemetry!.metricsUrl!);
  expect(response.status).toBe(200);
  const family = parsePrometheusText(await response.text()).get(REJECTED);
  return Object.fromEntries((family?.samples ?? []).map((s) => [s.labels['reason'], s.value]));
}

/**
 * The errors logged as internal errors. The monitor logs through its diag component logger, which
 * puts its namespace first: ('@p2p-otel/instrumentation', 'p2p-otel: internal error ...', error).
 */
const internalErrorsLogged = (): unknown[] =>
  diagLines.filter((l) => l.level === 'error' && [l.message, ...l.args].some((a) => typeof a === 'string' && a.includes('internal error'))).map((l) => l.args.find((a) => a instanceof Error));

test('transport extractors and connector options that throw: each failure counted as internal_error and logged with its error; sends, handlers and dials unchanged', async () => {
  const boom = (what: string) => (): never => {
    throw new Error(`app extractor ${what} failed`);
  };
  const handled: unknown[] = [];
  const handlers: ((...a: unknown[]) => unknown)[] = [];
  const transport = {
    sendToPeer: async (_peer: string, message: { n: number }) => ({ delivered: message.n }),
    onMessage: (h: (...a: unknown[]) => unknown) => void handlers.push(h),
  };
  const connection = { closed: () => new Promise(() => undefined) };
  const connector = { connectToPeer: async (_peer: string) => connection };
  const before = await rejected();
  telemetry!.monitor.instrument(
    { transport, connector },
    {
      transport: { peerId: boom('peerId'), messageType: boom('messageType'), size: boom('size') },
      connector: { peerId: boom('connector peerId'), onClose: boom('onClose') },
    },
  );
  transport.onMessage((peer: unknown, message: unknown) => void handled.push([peer, message]));

  // The application's view: the same values, the same promise settlement, the handler called.
  await expect(transport.sendToPeer(PEER, { n: 1 })).resolves.toEqual({ delivered: 1 });
  await expect(transport.sendToPeer(PEER, { n: 2 })).resolves.toEqual({ delivered: 2 });
  expect(handlers).toHaveLength(1);
  expect(handlers[0]!(PEER, { n: 3 })).toBeUndefined();
  expect(handled).toEqual([[PEER, { n: 3 }]]);
  await expect(connector.connectToPeer(PEER)).resolves.toBe(connection);
  await new Promise((resolve) => setImmediate(resolve));

  const after = await rejected();
  const errors = internalErrorsLogged();
  // Two sends and one receive, each failing at its first extractor (peerId); one dial whose
  // peerId extractor failed (nothing recorded for it, so onClose is never reached).
  expect(after['internal_error']! - before['internal_error']!).toBe(4);
  expect(errors.map((e) => (e as Error).message)).toEqual(['app extractor peerId failed', 'app extractor peerId failed', 'app extractor peerId failed', 'app extractor connector peerId failed']);
});

test('a real opossum breaker and misbehaving breakers (on() that throws, throwing state getters, odd events, off() that throws): breakers behave the same, failures counted and logged', async () => {
  // A real breaker: its results must not change under observation.
  let calls = 0;
  const real = new CircuitBreaker(
    async (fail: boolean) => {
      calls++;
      if (fail) throw new Error('refused');
      return 'ok';
    },
    { errorThresholdPercentage: 1, volumeThreshold: 1, resetTimeout: 60_000 },
  );
  // One whose on() refuses the 'failure' listener and whose state getters throw.
  class ThrowingBreaker extends EventEmitter {
    override on(event: string | symbol, listener: (...a: unknown[]) => void): this {
      if (event === 'failure') throw new Error('on(failure) refused');
      return super.on(event, listener);
    }
    get opened(): boolean {
      throw new Error('opened getter failed');
    }
  }
  const throwing = new ThrowingBreaker();
  // One that refuses to let its listeners go.
  class ClingyBreaker extends EventEmitter {
    override removeListener(): this {
      throw new Error('removeListener refused');
    }
    override off(): this {
      throw new Error('off refused');
    }
  }
  const clingy = new ClingyBreaker();
  const connector = {
    connectToPeer: async (peer: string) => peer,
    breakers: new Map<string, unknown>([
      ['peer-real', real],
      ['peer-throwing', throwing],
      ['peer-clingy', clingy],
    ]),
  };
  const EVENTS = ['open', 'halfOpen', 'close', 'failure'];
  const listeners = (b: EventEmitter): number[] => EVENTS.map((e) => b.listenerCount(e));
  const realListeners = listeners(real);
  const before = await rejected();
  telemetry!.monitor.instrument({ connector });

  await expect(real.fire(false)).resolves.toBe('ok');
  await expect(real.fire(true)).rejects.toThrow('refused');
  await expect(real.fire(false)).rejects.toThrow(/Breaker is open/); // opened, as without us
  expect(calls).toBe(2);
  // Odd events: arguments nobody expects, events nobody listens to, states twice.
  for (const b of [throwing, clingy]) {
    expect(b.emit('open', { weird: true }, 42)).toBe(true);
    expect(b.emit('halfOpen', undefined)).toBe(true);
    expect(b.emit('halfOpen', null)).toBe(true);
    expect(b.emit('close', new Error('not a state'))).toBe(true);
    expect(b.emit('failure', Symbol('odd'))).toBe(b === clingy); // the throwing one refused that listener
    expect(b.emit('snapshot', {})).toBe(false);
  }
  const during = await rejected();
  // One refused on('failure') and one throwing `opened` getter, read when observation starts.
  expect(during['internal_error']! - before['internal_error']!).toBe(2);
  expect(
    internalErrorsLogged()
      .map((e) => (e as Error).message)
      .sort(),
  ).toEqual(['on(failure) refused', 'opened getter failed']);

  await telemetry!.shutdown(); // restores: clingy refuses, its four listeners stay, inert
  expect(listeners(real)).toEqual(realListeners);
  expect(listeners(throwing)).toEqual([0, 0, 0, 0]);
  expect(listeners(clingy)).toEqual([1, 1, 1, 1]);
  const monitor = telemetry!.monitor;
  const counts = JSON.stringify(monitor.rejectedRecords());
  clingy.emit('open');
  clingy.emit('failure');
  expect(JSON.stringify(monitor.rejectedRecords())).toBe(counts);
  real.shutdown();
});

test('misbehaving pools (throwing getters, nonsense sizes, a throwing isBorrowedResource) and a real generic-pool: acquire unchanged, collection never fails, bad numbers rejected', async () => {
  const realPool = createPool({ create: async () => ({ id: Math.random() }), destroy: async () => undefined }, { max: 2 });
  const weird = {
    acquire: () => 'not a promise',
    release: () => undefined,
    isBorrowedResource: () => {
      throw new Error('isBorrowedResource failed');
    },
    get size(): number {
      throw new Error('size getter failed');
    },
    available: 1,
  };
  const nonsense = { acquire: async () => ({}), release: () => undefined, size: -3, available: NaN };
  const pools = [realPool, weird, nonsense];
  const connector = { connectToPeer: async (_peer: string) => ({ closed: () => new Promise(() => undefined) }), pools: new Map(pools.map((p, i) => [`pool-${i}`, p])) };
  const before = await rejected();
  telemetry!.monitor.instrument({ connector });

  const resource = await realPool.acquire();
  expect(realPool.isBorrowedResource(resource)).toBe(true);
  await realPool.release(resource);
  expect(weird.acquire()).toBe('not a promise');
  await connector.connectToPeer(PEER); // asks each pool whether the connection is theirs: one throws

  const after = await rejected(); // a scrape: the collection hook reads every pool's size
  const afterAgain = await rejected();
  // Per collection: the throwing size getter is an internal_error; -3 and NaN never reach the gauges.
  expect(after['internal_error']! - before['internal_error']!).toBeGreaterThanOrEqual(2); // isBorrowedResource + size getter
  expect(afterAgain['internal_error']! - after['internal_error']!).toBe(1); // the size getter, once per collection
  expect(internalErrorsLogged().map((e) => (e as Error).message)).toEqual(expect.arrayContaining(['isBorrowedResource failed', 'size getter failed']));
  // The nonsense pool (size -3, idle NaN) is counted as rejected at each collection and left out:
  // the gauges show the real pool (one resource, idle).
  expect(afterAgain['negative']! - after['negative']!).toBe(1);
  const scrape = parsePrometheusText(await (await fetch(telemetry!.metricsUrl!)).text());
  const gauge = (name: string): number | undefined => scrape.get(name)?.samples[0]?.value;
  expect([gauge(METRICS.connectionsPooled.name), gauge(METRICS.connectionsIdle.name), gauge(METRICS.poolUtilization.name)]).toEqual([1, 1, 0]);
  await realPool.drain();
  await realPool.clear();
});

test('a manager emitting malformed events: the application’s listeners get every event, bad ones counted on the wire, nothing logged as an internal error', async () => {
  const manager = new EventEmitter();
  const seen: unknown[] = [];
  manager.on('event', (e: unknown) => void seen.push(e));
  const before = await rejected();
  telemetry!.monitor.instrument({ manager });
  const events: unknown[] = [
    null,
    42,
    'peer_discovered',
    { type: 17 },
    { type: 'peer_discovered', peerId: 12345, method: 'mdns' },
    { type: 'peer_discovered', peerId: '10.0.0.1:4433', method: 'carrier-pigeon' },
    { type: 'resource_sync_completed', resourceType: 'blob', durationMs: -5 },
    { type: 'topology', adjacency: 'not a map' },
    { type: 'something_new', whatever: true },
  ];
  for (const e of events) expect(manager.emit('event', e)).toBe(true);
  expect(seen).toEqual(events);
  const after = await rejected();
  const delta = (reason: string): number => after[reason]! - before[reason]!;
  expect({
    unknown_value: delta('unknown_value'),
    invalid_peer_id: delta('invalid_peer_id'),
    peer_id_is_address: delta('peer_id_is_address'),
    negative: delta('negative'),
    internal_error: delta('internal_error'),
  }).toEqual({
    unknown_value: 6, // null, 42, a string, a non-string type, carrier-pigeon, the adjacency
    invalid_peer_id: 1,
    peer_id_is_address: 1,
    negative: 1,
    internal_error: 0,
  });
  expect(internalErrorsLogged()).toEqual([]);
  expect(diagLines.some((l) => l.level === 'warn' && [l.message, ...l.args].some((a) => typeof a === 'string' && a.includes('rejected a record')))).toBe(true);
});
