import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { P2pInstrumentationConfig } from '../../src/instrumentation/p2p-instrumentation.js';
import { P2P_EVENT_TYPES, type P2pEvent } from '../../src/instrumentation/p2p-events.js';
import { points, valueOf } from '../support/read.js';
import { LookupError, ReferenceManager, StreamingManager, SyncError } from '../support/reference-manager.js';
import { instrumentation, manualClock } from './harness.js';

const A = 'node-a';
const B = 'node-b';
const C = 'node-c';
const D = 'node-d';

function harness(config: P2pInstrumentationConfig = {}) {
  const clock = manualClock(1_000);
  const { inst, provider, collect } = instrumentation({ clock: clock.now, ...config });
  return { inst, clock: clock.now, advance: clock.advance, collect, shutdown: () => provider.shutdown() };
}

type Hist = { count: number; sum: number };
const hist = (rm: ResourceMetrics, id: Parameters<typeof valueOf>[1], match: Record<string, string> = {}) => valueOf(rm, id, match) as Hist | undefined;
const rejected = (rm: ResourceMetrics) => Object.fromEntries(points(rm, 'rejectedRecords').map((p) => [p.attributes.reason, p.value]));
const tick = () => new Promise((r) => setImmediate(r));

/** A lookup that takes `ms` on the harness clock. */
const lookup = (h: ReturnType<typeof harness>, ms: number, result: string[] | Error) => async () => {
  h.advance(ms);
  if (result instanceof Error) throw result;
  return result;
};

describe('manager: discovery', () => {
  it('counts discoveries and failures per method, their durations, and known peers', async () => {
    const h = harness();
    const m = new ReferenceManager(A, h.clock);
    h.inst.instrumentManager(m);
    await m.discover('mdns', lookup(h, 12, [B, C]));
    await m.discover('dns', lookup(h, 40, [D]));
    await expect(m.discover('dns', lookup(h, 100, new LookupError('no answer', 'timeout')))).rejects.toThrow('no answer');
    await expect(m.discover('relay', lookup(h, 5, new Error('?')))).rejects.toThrow();
    m.forget(C);

    const rm = await h.collect();
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'mdns' })).toBe(2);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'dns' })).toBe(1);
    // One sample per discovered peer (its time to discovery) and one per failed lookup.
    expect(hist(rm, 'discoveryDuration', { discovery_method: 'mdns' })).toMatchObject({ count: 2, sum: 24 });
    expect(hist(rm, 'discoveryDuration', { discovery_method: 'dns' })).toMatchObject({ count: 2, sum: 140 });
    expect(valueOf(rm, 'discoveryFailures', { discovery_method: 'dns', reason: 'timeout' })).toBe(1);
    expect(valueOf(rm, 'discoveryFailures', { discovery_method: 'relay', reason: 'other' })).toBe(1);
    expect(valueOf(rm, 'knownPeers')).toBe(2);
    expect(Object.values(rejected(rm)).every((v) => v === 0)).toBe(true);
    await h.shutdown();
  });
});

