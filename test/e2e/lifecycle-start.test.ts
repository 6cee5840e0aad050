/**
 * Starting, stopping and starting again in one process (Prometheus and `none`, which run inside
 * Jest). What startP2pTelemetry does when called twice, as documented in docs/reliability.md:
 * - each call is an independent telemetry (its own monitor, MeterProvider, readers); a call while
 *   an earlier one still runs says so at diag info level; only the first registers the global provider
 *   (config.test.ts covers that registration and its warning);
 * - a second Prometheus endpoint on the port the first holds rejects with an Error naming the
 *   address, and leaves the first one serving;
 * - after shutdown(), starting again is a clean restart.
 * And what shutdown() does to the application's objects: those wrapped through
 * `telemetry.monitor.instrument()` are restored exactly (disable() restoring is covered by the
 * instrumentation's own tests: invisibility.test.ts, connector/transport/manager tests); a
 * monitor the application passed in is its own, and is left enabled.
 */
import { diag, DiagLogLevel, metrics } from '@opentelemetry/api';
import { METRICS, OtelP2pMonitor, type P2pInstrumentation, instrumentName } from '@p2p-otel/instrumentation';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { EventEmitter } from 'node:events';
import { httpGet } from '../support/http';

const SENT = `${instrumentName(METRICS.messagesSent)}_total`;
const started: P2pTelemetry<OtelP2pMonitor>[] = [];
const warnings: string[] = [];

beforeEach(() => {
  warnings.length = 0;
  const ignore = (): void => undefined;
  const keep = (m: string): void => void warnings.push(m);
  diag.setLogger({ error: ignore, warn: keep, info: keep, debug: ignore, verbose: ignore }, { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
  diag.disable();
});

async function start(...args: Parameters<typeof startP2pTelemetry>): Promise<P2pTelemetry<OtelP2pMonitor>> {
  const t = (await startP2pTelemetry(...args)) as P2pTelemetry<OtelP2pMonitor>;
  started.push(t);
  return t;
}

/** messages_sent for one peer on a scrape, 0 when absent. */
async function sentOn(url: string, peer: string): Promise<number> {
  const line = (await httpGet(url)).body.split('\n').find((l) => l.startsWith(SENT) && l.includes(`peer_id="${peer.slice(0, 10)}"`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('twice, concurrently: two independent telemetries, a diag message for the second, the global provider stays the first', async () => {
  const first = await start({ prometheus: { port: 0 } });
  expect(warnings.filter((w) => w.includes('still running'))).toEqual([]);
  const second = await start({ prometheus: { port: 0 } });
  expect(warnings.filter((w) => w.includes('1 earlier telemetry instance is still running'))).toHaveLength(1);
  expect(second.monitor).not.toBe(first.monitor);
  expect(metrics.getMeterProvider()).toBe(first.meterProvider);

  first.monitor.recordMessage('peerA1b2c3d4e5f6', 'ping', 10);
  second.monitor.recordMessage('peerB1b2c3d4e5f6', 'ping', 10);
  second.monitor.recordMessage('peerB1b2c3d4e5f6', 'ping', 10);
  expect(await sentOn(first.metricsUrl!, 'peerA1b2c3d4e5f6')).toBe(1);
  expect(await sentOn(first.metricsUrl!, 'peerB1b2c3d4e5f6')).toBe(0);
  expect(await sentOn(second.metricsUrl!, 'peerB1b2c3d4e5f6')).toBe(2);

  await first.shutdown(); // the other keeps going
  second.monitor.recordMessage('peerB1b2c3d4e5f6', 'ping', 10);
  expect(await sentOn(second.metricsUrl!, 'peerB1b2c3d4e5f6')).toBe(3);
});

test('twice on one port: the second rejects with the address, the first keeps serving, nothing is left behind', async () => {
  const first = await start({ prometheus: { port: 0 } });
  const port = Number(new URL(first.metricsUrl!).port);
  const before = metrics.getMeterProvider();
  await expect(startP2pTelemetry({ prometheus: { port } })).rejects.toThrow(`@p2p-otel/sdk: cannot listen on 127.0.0.1:${port}`);
  expect(metrics.getMeterProvider()).toBe(before);
  first.monitor.recordMessage('peerA1b2c3d4e5f6', 'ping', 10);
  expect(await sentOn(first.metricsUrl!, 'peerA1b2c3d4e5f6')).toBe(1);
  // A failed start counts for nothing: the next one does not warn about it.
  await first.shutdown();
  warnings.length = 0;
  await start({ prometheus: { port: 0 } });
  expect(warnings.filter((w) => w.includes('still running'))).toEqual([]);
});

test('start, shutdown, start again: a clean restart (new monitor, the global provider registered again, no message)', async () => {
  for (let round = 0; round < 3; round++) {
    const t = await start({ prometheus: { port: 0 } });
    expect(metrics.getMeterProvider()).toBe(t.meterProvider);
    t.monitor.recordMessage('peerA1b2c3d4e5f6', 'ping', 10);
    expect(await sentOn(t.metricsUrl!, 'peerA1b2c3d4e5f6')).toBe(1); // a new monitor each time: counts start over
    await t.shutdown();
    expect(metrics.getMeterProvider()).not.toBe(t.meterProvider);
  }
  expect(warnings.filter((w) => w.includes('still running'))).toEqual([]);
});

test('shutdown() restores the objects instrumented through telemetry.monitor exactly, and later records are no-ops', async () => {
  class Transport {
    sendToPeer(_peer: string, _message: unknown): Promise<void> {
      return Promise.resolve();
    }
    onMessage(_handler: (...a: unknown[]) => void): void {}
  }
  const transport = new Transport();
  const connector = { connectToPeer: async (_peer: string) => ({ closed: () => new Promise(() => undefined) }), disconnectFromPeer: async (_peer: string) => undefined };
  const manager = new EventEmitter();
  const own = (o: object): unknown[] => Reflect.ownKeys(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)]);
  const before = { transport: own(transport), connector: own(connector), managerListeners: manager.listenerCount('event') };

  const t = await start({ exporter: 'none' });
  (t.monitor as P2pInstrumentation).instrument({ connector, transport, manager }); // a P2pInstrumentation: no monitor was passed
  expect(own(transport)).not.toEqual(before.transport); // wrapped: an own property shadows the prototype's method
  await transport.sendToPeer('peerA1b2c3d4e5f6', 'hello');
  await t.shutdown();

  expect(own(transport)).toEqual(before.transport);
  expect(own(connector)).toEqual(before.connector);
  expect(manager.listenerCount('event')).toBe(before.managerListeners);
  const rejected = JSON.stringify(t.monitor.rejectedRecords());
  t.monitor.recordMessage(42 as never, 'ping', NaN); // would count two rejections if it were live
  expect(JSON.stringify(t.monitor.rejectedRecords())).toBe(rejected);
});

test('shutdown() leaves a monitor the application passed in enabled: it is the application’s', async () => {
  const monitor = new OtelP2pMonitor();
  const t = await start({ prometheus: { port: 0 }, monitor });
  await t.shutdown();
  monitor.recordMessage('peerA1b2c3d4e5f6', 'ping', NaN);
  expect(monitor.rejectedRecords()['invalid_number']).toBe(1);
  // And it can be exported again by a new telemetry.
  const again = await start({ prometheus: { port: 0 }, monitor });
  monitor.recordMessage('peerA1b2c3d4e5f6', 'ping', 10);
  expect(await sentOn(again.metricsUrl!, 'peerA1b2c3d4e5f6')).toBe(1);
});
