import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { P2pInstrumentation, P2pInstrumentationConfig } from '../../src/instrumentation/p2p-instrumentation.js';
import { acknowledgeMessage, transportAckStats } from '../../src/instrumentation/transport.js';
import { valueOf } from '../support/read.js';
import { InProcessNetwork, message, ReferenceTransport, type Message } from '../support/reference-transport.js';
import { instrumentation, manualClock } from './harness.js';

const A = 'node-a';
const B = 'node-b';

/** A P2pInstrumentation on a virtual clock, exported through the fast path. */
function harness(config: P2pInstrumentationConfig = {}) {
  const clock = manualClock(1_000);
  const { inst, provider, collect } = instrumentation({ clock: clock.now, ...config });
  const network = new InProcessNetwork({ clock: clock.now, autoDeliver: false });
  return { inst, network, advance: clock.advance, collect, shutdown: () => provider.shutdown() };
}

type Hist = { count: number; sum: number };
const hist = (rm: ResourceMetrics, id: Parameters<typeof valueOf>[1], match: Record<string, string>) => valueOf(rm, id, match) as Hist | undefined;
const rejected = (rm: ResourceMetrics, reason: string) => valueOf(rm, 'rejectedRecords', { reason });

describe('transport: sent and received messages', () => {
  it('counts messages, bytes and sizes on both sides and settle latency from call to delivery', async () => {
    const h = harness();
    const a = h.network.join(A);
    const b = h.network.join(B);
    h.inst.instrumentTransport(a);
    h.inst.instrumentTransport(b);
    const got: Message[] = [];
    b.onMessage((_from, m) => void got.push(m));

    const sends = [a.sendToPeer(B, message('block', 100)), a.sendToPeer(B, message('vote', 20))];
    h.advance(5);
    expect(h.network.deliverAll()).toBe(2);
    await Promise.all(sends);

    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'block' })).toBe(1);
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'vote' })).toBe(1);
    expect(valueOf(rm, 'bytesSent', { peer_id: B })).toBe(120);
    expect(hist(rm, 'messageSize', { peer_id: B, message_type: 'block' })).toMatchObject({ count: 1, sum: 100 });
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'block' })).toMatchObject({ count: 1, sum: 5 });
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'vote' })).toMatchObject({ count: 1, sum: 5 });
    // Received: from A, on B's handler; no latency on the received side.
    expect(got.map((m) => m.type)).toEqual(['block', 'vote']);
    expect(valueOf(rm, 'messagesReceived', { peer_id: A, message_type: 'block' })).toBe(1);
    expect(valueOf(rm, 'messagesReceived', { peer_id: A, message_type: 'vote' })).toBe(1);
    expect(valueOf(rm, 'bytesReceived', { peer_id: A })).toBe(120);
    expect(hist(rm, 'messageSize', { peer_id: A, message_type: 'vote' })).toMatchObject({ count: 1, sum: 20 });
    expect(hist(rm, 'messageLatency', { peer_id: A, message_type: 'vote' })).toBeUndefined();
    await h.shutdown();
  });

  it('reads sizes of strings (UTF-8), ArrayBuffers and binary payload/data fields; other shapes count 0 bytes with one warning', async () => {
    const warn = jest.fn();
    diag.setLogger({ warn, error: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() }, DiagLogLevel.WARN);
    try {
      const h = harness();
      const sent: unknown[] = [];
      const t = { sendToPeer: (_p: string, m: unknown) => void sent.push(m), onMessage: () => undefined };
      h.inst.instrumentTransport(t);
      t.sendToPeer(B, 'héllo'); // 6 bytes in UTF-8, 5 UTF-16 units
      t.sendToPeer(B, new ArrayBuffer(7));
      t.sendToPeer(B, { type: 'blob', data: Buffer.alloc(9) });
      t.sendToPeer(B, { type: 'json', payload: '{"a":1}' });
      t.sendToPeer(B, { type: 'struct', fields: [1, 2] });
      t.sendToPeer(B, { type: 'struct', fields: [3] });
      (t.sendToPeer as (...a: unknown[]) => void)(B, { type: 'struct', fields: [4] }, 'urgent'); // the general path: no second warning
      const rm = await h.collect();
      expect(valueOf(rm, 'bytesSent', { peer_id: B })).toBe(6 + 7 + 9 + 7);
      expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'other' })).toBe(2);
      expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'struct' })).toBe(3);
      expect(hist(rm, 'messageSize', { peer_id: B, message_type: 'struct' })).toMatchObject({ count: 3, sum: 0 });
      expect(warn.mock.calls.filter(([m]) => String(m).includes('no byte size'))).toHaveLength(1);
      await h.shutdown();
    } finally {
      diag.disable();
    }
  });

  it('uses the extractors given, each once per message, on both sides (received ones default to the sent ones)', async () => {
    const h = harness();
    const calls = { peer: 0, type: 0, size: 0 };
    const t = new EventEmitter() as EventEmitter & { send(to: { id: string }, frame: string): boolean };
    t.send = (to, frame) => t.emit('frame', to.id, frame);
    h.inst.instrumentTransport(t, {
      methods: { send: 'send', onMessage: 'on' },
      event: 'message',
      peerId: (args) => (calls.peer++, (args[0] as { id: string }).id),
      messageType: (m) => (calls.type++, String(m).split(':')[0]),
      size: (m) => (calls.size++, String(m).length),
      received: { peerId: (args) => args[0] },
    });
    const onFrame = jest.fn();
    t.on('frame', onFrame); // not the configured event: not wrapped
    t.on('message', () => undefined);
    expect(t.send({ id: B }, 'ping:1234')).toBe(true);
    t.emit('message', A, 'pong:12');
    expect(calls).toEqual({ peer: 1, type: 2, size: 2 });
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'ping' })).toBe(1);
    expect(valueOf(rm, 'bytesSent', { peer_id: B })).toBe(9);
    expect(valueOf(rm, 'messagesReceived', { peer_id: A, message_type: 'pong' })).toBe(1);
    expect(valueOf(rm, 'bytesReceived', { peer_id: A })).toBe(7);
    expect(t.listeners('frame')).toEqual([onFrame]);
    expect(onFrame).toHaveBeenCalledWith(B, 'ping:1234');
    await h.shutdown();
  });

  it('turns peer id objects with their own toString() (an Iroh PublicKey) into strings, as the connector does', async () => {
    const h = harness();
    class PublicKey {
      constructor(private readonly hex: string) {}
      toString(): string {
        return this.hex;
      }
    }
    const t = { sendToPeer: (_p: PublicKey, _m: unknown) => undefined, onMessage: () => undefined };
    h.inst.instrumentTransport(t);
    t.sendToPeer(new PublicKey(B), 'x');
    t.sendToPeer({} as PublicKey, 'y');
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B })).toBe(1);
    expect(valueOf(rm, 'messagesSent', { peer_id: 'other' })).toBe(1);
    expect(rejected(rm, 'invalid_peer_id')).toBe(1);
    await h.shutdown();
  });

  it('labels raw key bytes (Buffer, Uint8Array, DataView) by their hex, never by Buffer.toString()', async () => {
    const h = harness();
    const t = { sendToPeer: (_p: unknown, _m: unknown) => undefined, onMessage: () => undefined };
    h.inst.instrumentTransport(t);
    const key = Buffer.from('00ff10abcdef', 'hex');
    t.sendToPeer(key, 'x');
    t.sendToPeer(new Uint8Array(key), 'x');
    const bytes = new Uint8Array(7);
    bytes.set([9, ...key]);
    t.sendToPeer(new DataView(bytes.buffer, 1, 6), 'x'); // a view with an offset
    t.sendToPeer(new Uint8Array(0), 'x'); // no bytes: not an id
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: '00ff10abcdef' })).toBe(3);
    expect(valueOf(rm, 'messagesSent', { peer_id: 'other' })).toBe(1);
    expect(rejected(rm, 'invalid_peer_id')).toBe(1);
    await h.shutdown();
  });

  it('latencyEvery times one send in N; every send is still counted', async () => {
    const h = harness();
    const t = { sendToPeer: (_p: string, _m: unknown) => h.advance(2), onMessage: () => undefined };
    h.inst.instrumentTransport(t, { latencyEvery: 3 });
    for (let i = 0; i < 7; i++) t.sendToPeer(B, 'abcd');
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B })).toBe(7);
    expect(valueOf(rm, 'bytesSent', { peer_id: B })).toBe(28);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'other' })).toMatchObject({ count: 2, sum: 4 }); // sends 3 and 6
    await h.shutdown();
  });

  it("latencyEvery 'auto' (default) times every send at ordinary rates and samples 1 in N above maxTimedSendsPerSecond", async () => {
    const h = harness();
    const t = { sendToPeer: (_p: string, _m: unknown) => h.advance(1), onMessage: () => undefined };
    h.inst.instrumentTransport(t, { maxTimedSendsPerSecond: 100 });
    const latencyCount = async () => hist(await h.collect(), 'messageLatency', { peer_id: B, message_type: 'other' })?.count ?? 0;
    // Interval 1: 50 sends over 50 ms = 1,000/s, 10x the cap; timed exactly until the first collection.
    for (let i = 0; i < 50; i++) t.sendToPeer(B, 'ab');
    expect(await latencyCount()).toBe(50);
    // Interval 2: one in ceil(50 / (0.05 s x 100/s)) = 10 is timed: sends 1, 11, 21, 31 and 41.
    for (let i = 0; i < 50; i++) t.sendToPeer(B, 'ab');
    expect(await latencyCount()).toBe(55);
    // Interval 3: slow again (5 sends in 10 s). Still 1 in 10 until the next collection: the
    // countdown left by interval 2 (sends 1, 11, ..., 41 timed) times the first of these 5 only.
    h.advance(10_000);
    for (let i = 0; i < 5; i++) t.sendToPeer(B, 'ab');
    const after3 = await latencyCount();
    expect(after3).toBe(56);
    for (let i = 0; i < 5; i++) t.sendToPeer(B, 'ab');
    expect(await latencyCount()).toBe(after3 + 5);
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B })).toBe(110); // every send counted, timed or not
    await h.shutdown();
  });

  it("latencyEvery 'auto' samples a burst from its second rate window, before any collection", async () => {
    const h = harness();
    const t = { sendToPeer: (_p: string, _m: unknown) => h.advance(1), onMessage: () => undefined };
    h.inst.instrumentTransport(t, { maxTimedSendsPerSecond: 100 });
    // 1,000 sends a second, 10x the cap. The first window of 1,024 sends is timed in full; at its
    // last send 1,023 ms have passed, so N = ceil(1,024 / (1.023 s x 100/s)) = 11: sends 1,035,
    // 1,046, ..., 3,068 (186 of them). Without the window all 3,072 would be timed.
    for (let i = 0; i < 3 * 1024; i++) t.sendToPeer(B, 'ab');
    const rm = await h.collect();
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'other' })?.count).toBe(1024 + 186);
    expect(valueOf(rm, 'messagesSent', { peer_id: B })).toBe(3 * 1024);
    // Windows slower than the cap (1,024 sends over 1,024 s) leave every send timed.
    const slow = { sendToPeer: (_p: string, _m: unknown) => h.advance(1000), onMessage: () => undefined };
    h.inst.instrumentTransport(slow, { maxTimedSendsPerSecond: 100 });
    for (let i = 0; i < 2048; i++) slow.sendToPeer(A, 'ab');
    expect(hist(await h.collect(), 'messageLatency', { peer_id: A, message_type: 'other' })?.count).toBe(2048);
    await h.shutdown();
  });

  it('latencyEvery: 1 times every send at any rate', async () => {
    const h = harness();
    const t = { sendToPeer: (_p: string, _m: unknown) => h.advance(1), onMessage: () => undefined };
    h.inst.instrumentTransport(t, { latencyEvery: 1, maxTimedSendsPerSecond: 1 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) t.sendToPeer(B, 'ab');
      await h.collect();
    }
    expect(hist(await h.collect(), 'messageLatency', { peer_id: B, message_type: 'other' })).toMatchObject({ count: 300, sum: 300 });
    await h.shutdown();
  });

  it('rejects invalid options before wrapping anything', async () => {
    const h = harness();
    const send = () => undefined;
    for (const bad of [{ latency: 'sometimes' }, { latencyEvery: 0 }, { latencyEvery: 'sometimes' }, { maxTimedSendsPerSecond: 0 }, { maxPendingAcks: 1.5 }, { ackTimeoutMs: -1 }] as const) {
      const t = { sendToPeer: send, onMessage: () => undefined };
      h.inst.instrumentTransport(t, bad as never);
      expect(t.sendToPeer).toBe(send);
    }
    expect(rejected(await h.collect(), 'internal_error')).toBe(6); // P2pInstrumentation logs and counts them
    await h.shutdown();
  });

  it("latency 'none' records messages without latency", async () => {
    const h = harness();
    const a = h.network.join(A);
    h.network.join(B);
    h.inst.instrumentTransport(a, { latency: 'none' });
    const sent = a.sendToPeer(B, message('gossip', 3));
    h.advance(9);
    h.network.deliverAll();
    await sent;
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'gossip' })).toBe(1);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'gossip' })).toBeUndefined();
    await h.shutdown();
  });
});