describe('manager: resource synchronisation', () => {
  it('tracks active transfers, bytes per peer, durations of completed syncs and failures', async () => {
    const h = harness({ resourceTypes: ['blob', 'vm-image'] });
    const m = new ReferenceManager(A, h.clock);
    h.inst.instrumentManager(m);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* chunks() {
      yield new Uint8Array(100);
      h.advance(30);
      await gate;
      yield new Uint8Array(50);
    }
    const sync = m.syncResource('blob', B, chunks());
    await tick();
    let rm = await h.collect();
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'blob' })).toBe(1);
    expect(valueOf(rm, 'resourceTransferBytes', { peer_id: B, resource_type: 'blob' })).toBe(100);
    release();
    await expect(sync).resolves.toBe(150);

    async function* corrupt(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(7);
      h.advance(5);
      throw new SyncError('checksum mismatch', 'corrupt');
    }
    await expect(m.syncResource('vm-image', C, corrupt())).rejects.toThrow('checksum');

    rm = await h.collect();
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'blob' })).toBe(0);
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'vm-image' })).toBe(0);
    expect(valueOf(rm, 'resourceTransferBytes', { peer_id: B, resource_type: 'blob' })).toBe(150);
    expect(valueOf(rm, 'resourceTransferBytes', { peer_id: C, resource_type: 'vm-image' })).toBe(7);
    expect(hist(rm, 'resourceSyncDuration', { resource_type: 'blob' })).toMatchObject({ count: 1, sum: 30 });
    expect(hist(rm, 'resourceSyncDuration', { resource_type: 'vm-image' })).toBeUndefined(); // failed: not a completed sync
    expect(valueOf(rm, 'resourceSyncFailures', { peer_id: C, resource_type: 'vm-image', reason: 'corrupt' })).toBe(1);
    await h.shutdown();
  });

  it('counts completion bytes, ignores completions it never saw start, and ends active transfers on restore', async () => {
    const h = harness();
    const m = new ReferenceManager(A, h.clock);
    m.on('event', () => undefined);
    h.inst.instrumentManager(m);
    const emit = (e: P2pEvent) => m.emitRaw('event', e);
    emit({ type: 'resource_sync_completed', resourceType: 'blob', peerId: B, durationMs: 9, bytes: 4096 }); // began before us
    emit({ type: 'resource_sync_started', resourceType: 'blob' });
    emit({ type: 'resource_sync_started', resourceType: 'blob' });
    emit({ type: 'resource_sync_started', resourceType: 'log' });
    let rm = await h.collect();
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'blob' })).toBe(2);
    expect(valueOf(rm, 'resourceTransferBytes', { peer_id: B, resource_type: 'blob' })).toBe(4096);
    expect(hist(rm, 'resourceSyncDuration', { resource_type: 'blob' })).toMatchObject({ count: 1, sum: 9 });
    h.inst.uninstrument(m);
    rm = await h.collect();
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'blob' })).toBe(0);
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'log' })).toBe(0);
    await h.shutdown();
  });
});

describe('manager: topology', () => {
  it('turns link events and full snapshots into hops from the local node and the cluster diameter', async () => {
    const h = harness({ localPeerId: A });
    const m = new ReferenceManager(A, h.clock);
    h.inst.instrumentManager(m);
    const distances = (rm: ResourceMetrics) => Object.fromEntries(points(rm, 'peerDistance').map((p) => [p.attributes.peer_id, p.value]));

    m.connect(A, B);
    m.connect(B, C);
    let rm = await h.collect();
    expect(distances(rm)).toEqual({ [B]: 1, [C]: 2 });
    expect(valueOf(rm, 'clusterDiameter')).toBe(2);

    m.setTopology({ [A]: [B], [B]: [C], [C]: [D] }); // a chain: adds C-D
    rm = await h.collect();
    expect(distances(rm)).toEqual({ [B]: 1, [C]: 2, [D]: 3 });
    expect(valueOf(rm, 'clusterDiameter')).toBe(3);

    m.setTopology({ [A]: [B, C, D] }); // a star: B-C and C-D are gone
    rm = await h.collect();
    expect(distances(rm)).toEqual({ [B]: 1, [C]: 1, [D]: 1 });
    expect(valueOf(rm, 'clusterDiameter')).toBe(2);

    m.disconnect(A, D);
    rm = await h.collect();
    expect(distances(rm)).toEqual({ [B]: 1, [C]: 1 });
    m.setTopology({}); // everything unlinked
    rm = await h.collect();
    expect(distances(rm)).toEqual({});
    expect(valueOf(rm, 'clusterDiameter')).toBe(0);
    await h.shutdown();
  });

  it('accepts a Map snapshot and keeps its link set across disable() and enable()', async () => {
    const h = harness({ localPeerId: A });
    const m = new ReferenceManager(A, h.clock);
    h.inst.instrumentManager(m);
    m.emitRaw('event', {
      type: 'topology',
      adjacency: new Map([
        [A, [B]],
        [B, [C]],
      ]),
    });
    expect(valueOf(await h.collect(), 'clusterDiameter')).toBe(2);
    h.inst.disable();
    h.inst.enable();
    m.emitRaw('event', { type: 'topology', adjacency: { [A]: [B] } }); // B-C vanished meanwhile
    const rm = await h.collect();
    expect(valueOf(rm, 'clusterDiameter')).toBe(1);
    expect(points(rm, 'peerDistance').map((p) => p.attributes.peer_id)).toEqual([B]);
    await h.shutdown();
  });
});

