import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isWrapped, RecordingP2pMonitor } from '@p2p-otel/instrumentation';
import { IrohInstrumentation } from '../src/index.js';
import { fastPath, type Harness } from '../../instrumentation/test/support/collect.js';
import { valueOf } from '../../instrumentation/test/support/read.js';
import { ALPN, ALPN_TEXT, bytes, Endpoints, loadIroh, prototypeSnapshot, sleep, until, type Connection, type Endpoint } from './support/iroh.js';

/**
 * Real Iroh endpoints on loopback (no mocks): every test dials, accepts, streams and closes
 * through @number0/iroh 1.1.0 and reads what the instrumentation recorded.
 */

const iroh = loadIroh();
const PRISTINE = prototypeSnapshot(iroh);
const label = (id: { toString(): string }): string => String(id).slice(0, 10); // the default `short` peer label

let endpoints: Endpoints;
let instrumentations: IrohInstrumentation[];
let harnesses: Harness[];

beforeEach(() => {
  endpoints = new Endpoints(iroh);
  instrumentations = [];
  harnesses = [];
});

afterEach(async () => {
  for (const inst of instrumentations) inst.disable();
  await endpoints.closeAll();
  await Promise.all(harnesses.map((h) => h.provider.shutdown()));
  expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE)).toEqual([]);
});

function instrument(monitor: IrohInstrumentation['monitor'], options: Partial<ConstructorParameters<typeof IrohInstrumentation>[0]> = {}): IrohInstrumentation {
  const inst = new IrohInstrumentation({ monitor, closePollIntervalMs: 20, ...options });
  instrumentations.push(inst);
  return inst;
}

function harness(): Harness {
  const h = fastPath({ protocolVersions: [ALPN_TEXT] });
  harnesses.push(h);
  return h;
}

/** Keys whose descriptor differs from the reference (values compared by identity). */
function sameSnapshot(now: Map<string, PropertyDescriptor>, reference: Map<string, PropertyDescriptor>): string[] {
  const keys = new Set([...now.keys(), ...reference.keys()]);
  const differing: string[] = [];
  for (const key of keys) {
    const a = now.get(key);
    const b = reference.get(key);
    if (a === undefined || b === undefined) differing.push(key);
    else if (a.value !== b.value || a.get !== b.get || a.set !== b.set || a.writable !== b.writable || a.enumerable !== b.enumerable || a.configurable !== b.configurable) differing.push(key);
  }
  return differing;
}

/** Two new endpoints, the client connected to the server: both sides and both node ids. */
async function connectedPair(): Promise<{ S: string; C: string; conn: Connection; serverConn: Connection }> {
  const server = await endpoints.bind();
  const client = await endpoints.bind();
  const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
  const conn = await client.connect(server.addr(), ALPN);
  return { S: String(server.id()), C: String(client.id()), conn, serverConn: await accepted };
}

/** Accepts one connection on `server`, echoes one bi stream, returns the server-side connection. */
async function echoServer(server: Endpoint): Promise<Connection> {
  const incoming = await server.acceptNext();
  const conn = await (await incoming!.accept()).connect();
  const bi = await conn.acceptBi();
  const data = await bi.recv.readToEnd(1 << 20);
  await bi.send.writeAll(data);
  await bi.send.finish();
  return conn;
}