describe('transport: any input', () => {
  it('any arguments, results and errors pass through; nothing counts as an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.anything(), { maxLength: 4 }),
        fc.anything(),
        fc.boolean(),
        fc.constantFrom<'settle' | 'ack' | 'none'>('settle', 'ack', 'none'),
        async (args, value, throws, latency) => {
          const h = harness();
          const got: unknown[] = [];
          const t = {
            sendToPeer(..._a: unknown[]) {
              if (throws) throw value;
              return value;
            },
            onMessage(handler: (...a: unknown[]) => unknown) {
              got.push(handler.apply(t, args));
            },
          };
          h.inst.instrumentTransport(t, { latency });
          let outcome: unknown;
          try {
            outcome = t.sendToPeer(...args);
          } catch (e) {
            outcome = e;
          }
          expect(outcome).toBe(value);
          t.onMessage((...a: unknown[]) => (expect(a).toEqual(args), value));
          expect(got[0]).toBe(value);
          const rm = await h.collect();
          expect(rejected(rm, 'internal_error')).toBe(0);
          h.inst.uninstrument(t);
          await h.shutdown();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('transport: failed sends', () => {
  it('are not messages: each counts one connection error of its classified type, and reaches the app unchanged', async () => {
    const h = harness();
    const network = new InProcessNetwork({ autoDeliver: false, queueCapacity: 1 });
    const a = network.join(A);
    network.join(B);
    h.inst.instrumentTransport(a);
    const refused = a.sendToPeer('node-x', message('block', 10));
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const queued = a.sendToPeer(B, message('block', 10));
    await expect(a.sendToPeer(B, message('block', 10))).rejects.toMatchObject({ code: 'ENOBUFS' });
    network.leave(B);
    network.deliverAll();
    await expect(queued).rejects.toMatchObject({ code: 'ECONNRESET' });

    const rm = await h.collect();
    expect(valueOf(rm, 'connectionErrors', { peer_id: 'node-x', error_type: 'refused' })).toBe(1);
    expect(valueOf(rm, 'connectionErrors', { peer_id: B, error_type: 'other' })).toBe(1); // queue full
    expect(valueOf(rm, 'connectionErrors', { peer_id: B, error_type: 'reset' })).toBe(1);
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'block' })).toBeUndefined();
    expect(valueOf(rm, 'bufferOverflows', { peer_id: B })).toBe(1);
    await h.shutdown();
  });

  it('rethrows a synchronous throw as the same object; errorType decides the type or skips it', async () => {
    const h = harness();
    const boom = Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' });
    const t = {
      sendToPeer(peer: string): string {
        if (peer === 'skip' || peer === B) throw boom;
        return 'ok';
      },
      onMessage: () => undefined,
    };
    h.inst.instrumentTransport(t, { errorType: (_e, args) => (args[0] === 'skip' ? undefined : 'timeout') });
    expect(() => t.sendToPeer(B)).toThrow(boom);
    let thrown: unknown;
    try {
      t.sendToPeer('skip');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(boom);
    expect(t.sendToPeer(A)).toBe('ok');
    const rm = await h.collect();
    expect(valueOf(rm, 'connectionErrors', { peer_id: B, error_type: 'timeout' })).toBe(1);
    expect(valueOf(rm, 'connectionErrors', { peer_id: 'skip' })).toBeUndefined();
    expect(valueOf(rm, 'messagesSent', { peer_id: A })).toBe(1);
    await h.shutdown();
  });

  it('a throwing extractor is an internal error of ours: the send is unaffected', async () => {
    const h = harness();
    const a = h.network.join(A);
    h.network.join(B);
    h.inst.instrumentTransport(a, {
      messageType: () => {
        throw new Error('extractor bug');
      },
    });
    const sent = a.sendToPeer(B, message('block', 1));
    h.network.deliverAll();
    await expect(sent).resolves.toBeUndefined();
    expect(rejected(await h.collect(), 'internal_error')).toBe(1);
    await h.shutdown();
  });
});

describe("transport: latency 'ack'", () => {
  /** A and B where B's app acknowledges every message that has an id. */
  function ackPair(options: Parameters<P2pInstrumentation['instrumentTransport']>[1] = {}) {
    const h = harness();
    const a = h.network.join(A);
    const b = h.network.join(B);
    h.inst.instrumentTransport(a, { latency: 'ack', received: { ackOf: (m) => (m as Message).ackOf }, ...options });
    h.inst.instrumentTransport(b);
    b.onMessage((from, m) => {
      if (m.id !== undefined) void b.sendToPeer(from, { type: 'ack', ackOf: m.id, payload: new Uint8Array(0) });
    });
    a.onMessage(() => undefined); // acks are seen through A's handlers: A must have one
    return { h, a, b };
  }

  it('records a send when its acknowledgement arrives, with latency from the send call', async () => {
    const { h, a } = ackPair();
    const sent = a.sendToPeer(B, message('request', 10, 'm1'));
    h.advance(3);
    h.network.node(A)!.deliver(); // A → B; B queues the ack
    await sent;
    let rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBeUndefined();
    expect(transportAckStats(a)).toEqual({ pending: 1, acknowledged: 0, evicted: 0, expired: 0, unmatched: 0 });
    h.advance(4);
    h.network.deliverAll(); // B → A: the ack
    rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(1);
    expect(valueOf(rm, 'bytesSent', { peer_id: B })).toBe(10);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'request' })).toMatchObject({ count: 1, sum: 7 });
    expect(valueOf(rm, 'messagesReceived', { peer_id: B, message_type: 'ack' })).toBe(1);
    expect(transportAckStats(a)).toMatchObject({ pending: 0, acknowledged: 1 });
    await h.shutdown();
  });

  it('takes acknowledgements from acknowledgeMessage(); messages without an id are recorded at once', async () => {
    const h = harness();
    const a = h.network.join(A);
    h.network.join(B);
    h.inst.instrumentTransport(a, { latency: 'ack', messageId: (m) => (m as Message).id });
    const sends = [a.sendToPeer(B, message('request', 4, 'x')), a.sendToPeer(B, message('notice', 2))];
    h.network.deliverAll();
    await Promise.all(sends);
    h.advance(12);
    expect(acknowledgeMessage(a, 'x')).toBe(true);
    expect(acknowledgeMessage(a, 'x')).toBe(false);
    expect(acknowledgeMessage({}, 'x')).toBe(false);
    expect(acknowledgeMessage(null as never, 'x')).toBe(false);
    const rm = await h.collect();
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'request' })).toMatchObject({ count: 1, sum: 12 });
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'notice' })).toBe(1);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'notice' })).toBeUndefined();
    expect(transportAckStats(a)).toMatchObject({ acknowledged: 1, unmatched: 1 });
    await h.shutdown();
  });

  it('holds at most maxPendingAcks sends: the oldest are recorded without latency, and counted', async () => {
    const { h, a } = ackPair({ maxPendingAcks: 2 });
    for (const id of ['m1', 'm2', 'm3']) void a.sendToPeer(B, message('request', 1, id));
    h.network.node(A)!.deliver(); // A → B only; acks stay queued at B
    await new Promise((r) => setImmediate(r));
    expect(transportAckStats(a)).toMatchObject({ pending: 2, evicted: 1 });
    let rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(1);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'request' })).toBeUndefined();
    h.network.deliverAll();
    rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(3);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'request' })).toMatchObject({ count: 2 });
    expect(transportAckStats(a)).toMatchObject({ pending: 0, acknowledged: 2, unmatched: 1 }); // m1's ack came late
    await h.shutdown();
  });

  it('records sends unacknowledged after ackTimeoutMs at the next collection, and pending ones on restore', async () => {
    const { h, a } = ackPair({ ackTimeoutMs: 1_000 });
    void a.sendToPeer(B, message('request', 1, 'old'));
    h.network.node(A)!.deliver();
    await new Promise((r) => setImmediate(r));
    h.advance(1_500);
    void a.sendToPeer(B, message('request', 1, 'new'));
    h.network.node(A)!.deliver();
    await new Promise((r) => setImmediate(r));
    let rm = await h.collect();
    expect(transportAckStats(a)).toMatchObject({ pending: 1, expired: 1 });
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(1);
    h.inst.uninstrument(a);
    expect(transportAckStats(a)).toBeUndefined();
    rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(2);
    expect(hist(rm, 'messageLatency', { peer_id: B, message_type: 'request' })).toBeUndefined();
    await h.shutdown();
  });
});

