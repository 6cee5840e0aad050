import fc from 'fast-check';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createP2pViews, P2pInstrumentation, type P2pInstrumentationConfig } from '../../src/index.js';
import { STAGE_BUDGET_BYTES, stagedPeerCapacity } from '../../src/aggregation/message-stage.js';
import { LATENCY_MS_BUCKETS, SIZE_BYTES_BUCKETS } from '../../src/schema/metrics.js';
import { defaultMessageType, defaultSize } from '../../src/instrumentation/transport-extract.js';
import { toPeerKey } from '../../src/instrumentation/peer-key.js';
import { normalise, TestReader } from '../support/collect.js';
import { valueOf } from '../support/read.js';
import { deferred, instrumentation } from './harness.js';

/**
 * The fast path of transport calls shaped `(peerId, message)` (transport-fast-path.ts) and the
 * per-side MessageStage it fills: it must export exactly what recordMessage would, and take any
 * other shape, or a timed send, through the general path.
 */

type Handler = (peerId: unknown, message: unknown) => unknown;

/** A synchronous transport: sendToPeer returns a backpressure flag, as a socket-backed one does. */
class SyncTransport {
  readonly handlers: Handler[] = [];
  sent: unknown[][] = [];
  sendToPeer(...args: unknown[]): boolean {
    this.sent.push(args);
    return true;
  }
  onMessage(handler: Handler): void {
    this.handlers.push(handler);
  }
  deliver(peerId: unknown, message: unknown): void {
    for (const h of this.handlers) h(peerId, message);
  }
}

const closedTypes = { messageTypes: ['gossip', 'sync'] } satisfies P2pInstrumentationConfig;
const peerPool = ['p1', 'p2', 'p3', 'p4', 'p5', '', '10.0.0.1', 'other', 7, { toString: () => 'obj-peer' }, undefined];
const typePool = ['gossip', 'sync', 'block', '', 'other', 42, undefined];
const payloadPool = [new Uint8Array(0), new Uint8Array(100), new Uint8Array(5000), 'héllo', { n: 1 }];
const step = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constantFrom('send' as const, 'receive' as const),
      peer: fc.integer({ min: 0, max: peerPool.length - 1 }),
      type: fc.integer({ min: 0, max: typePool.length - 1 }),
      payload: fc.integer({ min: 0, max: payloadPool.length - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'collect' as const }) },
);

/** Two instrumentations exported alike: one fed by instrumented transports, one by recordMessage calls. */
function pair(config: P2pInstrumentationConfig) {
  const make = () => instrumentation({ ...config, peerId: { mode: 'full', maxPeers: 4 } });
  return { staged: make(), direct: make() };
}

/** A clock both instrumentations share, moved only by the transport: each send takes 2 ms. */
const SEND_MS = 2;

