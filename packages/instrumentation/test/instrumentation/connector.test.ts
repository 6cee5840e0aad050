import { EventEmitter } from 'node:events';
import { valueOf } from '../support/read.js';
import { deferred, instrumentation, manualClock, tick } from './harness.js';

/**
 * Connect and disconnect calls of small connectors written inline, with a hand-moved clock so
 * that durations are exact. The reference connector (opossum, generic-pool) is exercised in
 * connector-reference.test.ts.
 */

const A = 'peer-aaaaaaaaaaaa';
const B = 'peer-bbbbbbbbbbbb';

/** A connection shaped like Iroh's. */
class Conn {
  private readonly done = deferred<string>();
  closed(): Promise<string> {
    return this.done.promise;
  }
  close(): void {
    this.done.resolve('closed');
  }
}

const transition = (from: string, to: string, peer = A) => ({ from_state: from, to_state: to, peer_id: peer });
const codeError = (code: string, message = code) => Object.assign(new Error(message), { code });

function setup() {
  const clock = manualClock();
  const h = instrumentation({ clock: clock.now });
  return { ...h, clock };
}

describe('connect calls', () => {
  it('success: connecting while pending, then connected, one attempt and the exact handshake time', async () => {
    const { inst, value, clock } = setup();
    const dial = deferred<Conn>();
    const connector = { connectToPeer: (_peer: string) => dial.promise };
    inst.instrumentConnector(connector);

    const call = connector.connectToPeer(A);
    await tick();
    expect(await value('connectionsActive', { state: 'connecting' })).toBe(1);
    expect(await value('connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);

    clock.advance(25);
    const conn = new Conn();
    dial.resolve(conn);
    expect(await call).toBe(conn);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(await value('connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);
    expect(await value('connectionStateTransitions', transition('connecting', 'connected'))).toBe(1);
    expect(await value('handshakeDuration', { peer_id: A })).toMatchObject({ count: 1, sum: 25 });
    expect(await value('connectionsActive', { state: 'connecting' })).toBe(0);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);
    expect(inst.rejectedRecords().internal_error).toBe(0);
  });

  it.each([
    ['refused', codeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:4433'), 'failed'],
    ['timeout', codeError('ETIMEDOUT', 'connect ETIMEDOUT'), 'timeout'],
    ['reset', codeError('ECONNRESET', 'read ECONNRESET'), 'failed'],
    ['tls', new Error('aborted by peer: the cryptographic handshake failed: error 120'), 'failed'],
    ['dns', new Error('No addressing information available'), 'failed'],
    ['other', new Error('something else'), 'failed'],
  ])('%s: the same error reaches the caller; attempt, transition and error type recorded', async (type, error, result) => {
    const { inst, collect } = setup();
    const connector = { connectToPeer: async (_peer: string): Promise<Conn> => Promise.reject(error) };
    inst.instrumentConnector(connector);

    await expect(connector.connectToPeer(A)).rejects.toBe(error);
    const rm = await collect();
    expect(valueOf(rm, 'connectionAttempts', { peer_id: A, result })).toBe(1);
    expect(valueOf(rm, 'connectionErrors', { peer_id: A, error_type: type })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', transition('connecting', 'failed'))).toBe(1);
    expect(valueOf(rm, 'connectionsActive', { state: 'connecting' })).toBe(0);
    expect(valueOf(rm, 'handshakeDuration', { peer_id: A })).toBeUndefined();
  });

  it('sync connectors: a returned connection and a thrown error are recorded at once', async () => {
    const { inst, value } = setup();
    const boom = codeError('ECONNREFUSED');
    const connector = {
      connectToPeer(peer: string): Conn {
        if (peer === B) throw boom;
        return new Conn();
      },
    };
    inst.instrumentConnector(connector);
    expect(connector.connectToPeer(A)).toBeInstanceOf(Conn);
    expect(() => connector.connectToPeer(B)).toThrow(boom);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(await value('connectionAttempts', { peer_id: B, result: 'failed' })).toBe(1);
    expect(await value('connectionErrors', { peer_id: B, error_type: 'refused' })).toBe(1);
    expect(await value('handshakeDuration', { peer_id: A })).toMatchObject({ count: 1, sum: 0 });
  });

  it('reuse: an open connection returned again is a reuse, not an attempt or a transition', async () => {
    const { inst, value } = setup();
    const cached = new Map<string, Conn>();
    const connector = {
      async connectToPeer(peer: string): Promise<Conn> {
        let conn = cached.get(peer);
        if (conn === undefined) cached.set(peer, (conn = new Conn()));
        return conn;
      },
    };
    inst.instrumentConnector(connector);
    const first = await connector.connectToPeer(A);
    expect(await connector.connectToPeer(A)).toBe(first);
    expect(await connector.connectToPeer(A)).toBe(first);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(await value('connectionReuses', { peer_id: A })).toBe(2);
    expect(await value('connectionStateTransitions', transition('disconnected', 'connecting'))).toBe(1);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);

    // Once closed, the same object handed out again is a new connection, not a reuse.
    first.close();
    await tick();
    expect(await connector.connectToPeer(A)).toBe(first);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(2);
    expect(await value('connectionReuses', { peer_id: A })).toBe(2);
  });

  it('a cache hit that outlasts its turn of the event loop ends its connecting state without a transition to connected', async () => {
    const { inst, value } = setup();
    const conn = new Conn();
    let slow = false;
    const connector = {
      async connectToPeer(_peer: string): Promise<Conn> {
        if (slow) await tick();
        return conn;
      },
    };
    inst.instrumentConnector(connector);
    await connector.connectToPeer(A);
    slow = true;
    await connector.connectToPeer(A);
    expect(await value('connectionReuses', { peer_id: A })).toBe(1);
    expect(await value('connectionStateTransitions', transition('connecting', 'disconnected'))).toBe(1);
    expect(await value('connectionStateTransitions', transition('connecting', 'connected'))).toBe(1);
    expect(await value('connectionsActive', { state: 'connecting' })).toBe(0);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);
  });
});

describe('closing connections', () => {
  it('closed() resolving: connected → disconnecting → disconnected and the duration in seconds', async () => {
    const { inst, value, clock } = setup();
    const conn = new Conn();
    const connector = { connectToPeer: async (_peer: string) => conn };
    inst.instrumentConnector(connector);
    await connector.connectToPeer(A);
    clock.advance(2_500);
    conn.close();
    await tick();
    expect(await value('connectionStateTransitions', transition('connected', 'disconnecting'))).toBe(1);
    expect(await value('connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
    expect(await value('connectionDuration', { peer_id: A })).toMatchObject({ count: 1, sum: 2.5 });
    expect(await value('connectionsActive', { state: 'connected' })).toBe(0);
    expect(await value('connectionsActive', { state: 'disconnecting' })).toBe(0);
  });

  it("an EventEmitter connection's 'close' event; restore() removes the listener", async () => {
    const { inst, value, clock } = setup();
    const conns: EventEmitter[] = [];
    const connector = {
      connectToPeer(_peer: string) {
        const conn = new EventEmitter();
        conns.push(conn);
        return conn;
      },
    };
    inst.instrumentConnector(connector);
    connector.connectToPeer(A);
    connector.connectToPeer(B);
    expect(conns.map((c) => c.listenerCount('close'))).toEqual([1, 1]);
    clock.advance(1_000);
    conns[0]!.emit('close');
    expect(conns[0]!.listenerCount('close')).toBe(0);
    expect(await value('connectionDuration', { peer_id: A })).toMatchObject({ count: 1, sum: 1 });
    inst.uninstrument(connector);
    expect(conns[1]!.listenerCount('close')).toBe(0);
    conns[1]!.emit('close');
    expect(await value('connectionDuration', { peer_id: B })).toBeUndefined();
  });

  it('disconnectFromPeer ends the newest open connection of a peer that has no close signal', async () => {
    const { inst, value, clock } = setup();
    const hangUp = deferred<void>();
    const connector = {
      connectToPeer: (_peer: string) => ({ stream: 1 }),
      disconnectFromPeer: (_peer: string) => hangUp.promise,
    };
    inst.instrumentConnector(connector);
    connector.connectToPeer(A);
    clock.advance(1_000);
    connector.connectToPeer(A);
    clock.advance(3_000);
    const call = connector.disconnectFromPeer(A);
    expect(await value('connectionsActive', { state: 'disconnecting' })).toBe(1);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);
    hangUp.resolve();
    await call;
    expect(await value('connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
    expect(await value('connectionDuration', { peer_id: A })).toMatchObject({ count: 1, sum: 3 }); // the newer one
    expect(await value('connectionsActive', { state: 'disconnecting' })).toBe(0);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);
  });

  it('a failed disconnect leaves the connection connected; one with a close signal waits for it', async () => {
    const { inst, value } = setup();
    const conn = new Conn();
    let fail = true;
    const connector = {
      connectToPeer: async (_peer: string) => conn,
      async disconnectFromPeer(_peer: string) {
        if (fail) throw new Error('not now');
      },
    };
    inst.instrumentConnector(connector);
    await connector.connectToPeer(A);
    await expect(connector.disconnectFromPeer(A)).rejects.toThrow('not now');
    expect(await value('connectionStateTransitions', transition('disconnecting', 'connected'))).toBe(1);
    expect(await value('connectionsActive', { state: 'connected' })).toBe(1);

    fail = false;
    await connector.disconnectFromPeer(A);
    expect(await value('connectionsActive', { state: 'disconnecting' })).toBe(1); // until closed() says so
    conn.close();
    await tick();
    expect(await value('connectionsActive', { state: 'disconnecting' })).toBe(0);
    expect(await value('connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
    expect(await value('connectionStateTransitions', transition('connected', 'disconnecting'))).toBe(2);
  });

  it('onClose replaces the default signals; its remover runs at restore()', async () => {
    const { inst, value } = setup();
    const notifiers = new Map<object, () => void>();
    const removed: object[] = [];
    const connector = { connectToPeer: (_peer: string) => ({}) };
    inst.instrumentConnector(connector, {
      onClose: (conn, notify) => {
        notifiers.set(conn as object, notify);
        return () => removed.push(conn as object);
      },
    });
    const first = connector.connectToPeer(A);
    const second = connector.connectToPeer(A);
    notifiers.get(first)!();
    expect(removed).toEqual([first]);
    expect(await value('connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
    inst.uninstrument(connector);
    expect(removed).toEqual([first, second]);
    notifiers.get(second)!();
    expect(await value('connectionStateTransitions', transition('disconnecting', 'disconnected'))).toBe(1);
  });
});

describe('options and extractors', () => {
  it('maps method names and extracts the peer id from other arguments', async () => {
    const { inst, value } = setup();
    const node = {
      dial: (_addr: string, opts: { node: string }) => ({ node: opts.node }),
      hangUp: (_addr: string, _opts: { node: string }) => undefined,
    };
    inst.instrumentConnector(node, {
      methods: { connect: 'dial', disconnect: 'hangUp' },
      peerId: (args) => (args[1] as { node: string }).node,
    });
    node.dial('10.0.0.1:4433', { node: A });
    node.hangUp('10.0.0.1:4433', { node: A });
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(await value('connectionDuration', { peer_id: A })).toMatchObject({ count: 1 });
  });

  it('an id object is labelled by its toString(), as an Iroh PublicKey prints itself', async () => {
    const { inst, value } = setup();
    class PublicKey {
      constructor(private readonly hex: string) {}
      toString(): string {
        return this.hex;
      }
    }
    const connector = { connectToPeer: (_key: PublicKey) => new Conn() };
    inst.instrumentConnector(connector);
    connector.connectToPeer(new PublicKey(A));
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
  });

  it('an extractor that throws: the application is unaffected, the record dropped, internal_error counted', async () => {
    const { inst, value } = setup();
    const conn = new Conn();
    const connector = { connectToPeer: async (_peer: string) => conn, disconnectFromPeer: (_peer: string) => 'bye' };
    inst.instrumentConnector(connector, {
      peerId: () => {
        throw new Error('extractor bug');
      },
    });
    expect(await connector.connectToPeer(A)).toBe(conn);
    expect(connector.disconnectFromPeer(A)).toBe('bye');
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBeUndefined();
    expect(inst.rejectedRecords().internal_error).toBe(2);
    expect(await value('rejectedRecords', { reason: 'internal_error' })).toBe(2);
  });

  it('an onClose that throws: the connection is still counted, internal_error counted', async () => {
    const { inst, value } = setup();
    const connector = { connectToPeer: (_peer: string) => new Conn() };
    inst.instrumentConnector(connector, {
      onClose: () => {
        throw new Error('subscriber bug');
      },
    });
    expect(connector.connectToPeer(A)).toBeInstanceOf(Conn);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
    expect(inst.rejectedRecords().internal_error).toBe(1);
  });

  it('a non-native thenable result is returned untouched and not recorded (its outcome is unknown)', async () => {
    const { inst, value } = setup();
    let thens = 0;
    const lazy = {
      then(resolve: (v: unknown) => void) {
        thens++;
        resolve(new Conn());
      },
    };
    const connector = { connectToPeer: (_peer: string) => lazy };
    inst.instrumentConnector(connector);
    expect(connector.connectToPeer(A)).toBe(lazy);
    expect(thens).toBe(0);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBeUndefined();
  });

  it('reports a connector without its connect method as an internal error and wraps nothing', async () => {
    const { inst } = setup();
    const connector = { connect: () => undefined };
    inst.instrumentConnector(connector);
    expect(inst.rejectedRecords().internal_error).toBe(1);
    expect(Object.getOwnPropertyDescriptor(connector, 'connectToPeer')).toBeUndefined();
  });
});

describe('restore', () => {
  it('puts back the exact original methods, own or inherited, and records nothing afterwards', async () => {
    const { inst, value } = setup();
    class Connector {
      connectToPeer(_peer: string) {
        return new Conn();
      }
      disconnectFromPeer(_peer: string) {
        return undefined;
      }
    }
    const ownConnect = (_peer: string) => new Conn();
    const inherited = new Connector();
    const own = { connectToPeer: ownConnect };
    inst.instrumentConnector(inherited);
    inst.instrumentConnector(own);
    expect(inherited.connectToPeer).not.toBe(Connector.prototype.connectToPeer);
    expect(own.connectToPeer).not.toBe(ownConnect);

    inst.uninstrument(inherited);
    inst.uninstrument(own);
    expect(Object.getOwnPropertyDescriptor(inherited, 'connectToPeer')).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(inherited, 'disconnectFromPeer')).toBeUndefined();
    expect(inherited.connectToPeer).toBe(Connector.prototype.connectToPeer);
    expect(own.connectToPeer).toBe(ownConnect);
    expect(Object.getOwnPropertyDescriptor(own, 'connectToPeer')).toEqual({ value: ownConnect, writable: true, enumerable: true, configurable: true });

    inherited.connectToPeer(A);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBeUndefined();
  });

  it('disable() restores, enable() wraps again', async () => {
    const { inst, value } = setup();
    const original = (_peer: string) => new Conn();
    const connector = { connectToPeer: original };
    inst.instrumentConnector(connector);
    inst.disable();
    expect(connector.connectToPeer).toBe(original);
    inst.enable();
    expect(connector.connectToPeer).not.toBe(original);
    connector.connectToPeer(A);
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBe(1);
  });

  it('a call in flight at restore() records nothing when it settles', async () => {
    const { inst, value } = setup();
    const dial = deferred<Conn>();
    const connector = { connectToPeer: (_peer: string) => dial.promise };
    inst.instrumentConnector(connector);
    const call = connector.connectToPeer(A);
    inst.uninstrument(connector);
    dial.resolve(new Conn());
    await call;
    await tick();
    expect(await value('connectionAttempts', { peer_id: A, result: 'success' })).toBeUndefined();
    expect(await value('connectionsActive', { state: 'connecting' })).toBe(0);
  });
});