describe('transport: send queue', () => {
  it('feeds buffered messages and bytes, delivery delay and overflows from the queue events', async () => {
    const h = harness();
    let now = 0;
    const network = new InProcessNetwork({ autoDeliver: false, queueCapacity: 2, clock: () => now });
    const a = network.join(A);
    network.join(B);
    h.inst.instrumentTransport(a);
    const sends = [a.sendToPeer(B, message('block', 100)), a.sendToPeer(B, message('block', 50))];
    await expect(a.sendToPeer(B, message('block', 1))).rejects.toThrow('full');
    let rm = await h.collect();
    expect(valueOf(rm, 'bufferedMessages', { peer_id: B })).toBe(2);
    expect(valueOf(rm, 'bufferedBytes', { peer_id: B })).toBe(150);
    expect(valueOf(rm, 'bufferOverflows', { peer_id: B })).toBe(1);
    now = 8;
    network.deliverAll();
    await Promise.all(sends);
    rm = await h.collect();
    expect(valueOf(rm, 'bufferedMessages', { peer_id: B })).toBe(0);
    expect(valueOf(rm, 'bufferedBytes', { peer_id: B })).toBe(0);
    expect(hist(rm, 'deliveryDelay', { peer_id: B })).toMatchObject({ count: 2, sum: 16 });
    await h.shutdown();
  });

  it('takes the queue from options.queue; restore removes our listeners and empties the buffered gauges', async () => {
    const h = harness();
    const queue = new EventEmitter();
    const appListener = jest.fn();
    queue.on('enqueue', appListener);
    const t = { sendToPeer: () => undefined, onMessage: () => undefined, outbox: queue };
    h.inst.instrumentTransport(t, { queue: (x) => (x as typeof t).outbox });
    expect(queue.listenerCount('enqueue')).toBe(2);
    expect(queue.listeners('enqueue')[0]).toBe(appListener);
    queue.emit('enqueue', B, 10);
    queue.emit('enqueue', B, 5);
    queue.emit('enqueue', A, 1);
    queue.emit('dequeue', A, 1, 2);
    expect(appListener).toHaveBeenCalledTimes(3);
    expect(valueOf(await h.collect(), 'bufferedMessages', { peer_id: B })).toBe(2);
    h.inst.uninstrument(t);
    expect(['enqueue', 'dequeue', 'overflow'].map((e) => queue.listenerCount(e))).toEqual([1, 0, 0]);
    const rm = await h.collect();
    expect(valueOf(rm, 'bufferedMessages', { peer_id: B })).toBe(0);
    expect(valueOf(rm, 'bufferedBytes', { peer_id: B })).toBe(0);
    expect(hist(rm, 'deliveryDelay', { peer_id: A })).toMatchObject({ count: 1, sum: 2 });
    queue.emit('enqueue', B, 10);
    expect(valueOf(await h.collect(), 'bufferedMessages', { peer_id: B })).toBe(0);
    await h.shutdown();
  });

  it('keeps the queued depth right across sweeps of drained peers (thousands of peers come and go)', async () => {
    const h = harness();
    const queue = new EventEmitter();
    const t = { sendToPeer: () => undefined, onMessage: () => undefined, queue };
    h.inst.instrumentTransport(t);
    const held = ['held-0', 'held-1', 'held-2'];
    for (const peer of held) queue.emit('enqueue', peer, 7), queue.emit('enqueue', peer, 3);
    // Each drained peer leaves a record at zero; past 1,024 of them they are swept.
    for (let i = 0; i < 3_000; i++) {
      queue.emit('enqueue', `p${i}`, 1);
      queue.emit('dequeue', `p${i}`, 1);
      if (i === 1_500) queue.emit('dequeue', 'held-2', 3); // one message of a held peer leaves mid-way
    }
    queue.emit('enqueue', 'p5', 4); // drained and swept long ago, queued again
    queue.emit('dequeue', 'p5', 4); // its record is back: leaves normally
    queue.emit('dequeue', 'p5', 4); // a dequeue without its enqueue: ignored, as before
    let rm = await h.collect();
    expect(held.map((peer) => valueOf(rm, 'bufferedMessages', { peer_id: peer }))).toEqual([2, 2, 1]);
    h.inst.uninstrument(t);
    rm = await h.collect();
    expect(held.map((peer) => valueOf(rm, 'bufferedMessages', { peer_id: peer }))).toEqual([0, 0, 0]);
    expect(held.map((peer) => valueOf(rm, 'bufferedBytes', { peer_id: peer }))).toEqual([0, 0, 0]);
    await h.shutdown();
  });

  it('a throwing options.queue is an internal error: the rest is instrumented and restorable', async () => {
    const h = harness();
    const send = () => 'sent';
    const t = { sendToPeer: send, onMessage: () => undefined };
    h.inst.instrumentTransport(t, {
      queue: () => {
        throw new Error('no queue here');
      },
    });
    expect(t.sendToPeer).not.toBe(send);
    t.sendToPeer();
    const rm = await h.collect();
    expect(rejected(rm, 'internal_error')).toBe(1);
    expect(valueOf(rm, 'messagesSent', { peer_id: 'other' })).toBe(1);
    h.inst.uninstrument(t);
    expect(t.sendToPeer).toBe(send);
    await h.shutdown();
  });

  it('never throws into the queue emit, whatever the event carries', async () => {
    const h = harness();
    const queue = new EventEmitter();
    h.inst.instrumentTransport({ sendToPeer: () => undefined, onMessage: () => undefined, queue });
    expect(() => {
      queue.emit('enqueue', 42, 'many');
      queue.emit('dequeue', undefined, -1, NaN);
      queue.emit('overflow');
    }).not.toThrow();
    const rm = await h.collect();
    expect(rejected(rm, 'invalid_number')).toBe(1);
    expect(rejected(rm, 'negative')).toBe(1);
    await h.shutdown();
  });
});