describe('manager: malformed events', () => {
  it('never throw into the emitter; unusable ones count as unknown_value, bad fields through the monitor, other types are ignored', async () => {
    const h = harness({ localPeerId: A });
    const m = new ReferenceManager(A, h.clock);
    const app: unknown[] = [];
    m.on('event', (e) => void app.push(e));
    h.inst.instrumentManager(m);
    const raw: unknown[] = [
      null, // unusable: unknown_value
      'peer_discovered', // unusable: unknown_value
      { type: 42 }, // unusable: unknown_value
      { type: 'connection_pool_resized', size: 3 }, // an app event that is not ours: ignored
      { type: 'peer_discovered', peerId: 7, method: 'carrier-pigeon' }, // invalid_peer_id + unknown_value, counted under other
      { type: 'resource_sync_completed', resourceType: 'blob' }, // no durationMs: invalid_number
      { type: 'resource_transfer_progress', peerId: B, resourceType: 'blob', bytes: -5 }, // negative
      { type: 'resource_sync_started', resourceType: { name: 'blob' } }, // unknown_value, no transfer started
      { type: 'topology', adjacency: 'A-B' }, // unknown_value
      { type: 'topology', adjacency: { [A]: B } }, // neighbours not an array: unknown_value
      { type: 'peer_link_up', from: A }, // invalid_peer_id
      { type: 'peer_discovered', peerId: '10.0.0.1:4433', method: 'static' }, // peer_id_is_address
    ];
    expect(() => raw.forEach((e) => m.emitRaw('event', e))).not.toThrow();
    expect(app).toEqual(raw); // the app's listener saw every one
    const rm = await h.collect();
    expect(rejected(rm)).toEqual({
      invalid_number: 1,
      negative: 1,
      invalid_peer_id: 2,
      peer_id_is_address: 1,
      unknown_value: 7,
      over_capacity: 0,
      internal_error: 0,
    });
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'other' })).toBe(1);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'static' })).toBe(1);
    expect(valueOf(rm, 'knownPeers')).toBe(0);
    expect(valueOf(rm, 'clusterDiameter')).toBe(0);
    expect(points(rm, 'resourceTransfersActive').every((p) => p.value === 0)).toBe(true);
    await h.shutdown();
  });

  it('whatever the stream carries: no throw, no internal error, every app listener sees every event', async () => {
    const field = fc.oneof(fc.anything(), fc.constantFrom(A, B, 'mdns', 'blob', 'timeout'), fc.double(), fc.array(fc.string()));
    const event = fc.oneof(
      fc.anything(),
      fc.record(
        {
          type: fc.constantFrom(...P2P_EVENT_TYPES),
          peerId: field,
          method: field,
          reason: field,
          durationMs: field,
          resourceType: field,
          bytes: field,
          from: field,
          to: field,
          adjacency: fc.oneof(field, fc.dictionary(fc.string(), fc.array(fc.oneof(fc.string(), fc.anything())))),
        },
        { requiredKeys: ['type'] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), async (events) => {
        const h = harness({ localPeerId: A });
        const m = new ReferenceManager(A, h.clock);
        const seen: unknown[] = [];
        m.on('event', (e) => void seen.push(e));
        h.inst.instrumentManager(m);
        for (const e of events) m.emitRaw('event', e);
        expect(seen).toHaveLength(events.length);
        const rm = await h.collect();
        expect(rejected(rm).internal_error).toBe(0);
        h.inst.uninstrument(m);
        expect(m.listenerCount('event')).toBe(1);
        await h.shutdown();
      }),
      { numRuns: 150 },
    );
  });

  it('maps events of other shapes with mapEvent; undefined means "not a P2P event"; a throwing mapEvent is an internal error', async () => {
    const h = harness();
    const m = new EventEmitter();
    h.inst.instrumentManager(m, {
      eventName: 'p2p',
      mapEvent: (raw) => {
        const r = raw as { kind: string; who: string; via: 'mdns' };
        if (r.kind === 'explode') throw new Error('mapper bug');
        return r.kind === 'found' ? { type: 'peer_discovered', peerId: r.who, method: r.via } : undefined;
      },
    });
    m.emit('p2p', { kind: 'found', who: B, via: 'mdns' });
    m.emit('p2p', { kind: 'heartbeat' });
    m.emit('p2p', { kind: 'explode' });
    m.emit('event', { type: 'peer_discovered', peerId: C, method: 'dns' }); // not our event name
    const rm = await h.collect();
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'mdns' })).toBe(1);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'dns' })).toBeUndefined();
    expect(rejected(rm)).toMatchObject({ unknown_value: 0, internal_error: 1 });
    await h.shutdown();
  });
});