describe('IrohInstrumentation on real endpoints (prototypes patched)', () => {
  it('records a dial, an accept, a stream, data, RTT, path and the close, exported through the fast path', async () => {
    const h = harness();
    instrument(h.monitor).instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = label(server.id());
    const C = label(client.id());

    const serverSide = echoServer(server);
    const conn = await client.connect(server.addr(), ALPN);
    const bi = await conn.openBi();
    await bi.send.writeAll(bytes(4096));
    await bi.send.finish();
    let rm = await h.collect();
    // the send half is finished, the receive half not yet read: the stream is still open
    expect(valueOf(rm, 'quicStreams', { peer_id: S, direction: 'outbound' })).toBe(1);
    expect((await bi.recv.readToEnd(1 << 20)).length).toBe(4096);
    const serverConn = await serverSide;

    rm = await h.collect();
    expect(valueOf(rm, 'connectionAttempts', { peer_id: S, result: 'success' })).toBe(1);
    expect(valueOf(rm, 'connectionAttempts', { peer_id: C })).toBeUndefined(); // accepts are not attempts
    for (const peer of [S, C]) {
      expect(valueOf(rm, 'connectionStateTransitions', { peer_id: peer, from_state: 'disconnected', to_state: 'connecting' })).toBe(1);
      expect(valueOf(rm, 'connectionStateTransitions', { peer_id: peer, from_state: 'connecting', to_state: 'connected' })).toBe(1);
      expect(valueOf(rm, 'handshakeDuration', { peer_id: peer })).toMatchObject({ count: 1 });
      expect(valueOf(rm, 'protocolVersion', { peer_id: peer, version: ALPN_TEXT })).toBe(1);
      expect(valueOf(rm, 'peerDistance', { peer_id: peer })).toBe(1); // direct path on loopback
      expect(valueOf(rm, 'quicPacketLoss', { peer_id: peer })).toBe(0);
      expect(valueOf(rm, 'rtt', { peer_id: peer })).toMatchObject({ count: expect.any(Number) });
      expect(valueOf(rm, 'pingLatency', { peer_id: peer })).toEqual(expect.any(Number));
      // wire bytes: the 4 KiB each way plus QUIC framing and the handshake
      expect(valueOf(rm, 'bytesSent', { peer_id: peer })).toBeGreaterThan(4096);
      expect(valueOf(rm, 'bytesReceived', { peer_id: peer })).toBeGreaterThan(4096);
    }
    expect(valueOf(rm, 'quicStreams', { peer_id: S, direction: 'outbound' })).toBe(0); // finished and read to the end
    expect(valueOf(rm, 'quicStreams', { peer_id: C, direction: 'inbound' })).toBe(0);
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(2);
    expect(valueOf(rm, 'connectionsActive', { state: 'connecting' })).toBe(0);

    conn.close(0n, Array.from(Buffer.from('bye')));
    await until(() => serverConn.closeReason() !== null, 3000, 'the peer to see the close');
    await until(() => instrumentations[0]!.trackedConnections === 0, 3000, 'both closes to be recorded');
    rm = await h.collect();
    for (const peer of [S, C]) {
      expect(valueOf(rm, 'connectionStateTransitions', { peer_id: peer, from_state: 'connected', to_state: 'disconnecting' })).toBe(1);
      expect(valueOf(rm, 'connectionStateTransitions', { peer_id: peer, from_state: 'disconnecting', to_state: 'disconnected' })).toBe(1);
      expect(valueOf(rm, 'connectionDuration', { peer_id: peer })).toMatchObject({ count: 1 });
      expect(valueOf(rm, 'protocolVersion', { peer_id: peer, version: ALPN_TEXT })).toBe(0);
      // "closed" here, "closed by peer: bye (code 0)" there: both normal closes
      expect(valueOf(rm, 'connectionErrors', { peer_id: peer })).toBeUndefined();
    }
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(0);
    expect(h.monitor.rejectedRecords()).toMatchObject({ internal_error: 0, invalid_peer_id: 0, invalid_number: 0 });
  });

  it('counts uni streams both ways, and closes streams left open when the connection closes', async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    const { S, C, conn, serverConn } = await connectedPair();

    const received = serverConn.acceptUni().then(async (recv) => {
      let total = 0;
      for (;;) {
        const chunk = await recv.read(1000);
        if (chunk.length === 0) return total; // end of stream
        total += chunk.length;
      }
    });
    const send = await conn.openUni();
    await send.writeAll(bytes(2500));
    await send.finish();
    expect(await received).toBe(2500);
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual([
      [S, 'outbound'],
      [C, 'inbound'],
    ]);
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual(
      expect.arrayContaining([
        [S, 'outbound'],
        [C, 'inbound'],
      ]),
    );

    // Opened and never finished: closed with the connection.
    monitor.clear();
    const open = await conn.openBi();
    await open.send.write(bytes(10));
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual([[S, 'outbound']]);
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual([]);
    conn.close(0n, []);
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual([[S, 'outbound']]);
    expect(monitor.accepted('recordConnectionDuration')).toEqual([[S, expect.any(Number)]]);
  });

  it('a stream the application drops unfinished is counted closed at the close poll after it was collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    // Both sides held to the end: a collected connection closes, and its close counts its streams.
    const { S, conn, serverConn } = await connectedPair();
    await (async () => {
      const bi = await conn.openBi();
      await bi.send.write(bytes(10)); // neither half done: only its collection can end it
    })();
    await sleep(100); // several close polls: the stream is still referenced only by the application's (dropped) objects
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual([]);
    await until(
      () => {
        gc();
        return monitor.accepted('recordQuicStreamClosed').length > 0;
      },
      5000,
      'the dropped stream to be collected and counted closed',
    );
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual([[S, 'outbound']]);
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual([[S, 'outbound']]);
    expect(monitor.accepted('recordConnectionDuration')).toEqual([]); // the connection is still open
    conn.close(0n, []);
    serverConn.close(0n, []);
    expect(monitor.accepted('recordQuicStreamClosed')).toHaveLength(1); // not counted again with the connection
  });

  it('a refusing peer: a failed attempt, classified refused', async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = String(server.id());
    void server.acceptNext().then((incoming) => incoming?.refuse());
    const error = await client.connect(server.addr(), ALPN).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Iroh 1.1.0: "… aborted by peer: the server refused to accept a new connection"
    expect(error?.message).toMatch(/the server refused to accept a new connection/);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'failed']]);
    expect(monitor.accepted('recordError')).toEqual([[S, 'refused']]);
    expect(monitor.accepted('recordConnectionStateChange')).toEqual([
      [S, 'disconnected', 'connecting'],
      [S, 'connecting', 'failed'],
    ]);
    expect(monitor.accepted('recordHandshake')).toEqual([]);
  });

  it('an unreachable peer (a node id with no address): failed fast, classified dns', async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    const client = await endpoints.bind();
    const id = iroh.SecretKey.generate().public();
    const started = Date.now();
    await expect(client.connect(new iroh.EndpointAddr(id, null, []), ALPN)).rejects.toThrow(/No addressing information available/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[String(id), 'failed']]);
    expect(monitor.accepted('recordError')).toEqual([[String(id), 'dns']]);
  });

  it('an endpoint closed before dialling: a timeout at connectTimeoutMs, the later failure not counted again', async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor, { connectTimeoutMs: 300 }).instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = String(server.id());
    const addr = server.addr();
    await server.close();
    const started = Date.now();
    const dial = client.connect(addr, ALPN).then(
      () => 'connected',
      (e: unknown) => (e as Error).message,
    );
    await until(() => monitor.accepted('recordConnectionAttempt').length > 0, 3000, 'the deadline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'timeout']]);
    expect(monitor.accepted('recordError')).toEqual([[S, 'timeout']]);
    // Iroh itself gives up after 30 s; closing the dialling endpoint ends the dial now.
    await client.close();
    expect(await dial).toMatch(/closed/);
    await sleep(20);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'timeout']]);
    expect(monitor.accepted('recordConnectionStateChange')).toEqual([
      [S, 'disconnected', 'connecting'],
      [S, 'connecting', 'failed'],
    ]);
  });

  it('connectPending: the attempt settles with Connecting.connect()', async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = String(server.id());
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    const connecting = await client.connectPending(server.addr(), ALPN);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([]);
    const conn = await connecting.connect();
    await accepted;
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'success']]);
    expect(monitor.accepted('recordHandshake')).toEqual(expect.arrayContaining([[S, expect.any(Number)]]));
    conn.close(0n, []);
  });

  it('learns a close by the peer and a close of its own endpoint without being told', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor, { closePollIntervalMs: 0 }); // only collection and calls
    inst.instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    const conn = await client.connect(server.addr(), ALPN);
    const serverConn = await accepted;
    expect(inst.trackedConnections).toBe(2);
    serverConn.close(7n, Array.from(Buffer.from('go away')));
    expect(inst.trackedConnections).toBe(1); // its own close() call: at once
    // The application's own closed() call is observed (we never call it ourselves).
    expect(await conn.closed()).toBe('closed by peer: go away (code 7)');
    expect(inst.trackedConnections).toBe(0);
    expect(monitor.accepted('recordError')).toEqual([]); // an application close is a normal close
    expect(monitor.accepted('recordConnectionDuration')).toHaveLength(2);

    // Closed by the peer, nobody calling anything: found at the next collection.
    let again = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    const second = await client.connect(server.addr(), ALPN);
    (await again).close(0n, []);
    await until(() => second.closeReason() !== null, 3000, 'the close to reach the client');
    expect(inst.trackedConnections).toBe(1);
    inst.collect();
    expect(inst.trackedConnections).toBe(0);

    // Endpoint.close(): its connections are checked when it resolves.
    again = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await again;
    expect(inst.trackedConnections).toBe(2);
    await client.close();
    expect(inst.trackedConnections).toBeLessThanOrEqual(1);
    expect(monitor.accepted('recordError')).toEqual([]);
  });

  // Iroh's real dial timeout takes 30 s; it runs in parallel with the other suites.
  it("Iroh's own dial timeout (30 s): attempt timeout, error timeout", async () => {
    const monitor = new RecordingP2pMonitor();
    instrument(monitor).instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = String(server.id());
    const addr = server.addr();
    await server.close();
    await expect(client.connect(addr, ALPN)).rejects.toThrow(/timed out/);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'timeout']]);
    expect(monitor.accepted('recordError')).toEqual([[S, 'timeout']]);
  }, 45_000);

  it('disable() restores every prototype exactly and stops recording; enable() patches again', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor);
    inst.instrumentModule(iroh);
    expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE).sort()).toEqual(
      [
        'BiStream.recv',
        'BiStream.send',
        'Connecting.connect',
        'Accepting.connect',
        'Connection.acceptBi',
        'Connection.acceptUni',
        'Connection.close',
        'Connection.closed',
        'Connection.openBi',
        'Connection.openUni',
        'Endpoint.acceptNext',
        'Endpoint.close',
        'Endpoint.connect',
        'Endpoint.connectPending',
        'Incoming.accept',
        'RecvStream.read',
        'RecvStream.readExact',
        'RecvStream.readToEnd',
        'RecvStream.stop',
        'SendStream.finish',
        'SendStream.reset',
        'SendStream.stopped',
      ].sort(),
    );
    inst.disable();
    expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE)).toEqual([]);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await accepted;
    expect(monitor.calls).toEqual([]);
    inst.enable();
    expect(isWrapped(iroh.Endpoint.prototype, 'connect')).toBe(true);
    const again = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await again;
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[String(server.id()), 'success']]);
  });
});