describe('transport: incoming handlers', () => {
  it('get the same this and arguments; their return value and errors reach the transport unchanged', async () => {
    const h = harness();
    const b = h.network.join(B);
    h.inst.instrumentTransport(b);
    const seen: { self: unknown; args: unknown[] }[] = [];
    const result = { handled: true };
    const boom = new Error('handler failed');
    function handler(this: unknown, ...args: unknown[]) {
      seen.push({ self: this, args });
      if ((args[1] as Message).type === 'bad') throw boom;
      return result;
    }
    b.onMessage(handler);
    const m1 = message('good', 1);
    b.receive(A, m1);
    b.receive(A, message('bad', 1));
    expect(seen[0]).toEqual({ self: b, args: [A, m1] });
    expect(seen[0]!.args[1]).toBe(m1);
    expect(b.handlerResults).toEqual([result]);
    expect(b.handlerResults[0]).toBe(result);
    expect(b.handlerErrors).toEqual([boom]);
    expect(b.handlerErrors[0]).toBe(boom);
    // Extra arguments and any `this` pass through too.
    const registered = b.registeredHandlers()[0]! as unknown as (this: unknown, ...a: unknown[]) => unknown;
    expect(registered).not.toBe(handler);
    expect(registered.name).toBe('handler');
    const self = {};
    expect(registered.call(self, A, m1, 'extra')).toBe(result);
    expect(seen[2]).toEqual({ self, args: [A, m1, 'extra'] });
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesReceived', { peer_id: A, message_type: 'bad' })).toBe(1); // counted though it failed
    expect(valueOf(rm, 'messagesReceived', { peer_id: A, message_type: 'good' })).toBe(2);
    await h.shutdown();
  });

  it('keep registration semantics: one wrapper per handler, offMessage and unsubscribe find it', async () => {
    const h = harness();
    const b = h.network.join(B);
    h.inst.instrumentTransport(b);
    const handler = jest.fn();
    const unsubscribe = b.onMessage(handler);
    b.onMessage(handler);
    expect(b.handlerCount).toBe(1);
    expect(b.offMessage(handler)).toBe(true);
    expect(b.handlerCount).toBe(0);
    b.onMessage(handler);
    unsubscribe();
    expect(b.handlerCount).toBe(0);
    await h.shutdown();
  });

  it('registered before instrumentation are not seen (documented); Node EventEmitter finds wrapped ones by the original', async () => {
    const h = harness();
    const b = h.network.join(B);
    const early = jest.fn();
    b.onMessage(early);
    h.inst.instrumentTransport(b);
    b.receive(A, message('block', 5));
    expect(early).toHaveBeenCalledTimes(1);
    expect(b.registeredHandlers()).toEqual([early]);
    expect(valueOf(await h.collect(), 'messagesReceived', { peer_id: A, message_type: 'block' })).toBeUndefined();

    const ee = new EventEmitter();
    h.inst.instrumentTransport(Object.assign(ee, { sendToPeer: () => undefined }), { methods: { onMessage: 'on' }, event: 'message' });
    const listener = jest.fn();
    ee.on('message', listener);
    expect(ee.listeners('message')).toEqual([listener]); // unwrapped through `listener`
    ee.emit('message', A, 'hi');
    expect(listener).toHaveBeenCalledWith(A, 'hi');
    ee.removeListener('message', listener);
    expect(ee.listenerCount('message')).toBe(0);
    await h.shutdown();
  });
});