describe('transport fast path and message stage', () => {
  it('export exactly what recordMessage exports: counts, bytes, sizes, latencies, min, max, folds and rejections', async () => {
    for (const config of [closedTypes, {}]) {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 4 }), async (steps, every) => {
          let now = 0;
          const { staged, direct } = pair({ ...config, clock: () => now });
          const sender = new SyncTransport();
          const receiver = new SyncTransport();
          const send = sender.sendToPeer;
          sender.sendToPeer = function (this: SyncTransport, ...args: unknown[]) {
            now += SEND_MS;
            return send.apply(this, args);
          };
          staged.inst.instrumentTransport(sender, { latencyEvery: every }); // every `every`-th send timed
          let sends = 0;
          staged.inst.instrumentTransport(receiver);
          receiver.onMessage(() => undefined);
          try {
            for (const s of steps) {
              if (s.op === 'collect') {
                await staged.collect();
                await direct.collect();
                continue;
              }
              const peer = peerPool[s.peer];
              const msg = { type: typePool[s.type], payload: payloadPool[s.payload] };
              const size = Math.max(0, defaultSize(msg));
              if (s.op === 'send') {
                sender.sendToPeer(peer, msg);
                const timed = ++sends % every === 0;
                direct.inst.recordMessage(toPeerKey(peer), defaultMessageType(msg) as string, size, timed ? SEND_MS : undefined);
              } else {
                receiver.deliver(peer, msg);
                direct.inst.recordMessage(toPeerKey(peer), defaultMessageType(msg) as string, size, undefined, 'inbound');
              }
            }
            expect(normalise(await staged.collect())).toEqual(normalise(await direct.collect()));
            expect(staged.inst.rejectedRecords()).toEqual(direct.inst.rejectedRecords());
          } finally {
            await Promise.all([staged.provider.shutdown(), direct.provider.shutdown()]);
          }
        }),
        { numRuns: 40 },
      );
    }
  });

  it('a stage holds as many peers as their rows fit in STAGE_BUDGET_BYTES', () => {
    const sizeBuckets = SIZE_BYTES_BUCKETS.length + 1;
    const latencyBuckets = LATENCY_MS_BUCKETS.length + 1;
    for (const types of [1, 2, 5, 17, 33, 1_000, 100_000]) {
      const rowBytes = types * (6 + sizeBuckets + latencyBuckets) * 8;
      const n = stagedPeerCapacity(types, sizeBuckets, latencyBuckets);
      expect(n).toBeGreaterThanOrEqual(1);
      if (n > 1) expect(n * rowBytes).toBeLessThanOrEqual(STAGE_BUDGET_BYTES);
      expect((n + 1) * rowBytes).toBeGreaterThan(STAGE_BUDGET_BYTES);
    }
  });

  it('stages the peers its budget holds per side between collections; messages to others are recorded directly', async () => {
    const capacity = stagedPeerCapacity(2, SIZE_BYTES_BUCKETS.length + 1, LATENCY_MS_BUCKETS.length + 1); // 'x' and other
    const { inst, value, provider } = instrumentation({ messageTypes: ['x'], peerId: { mode: 'full', maxPeers: capacity * 3 } });
    const t = new SyncTransport();
    inst.instrumentTransport(t, { latency: 'none' });
    const peers = Array.from({ length: capacity * 3 }, (_, i) => `peer-${i}`);
    for (let round = 0; round < 3; round++) for (const p of peers) t.sendToPeer(p, { type: 'x', payload: new Uint8Array(10) });
    for (const p of [peers[0]!, peers[capacity - 1]!, peers[capacity]!, peers[capacity * 3 - 1]!]) {
      expect(await value('messagesSent', { peer_id: p, message_type: 'x' })).toBe(3);
      expect(await value('bytesSent', { peer_id: p })).toBe(30);
    }
    await provider.shutdown();
  });

  it('what is staged is exported at the next collection, recorded on restore, and a wrapper kept after restore records directly', async () => {
    const { inst, value, provider } = instrumentation();
    const t = new SyncTransport();
    inst.instrumentTransport(t, { latency: 'none' });
    const wrapped = t.sendToPeer;
    t.sendToPeer('p', { type: 'a', payload: new Uint8Array(3) });
    expect(await value('messagesSent', { peer_id: 'p' })).toBe(1); // the peer's first message: recorded directly
    t.sendToPeer('p', { type: 'a', payload: new Uint8Array(3) }); // staged
    t.sendToPeer('p', { type: 'a', payload: new Uint8Array(3) });
    expect(await value('messagesSent', { peer_id: 'p' })).toBe(3);
    t.sendToPeer('p', { type: 'a', payload: new Uint8Array(3) }); // staged, then restore flushes it
    inst.uninstrument(t);
    expect(t.sendToPeer).not.toBe(wrapped);
    expect(await value('messagesSent', { peer_id: 'p' })).toBe(4);
    wrapped.call(t, 'p', { type: 'a', payload: new Uint8Array(3) }); // the app held on to our wrapper
    expect(await value('messagesSent', { peer_id: 'p' })).toBe(5);
    expect(await value('bytesSent', { peer_id: 'p' })).toBe(15);
    await provider.shutdown();
  });

  it('through standard instruments (no MetricProducer) nothing is staged: every size reaches the SDK histogram', async () => {
    const inst = new P2pInstrumentation({ peerId: { mode: 'full' } });
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader], views: createP2pViews(inst) });
    inst.setMeterProvider(provider);
    const t = new SyncTransport();
    inst.instrumentTransport(t, { latency: 'none' });
    for (const n of [10, 20, 5000]) t.sendToPeer('p', { type: 'a', payload: new Uint8Array(n) });
    const { resourceMetrics } = await reader.collect();
    expect(valueOf(resourceMetrics, 'messagesSent', { peer_id: 'p' })).toBe(3);
    expect(valueOf(resourceMetrics, 'messageSize', { peer_id: 'p' })).toMatchObject({ count: 3, sum: 5030, min: 10, max: 5000 });
    await provider.shutdown();
  });

  it('standard instruments, MeterProvider set after traffic began: every later size and latency reaches the SDK histograms (nothing staged)', async () => {
    const inst = new P2pInstrumentation({ peerId: { mode: 'full' } });
    const t = new SyncTransport();
    inst.instrumentTransport(t, { latencyEvery: 2 });
    for (let i = 0; i < 4; i++) t.sendToPeer('p', { type: 'a', payload: new Uint8Array(7) }); // no-op SDK instruments until then
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader], views: createP2pViews(inst) });
    inst.setMeterProvider(provider);
    for (const n of [10, 20, 5000, 30]) t.sendToPeer('p', { type: 'a', payload: new Uint8Array(n) });
    const { resourceMetrics } = await reader.collect();
    expect(valueOf(resourceMetrics, 'messagesSent', { peer_id: 'p' })).toBe(8);
    expect(valueOf(resourceMetrics, 'messageSize', { peer_id: 'p' })).toMatchObject({ count: 4, sum: 5060, min: 10, max: 5000 });
    expect(valueOf(resourceMetrics, 'messageLatency', { peer_id: 'p' })).toMatchObject({ count: 2 });
    await provider.shutdown();
  });

  it('timed sends are recorded with their latency; the untimed ones are staged; every send counts', async () => {
    let now = 0;
    const { inst, collect, provider } = instrumentation({ clock: () => now });
    const t = new SyncTransport();
    const original = t.sendToPeer;
    t.sendToPeer = function (this: SyncTransport, ...args: unknown[]) {
      now += 2; // each send takes 2 ms of the virtual clock
      return original.apply(this, args);
    };
    inst.instrumentTransport(t, { latencyEvery: 4 });
    for (let i = 0; i < 12; i++) t.sendToPeer('p', { type: 'a', payload: new Uint8Array(8) });
    const rm = await collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: 'p' })).toBe(12);
    expect(valueOf(rm, 'messageSize', { peer_id: 'p' })).toMatchObject({ count: 12, sum: 96 });
    expect(valueOf(rm, 'messageLatency', { peer_id: 'p' })).toMatchObject({ count: 3, sum: 6 });
    await provider.shutdown();
  });

  it('other call shapes, a send that throws and async sends keep their exact behaviour and are recorded at settlement', async () => {
    const { inst, value, provider } = instrumentation();
    const t = new SyncTransport();
    const failure = new Error('ECONNRESET');
    let mode: 'sync' | 'throw' | 'async' = 'sync';
    const gate = deferred<string>();
    const original = t.sendToPeer;
    t.sendToPeer = function (this: SyncTransport, ...args: unknown[]) {
      if (mode === 'throw') throw failure;
      return mode === 'async' ? gate.promise : original.apply(this, args);
    } as SyncTransport['sendToPeer'];
    inst.instrumentTransport(t, { latency: 'none' });
    const m = { type: 'a', payload: new Uint8Array(4) };

    expect(t.sendToPeer('p', m, { priority: 1 })).toBe(true); // three arguments: the general path
    expect(t.sent.at(-1)).toEqual(['p', m, { priority: 1 }]);
    expect(t.sendToPeer('p')).toBe(true); // one argument: a message of 0 bytes
    mode = 'throw';
    expect(() => t.sendToPeer('p', m)).toThrow(failure);
    mode = 'async';
    const result = t.sendToPeer('p', m);
    expect(result).toBe(gate.promise); // the very promise
    expect(await value('messagesSent', { peer_id: 'p', message_type: 'a' })).toBe(1); // not settled yet
    gate.resolve('ok');
    await expect(result).resolves.toBe('ok');
    t.sendToPeer('p', m); // a second reaction from the pool
    await gate.promise;
    await new Promise((r) => setImmediate(r));
    expect(await value('messagesSent', { peer_id: 'p', message_type: 'a' })).toBe(3);
    expect(await value('messagesSent', { peer_id: 'p', message_type: 'other' })).toBe(1);
    expect(await value('connectionErrors', { peer_id: 'p' })).toBe(1);
    expect(inst.rejectedRecords().internal_error).toBe(0);
    await provider.shutdown();
  });

  it('async sends in flight together, settled out of order, each record their own peer, size, latency or error', async () => {
    let now = 0;
    const { inst, collect, provider } = instrumentation({ clock: () => now });
    const gates: ReturnType<typeof deferred<string>>[] = [];
    const t = {
      sendToPeer(_peerId: string, _message: unknown): Promise<string> {
        const gate = deferred<string>();
        gates.push(gate);
        return gate.promise;
      },
    };
    inst.instrumentTransport(t, { latencyEvery: 1 });
    const n = 300; // more than the pool keeps (MAX_FREE_REACTIONS, 256), so some reactions are made anew
    const results: Promise<string>[] = [];
    for (let i = 0; i < n; i++) results.push(t.sendToPeer(`p${i % 3}`, { type: 'a', payload: new Uint8Array(1 + (i % 3)) }));
    for (let round = 0; round < 2; round++) {
      // Settle from the last to the first, each one ms later: send i waits (n - i) ms; every 10th fails.
      for (let i = n - 1; i >= 0; i--) {
        now += 1;
        if (i % 10 === 0) gates[i]!.reject(new Error('ECONNRESET'));
        else gates[i]!.resolve('ok');
        await Promise.resolve();
      }
      await Promise.allSettled(results);
      await new Promise((r) => setImmediate(r));
      if (round === 0) {
        // The second round goes through reactions taken back from the pool.
        gates.length = 0;
        results.length = 0;
        for (let i = 0; i < n; i++) results.push(t.sendToPeer(`p${i % 3}`, { type: 'a', payload: new Uint8Array(1 + (i % 3)) }));
      }
    }
    const rm = await collect();
    for (let p = 0; p < 3; p++) {
      const ok = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === p && i % 10 !== 0);
      const latencySum = ok.reduce((s, i) => s + (n - i), 0);
      expect(valueOf(rm, 'messagesSent', { peer_id: `p${p}`, message_type: 'a' })).toBe(2 * ok.length);
      expect(valueOf(rm, 'bytesSent', { peer_id: `p${p}` })).toBe(2 * ok.length * (1 + p));
      expect(valueOf(rm, 'messageLatency', { peer_id: `p${p}` })).toMatchObject({ count: 2 * ok.length, sum: 2 * latencySum });
      expect(valueOf(rm, 'connectionErrors', { peer_id: `p${p}` })).toBe(2 * Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === p && i % 10 === 0).length);
    }
    expect(inst.rejectedRecords().internal_error).toBe(0);
    await provider.shutdown();
  });

  it('passes one-parameter extractors the message alone; extractors that take the arguments get them', async () => {
    const { inst, value, provider } = instrumentation();
    const fast = new SyncTransport();
    const general = new SyncTransport();
    const seen: unknown[] = [];
    inst.instrumentTransport(fast, { latency: 'none', messageType: (m) => (m as { kind: string }).kind, size: (m) => (m as { len: number }).len });
    inst.instrumentTransport(general, {
      latency: 'none',
      messageType: (_m, args) => {
        seen.push(args);
        return 'via-args';
      },
    });
    fast.sendToPeer('p', { kind: 'k', len: 7 });
    fast.sendToPeer('p', { kind: 'k', len: 7 });
    general.sendToPeer('q', { type: 'ignored' });
    expect(seen).toEqual([['q', { type: 'ignored' }]]);
    expect(await value('messagesSent', { peer_id: 'p', message_type: 'k' })).toBe(2);
    expect(await value('bytesSent', { peer_id: 'p' })).toBe(14);
    expect(await value('messagesSent', { peer_id: 'q', message_type: 'via-args' })).toBe(1);
    await provider.shutdown();
  });
});