describe('instrumentEndpoint (ES-module applications, endpoints created before registration)', () => {
  it('follows one endpoint through wraps on the instance, and restores it and the prototypes exactly', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const ownKeys = Reflect.ownKeys(client);
    inst.instrumentEndpoint(client);
    inst.instrumentEndpoint(server);
    const S = String(server.id());
    const C = String(client.id());

    const serverSide = echoServer(server);
    const conn = await client.connect(server.addr(), ALPN);
    const bi = await conn.openBi();
    await bi.send.writeAll(bytes(100));
    await bi.send.finish();
    await bi.recv.readToEnd(1000);
    await serverSide;
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[S, 'success']]);
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual(
      expect.arrayContaining([
        [S, 'outbound'],
        [C, 'inbound'],
      ]),
    );
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual(
      expect.arrayContaining([
        [S, 'outbound'],
        [C, 'inbound'],
      ]),
    );
    inst.collect();
    expect(monitor.accepted('recordPeerDistance')).toEqual(
      expect.arrayContaining([
        [S, 1],
        [C, 1],
      ]),
    );
    expect(monitor.accepted('recordBytesTransferred').filter(([peer, direction]) => peer === S && direction === 'outbound')).toHaveLength(1);

    inst.disable();
    expect(Reflect.ownKeys(client)).toEqual(ownKeys);
    expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE)).toEqual([]);
  });

  it('patches the connection and stream prototypes again after disable() and enable()', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    inst.instrumentEndpoint(client);
    inst.instrumentEndpoint(server);
    const S = String(server.id());
    const roundTrip = async (): Promise<void> => {
      const serverSide = echoServer(server);
      const conn = await client.connect(server.addr(), ALPN);
      const bi = await conn.openBi();
      await bi.send.writeAll(bytes(10));
      await bi.send.finish();
      await bi.recv.readToEnd(1000);
      await serverSide;
    };
    await roundTrip();
    inst.disable();
    expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE)).toEqual([]);
    inst.enable();
    monitor.calls.length = 0;
    await roundTrip();
    expect(sameSnapshot(prototypeSnapshot(iroh), PRISTINE)).toEqual(expect.arrayContaining(['Connection.openBi', 'BiStream.send', 'SendStream.finish', 'RecvStream.readToEnd']));
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual(expect.arrayContaining([[S, 'outbound']]));
    expect(monitor.accepted('recordQuicStreamClosed')).toEqual(expect.arrayContaining([[S, 'outbound']]));
    inst.disable();
  });

  it('leaves endpoints it was not given alone, though their classes share the patched prototypes', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    inst.instrumentEndpoint(client); // the server is not instrumented
    const S = String(server.id());
    const serverSide = echoServer(server);
    const conn = await client.connect(server.addr(), ALPN);
    const bi = await conn.openBi();
    await bi.send.writeAll(bytes(10));
    await bi.send.finish();
    await bi.recv.readToEnd(100);
    await serverSide;
    // a second connection, now that Incoming, Accepting and Connection prototypes are patched
    const again = echoServer(server);
    const second = await client.connect(server.addr(), ALPN);
    const bi2 = await second.openBi();
    await bi2.send.finish();
    await bi2.recv.readToEnd(100);
    await again;
    expect(inst.trackedConnections).toBe(2); // the client's two, not the server's
    expect(new Set(monitor.calls.map((c) => c.args[0]))).toEqual(new Set([S]));
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual([
      [S, 'outbound'],
      [S, 'outbound'],
    ]);
  });

  it('is inert while the prototypes are patched: a dial is counted once', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    inst.instrumentEndpoint(client);
    inst.instrumentModule(iroh);
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await accepted;
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[String(server.id()), 'success']]);
    expect(monitor.accepted('recordConnectionStateChange').filter(([, , to]) => to === 'connected')).toHaveLength(2); // client and server side
  });
});