describe('transport: restore', () => {
  it('puts back the very same methods, removes queue listeners and turns handlers wrapped meanwhile into pass-throughs', async () => {
    const h = harness();
    const a = h.network.join(A);
    const b = h.network.join(B);
    const proto = ReferenceTransport.prototype;
    h.inst.instrumentTransport(a);
    h.inst.instrumentTransport(b);
    expect(Object.hasOwn(a, 'sendToPeer')).toBe(true);
    const during = jest.fn();
    b.onMessage(during);
    expect(a.queue.listenerCount('enqueue')).toBe(1);

    h.inst.uninstrument(a);
    h.inst.uninstrument(b);
    for (const t of [a, b]) {
      expect(t.sendToPeer).toBe(proto.sendToPeer);
      expect(t.onMessage).toBe(proto.onMessage);
      expect(['enqueue', 'dequeue', 'overflow'].map((e) => t.queue.listenerCount(e))).toEqual([0, 0, 0]);
    }
    expect(a.offMessage).toBe(proto.offMessage);
    expect(Object.getOwnPropertyNames(a)).not.toEqual(expect.arrayContaining(['sendToPeer', 'onMessage', 'offMessage']));
    // b holds our wrapper of `during`: offMessage stays ours (translating only) until it is removed.
    expect(Object.hasOwn(b, 'offMessage')).toBe(true);
    const after = jest.fn();
    b.onMessage(after);
    expect(b.registeredHandlers()[1]).toBe(after); // registered unwrapped
    const sent = a.sendToPeer(B, message('block', 10));
    h.network.deliverAll();
    await sent;
    expect(during).toHaveBeenCalledTimes(1);
    expect(after).toHaveBeenCalledTimes(1);
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B })).toBeUndefined();
    expect(valueOf(rm, 'messagesReceived', { peer_id: A })).toBeUndefined();
    b.offMessage(during);
    expect(b.registeredHandlers()).toEqual([after]); // found through the swap
    expect(b.offMessage).toBe(proto.offMessage); // and then restored exactly
    expect(Object.getOwnPropertyNames(b)).not.toEqual(expect.arrayContaining(['sendToPeer', 'onMessage', 'offMessage']));
    await h.shutdown();
  });

  it('a deregistration method mapped to the send or registration method is never left wrapped by restore', async () => {
    const h = harness();
    const send = function sendToPeer(_p: string, _m: unknown): void {};
    const on = function on(_h: unknown): void {};
    const t = { sendToPeer: send, on };
    h.inst.instrumentTransport(t, { methods: { onMessage: 'on', offMessage: 'sendToPeer' } });
    t.on(() => undefined); // a wrapper of ours is now held: an ordinary offMessage would linger
    h.inst.uninstrument(t);
    expect(t.sendToPeer).toBe(send);
    expect(t.on).toBe(on);
    t.sendToPeer(B, 'after');
    expect(valueOf(await h.collect(), 'messagesSent', { peer_id: B })).toBeUndefined();
    await h.shutdown();
  });

  it('restores own-property methods exactly (descriptor and identity)', async () => {
    const h = harness();
    const send = () => 'sent';
    const on = () => 'registered';
    const t: Record<string, unknown> = { sendToPeer: send };
    Object.defineProperty(t, 'onMessage', { value: on, writable: true, enumerable: false, configurable: true });
    const before = [Object.getOwnPropertyDescriptor(t, 'sendToPeer'), Object.getOwnPropertyDescriptor(t, 'onMessage')];
    h.inst.instrumentTransport(t);
    expect(t.sendToPeer).not.toBe(send);
    h.inst.uninstrument(t);
    expect([Object.getOwnPropertyDescriptor(t, 'sendToPeer'), Object.getOwnPropertyDescriptor(t, 'onMessage')]).toEqual(before);
    expect(t.sendToPeer).toBe(send);
    expect(Object.keys(t)).toEqual(['sendToPeer']);
    await h.shutdown();
  });

  it('disable() stops recording and restores; enable() wraps again and handlers wrapped before observe again', async () => {
    const h = harness();
    const a = h.network.join(A);
    const b = h.network.join(B);
    h.inst.instrumentTransport(a);
    h.inst.instrumentTransport(b);
    const handler = jest.fn();
    b.onMessage(handler);
    const round = async (type: string) => {
      const sent = a.sendToPeer(B, message(type, 1));
      h.network.deliverAll();
      await sent;
    };
    await round('first');
    h.inst.disable();
    expect(a.sendToPeer).toBe(ReferenceTransport.prototype.sendToPeer);
    await round('second');
    h.inst.enable();
    expect(a.sendToPeer).not.toBe(ReferenceTransport.prototype.sendToPeer);
    await round('third');
    expect(handler).toHaveBeenCalledTimes(3);
    const rm = await h.collect();
    expect(['first', 'second', 'third'].map((t) => valueOf(rm, 'messagesSent', { peer_id: B, message_type: t }))).toEqual([1, undefined, 1]);
    expect(['first', 'second', 'third'].map((t) => valueOf(rm, 'messagesReceived', { peer_id: A, message_type: t }))).toEqual([1, undefined, 1]);
    await h.shutdown();
  });

  // Guards the order in P2pInstrumentation.disable(): the objects are restored before
  // super.disable() shadows the record methods, so the records restore() makes (pending acks,
  // queue drain) are kept.
  it('disable() records what restore() settles: pending acks and the queued depth', async () => {
    const h = harness();
    const a = h.network.join(A);
    h.network.join(B);
    h.inst.instrumentTransport(a, { latency: 'ack' });
    void a.sendToPeer(B, message('request', 10, 'm1'));
    h.inst.disable();
    const rm = await h.collect();
    expect(valueOf(rm, 'messagesSent', { peer_id: B, message_type: 'request' })).toBe(1);
    expect(valueOf(rm, 'bufferedMessages', { peer_id: B })).toBe(0);
    await h.shutdown();
  });

  it('leaves a transport another instrumentation holds alone, and its restore does not undo the other', async () => {
    const h = harness();
    const other = harness();
    const a = h.network.join(A);
    h.network.join(B);
    h.inst.instrumentTransport(a);
    const wrapped = a.sendToPeer;
    other.inst.instrumentTransport(a);
    other.inst.uninstrument(a);
    expect(a.sendToPeer).toBe(wrapped);
    const sent = a.sendToPeer(B, message('block', 1));
    h.network.deliverAll();
    await sent;
    expect(valueOf(await h.collect(), 'messagesSent', { peer_id: B })).toBe(1);
    expect(valueOf(await other.collect(), 'messagesSent', { peer_id: B })).toBeUndefined();
    await Promise.all([h.shutdown(), other.shutdown()]);
  });
});