describe('manager: EventEmitter subscription', () => {
  it('appends one listener, leaves the app listeners and their order alone, and restore removes exactly ours', async () => {
    const h = harness();
    const m = new ReferenceManager(A, h.clock);
    const first = jest.fn();
    const second = jest.fn();
    m.on('event', first);
    m.on('event', second);
    h.inst.instrumentManager(m);
    expect(m.listenerCount('event')).toBe(3);
    expect(m.listeners('event').slice(0, 2)).toEqual([first, second]);
    const late = jest.fn();
    m.on('event', late);
    m.forget(B);
    for (const l of [first, second, late]) expect(l).toHaveBeenCalledWith({ type: 'peer_lost', peerId: B });
    h.inst.uninstrument(m);
    expect(m.listeners('event')).toEqual([first, second, late]);
    h.inst.instrumentManager(m);
    h.inst.disable();
    expect(m.listenerCount('event')).toBe(3);
    h.inst.enable();
    expect(m.listenerCount('event')).toBe(4);
    await h.shutdown();
  });

  it('listens to one event per type when asked (payloads without `type`), by type name or by a map', async () => {
    const h = harness();
    const byName = new EventEmitter();
    const byMap = new EventEmitter();
    h.inst.instrumentManager(byName, { eventNames: true });
    h.inst.instrumentManager(byMap, { eventNames: { peer_discovered: 'found', peer_lost: 'lost' } });
    byName.emit('peer_discovered', { peerId: B, method: 'mdns', durationMs: 3 });
    byName.emit('resource_sync_started', { resourceType: 'blob' });
    byName.emit('event', { type: 'peer_discovered', peerId: C, method: 'mdns' }); // not listened to in this mode
    byMap.emit('found', { peerId: D, method: 'static' });
    byMap.emit('lost', { peerId: D });
    byMap.emit('peer_discovered', { peerId: C, method: 'dns' }); // not in the map
    expect(byName.listenerCount('topology')).toBe(1);
    expect(byMap.eventNames().sort()).toEqual(['found', 'lost']);
    const rm = await h.collect();
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'mdns' })).toBe(1);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'static' })).toBe(1);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'dns' })).toBeUndefined();
    expect(hist(rm, 'discoveryDuration', { discovery_method: 'mdns' })).toMatchObject({ count: 1, sum: 3 });
    expect(valueOf(rm, 'resourceTransfersActive', { resource_type: 'blob' })).toBe(1);
    expect(valueOf(rm, 'knownPeers')).toBe(1);
    h.inst.uninstrumentAll();
    expect(byName.eventNames()).toEqual([]);
    expect(byMap.eventNames()).toEqual([]);
    await h.shutdown();
  });

  it('uses options.emitter for an emitter held by the manager', async () => {
    const h = harness();
    const m = { events: new EventEmitter() };
    h.inst.instrumentManager(m, { emitter: (x) => (x as typeof m).events });
    m.events.emit('event', { type: 'peer_discovered', peerId: B, method: 'relay' });
    expect(valueOf(await h.collect(), 'discoveredPeers', { discovery_method: 'relay' })).toBe(1);
    h.inst.uninstrument(m);
    expect(m.events.listenerCount('event')).toBe(0);
    await h.shutdown();
  });
});