describe('configuration', () => {
  it('requires a monitor', () => {
    expect(() => new IrohInstrumentation({} as never)).toThrow(/needs a P2pMonitor/);
  });

  it('bytes: false leaves byte counting to the transport wrapper', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor, { bytes: false });
    inst.instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await accepted;
    inst.collect();
    expect(monitor.accepted('recordBytesTransferred')).toEqual([]);
    expect(monitor.accepted('recordRtt')).toHaveLength(2);
  });

  it('connections, rtt and bytes false (beside the connector and transport wrappers): only streams, loss, retransmissions, paths and ALPN', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor, { connections: false, rtt: false, bytes: false, connectTimeoutMs: 5000 });
    inst.instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const S = String(server.id());
    const C = String(client.id());

    // a connection with one echoed bi stream, sampled, then closed
    const serverSide = echoServer(server);
    const conn = await client.connect(server.addr(), ALPN);
    const bi = await conn.openBi();
    await bi.send.writeAll(bytes(4096));
    await bi.send.finish();
    expect((await bi.recv.readToEnd(1 << 20)).length).toBe(4096);
    const serverConn = await serverSide;
    inst.collect();
    expect(inst.trackedConnections).toBe(2); // still followed
    conn.close(0n, Array.from(Buffer.from('bye')));
    await until(() => serverConn.closeReason() !== null, 3000, 'the peer to see the close');
    await until(() => inst.trackedConnections === 0, 3000, 'both closes to be seen');

    // a refused dial: neither an attempt, a transition nor an error
    const refusing = await endpoints.bind();
    void refusing.acceptNext().then((incoming) => incoming?.refuse());
    await expect(client.connect(refusing.addr(), ALPN)).rejects.toThrow(/refused/);
    // a connection dropped abnormally (its endpoint closed): no error either
    const serverSide2 = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await serverSide2;
    await client.close();
    await until(() => inst.trackedConnections === 0, 3000, 'the dropped connections to be seen');

    const called = new Set(monitor.calls.map((c) => c.method));
    called.delete('recordQuicRetransmissions'); // only if loopback lost a packet
    expect([...called].sort()).toEqual(['clearPeerDistance', 'recordPeerDistance', 'recordProtocolVersion', 'recordQuicPacketLoss', 'recordQuicStreamClosed', 'recordQuicStreamOpened']);
    expect(monitor.calls.every((c) => c.accepted)).toBe(true);
    expect(monitor.accepted('recordQuicStreamOpened')).toEqual(
      expect.arrayContaining([
        [S, 'outbound'],
        [C, 'inbound'],
      ]),
    );
    expect(monitor.accepted('recordQuicStreamClosed')).toHaveLength(2);
    expect(monitor.accepted('recordProtocolVersion')).toEqual(
      expect.arrayContaining([
        [S, ALPN_TEXT, true],
        [C, ALPN_TEXT, true],
        [S, ALPN_TEXT, false],
        [C, ALPN_TEXT, false],
      ]),
    );
    expect(monitor.accepted('recordPeerDistance')).toEqual(
      expect.arrayContaining([
        [S, 1],
        [C, 1],
      ]),
    );
  });

  it('rtt: false alone leaves RTT to the health checker and still records connections', async () => {
    const monitor = new RecordingP2pMonitor();
    const inst = instrument(monitor, { rtt: false });
    inst.instrumentModule(iroh);
    const server = await endpoints.bind();
    const client = await endpoints.bind();
    const accepted = server.acceptNext().then(async (incoming) => (await incoming!.accept()).connect());
    await client.connect(server.addr(), ALPN);
    await accepted;
    inst.collect();
    expect(monitor.accepted('recordRtt')).toEqual([]);
    expect(monitor.accepted('recordPingLatency')).toEqual([]);
    expect(monitor.accepted('recordConnectionAttempt')).toEqual([[String(server.id()), 'success']]);
    expect(monitor.accepted('recordHandshake')).toHaveLength(2);
    expect(monitor.accepted('recordBytesTransferred').length).toBeGreaterThan(0);
  });
});