describe('manager: async-iterable subscription', () => {
  it('reads its own iterator from subscribe(): the app subscriber still gets every event; restore ends ours', async () => {
    const h = harness();
    const m = new StreamingManager(A, h.clock);
    const appEvents: P2pEvent[] = [];
    const appIterator = m.subscribe();
    void (async () => {
      for await (const e of appIterator) appEvents.push(e);
    })();
    h.inst.instrumentManager(m);
    expect(m.subscriberCount).toBe(2); // the app's and ours; the probe subscription is closed
    await m.discover('mdns', lookup(h, 2, [B, C]));
    m.forget(B);
    await tick();
    expect(appEvents.map((e) => e.type)).toEqual(['peer_discovered', 'peer_discovered', 'peer_lost']);
    let rm = await h.collect();
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'mdns' })).toBe(2);
    expect(valueOf(rm, 'knownPeers')).toBe(1);
    h.inst.uninstrument(m);
    expect(m.subscriberCount).toBe(1);
    m.forget(C);
    await tick();
    rm = await h.collect();
    expect(valueOf(rm, 'knownPeers')).toBe(1);
    expect(appEvents).toHaveLength(4);
    await h.shutdown();
  });

  it('finds events() by default, accepts a promise of an iterable, and uses a configured method', async () => {
    const h = harness();
    const source = new StreamingManager(A, h.clock);
    const viaEvents = { events: () => source.subscribe() };
    const viaPromise = { subscribe: async () => source.subscribe() };
    const viaCustom = { feed: () => source.subscribe(), subscribe: () => source.subscribe() };
    h.inst.instrumentManager(viaEvents);
    h.inst.instrumentManager(viaPromise);
    h.inst.instrumentManager(viaCustom, { subscribe: 'feed' });
    await tick();
    expect(source.subscriberCount).toBe(3);
    source.forget(B);
    await m_discover(source, h);
    await tick();
    expect(valueOf(await h.collect(), 'discoveredPeers', { discovery_method: 'static' })).toBe(3);
    h.inst.uninstrumentAll();
    await tick();
    expect(source.subscriberCount).toBe(0);
    await h.shutdown();
  });

  it('refuses a manager that hands out one shared stream, with a warning, and reads nothing from it', async () => {
    const warn = jest.fn();
    diag.setLogger({ warn, error: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() }, DiagLogLevel.WARN);
    try {
      const h = harness();
      const source = new StreamingManager(A, h.clock);
      const shared = source.subscribe();
      const sameIterator = { subscribe: () => shared };
      const sameIterable = { events: () => ({ [Symbol.asyncIterator]: () => shared }) };
      const notAMethod = { events: shared };
      h.inst.instrumentManager(sameIterator);
      h.inst.instrumentManager(sameIterable);
      h.inst.instrumentManager(notAMethod);
      h.inst.instrumentManager({ subscribe: () => 42 });
      const next = jest.spyOn(shared, 'next');
      const ret = jest.spyOn(shared, 'return');
      source.forget(B);
      await tick();
      expect(next).not.toHaveBeenCalled();
      expect(ret).not.toHaveBeenCalled();
      expect(await shared.next()).toEqual({ value: { type: 'peer_lost', peerId: B }, done: false }); // still the app's
      const messages = warn.mock.calls.map(([m]) => String(m));
      expect(messages.filter((m) => m.includes('shared stream'))).toHaveLength(2);
      expect(messages.filter((m) => m.includes('no events() method') || m.includes('no subscribe() method'))).toHaveLength(1);
      expect(messages.filter((m) => m.includes('no async iterable'))).toHaveLength(1);
      h.inst.uninstrumentAll();
      await h.shutdown();
    } finally {
      diag.disable();
    }
  });

  it('releases the subscription of a manager that allows a single subscriber, so the app can still subscribe', async () => {
    const h = harness();
    const source = new StreamingManager(A, h.clock);
    let holder: AsyncIterableIterator<P2pEvent> | undefined;
    const single = {
      subscribe() {
        if (holder !== undefined) throw new Error('already subscribed');
        const it = source.subscribe();
        const ret = it.return!.bind(it);
        it.return = (...a) => ((holder = undefined), ret(...a));
        return (holder = it);
      },
    };
    h.inst.instrumentManager(single);
    expect(source.subscriberCount).toBe(0);
    expect(() => single.subscribe()).not.toThrow();
    h.inst.uninstrument(single);
    await h.shutdown();
  });

  it('stops quietly when the stream ends or fails', async () => {
    const warn = jest.fn();
    diag.setLogger({ warn, error: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() }, DiagLogLevel.WARN);
    try {
      const h = harness();
      async function* ending() {
        yield { type: 'peer_lost', peerId: B } as P2pEvent;
      }
      async function* failing(): AsyncGenerator<P2pEvent> {
        yield { type: 'peer_discovered', peerId: B, method: 'dns' };
        throw new Error('stream broke');
      }
      h.inst.instrumentManager({ subscribe: ending });
      h.inst.instrumentManager({ subscribe: failing });
      await tick();
      expect(valueOf(await h.collect(), 'discoveredPeers', { discovery_method: 'dns' })).toBe(1);
      expect(warn.mock.calls.filter(([m]) => String(m).includes('stream failed'))).toHaveLength(1);
      h.inst.uninstrumentAll();
      await h.shutdown();
    } finally {
      diag.disable();
    }
  });
});

/** One static discovery on every subscriber of `source`. */
async function m_discover(source: StreamingManager, h: ReturnType<typeof harness>): Promise<void> {
  await source.discover('static', lookup(h, 1, [C]));
}
