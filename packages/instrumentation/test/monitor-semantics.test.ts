import { fastPath, standardPath } from './support/collect.js';
import { points, valueOf } from './support/read.js';

const A = 'aaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccccccc';

describe('derived state gauges', () => {
  it('reports every live connection state from the start, zero included', async () => {
    const h = fastPath();
    const rm = await h.collect();
    expect(points(rm, 'connectionsActive').map((p) => [p.attributes.state, p.value])).toEqual([
      ['connecting', 0],
      ['connected', 0],
      ['disconnecting', 0],
    ]);
    expect(valueOf(rm, 'knownPeers')).toBe(0);
    expect(points(rm, 'rejectedRecords')).toHaveLength(7);
  });

  it('moves connections between live states and out of them on terminal states', async () => {
    const h = fastPath();
    const m = h.monitor;
    m.recordConnectionStateChange(A, 'disconnected', 'connecting');
    m.recordConnectionStateChange(B, 'disconnected', 'connecting');
    m.recordConnectionStateChange(A, 'connecting', 'connected');
    m.recordConnectionStateChange(B, 'connecting', 'failed');
    let rm = await h.collect();
    expect(valueOf(rm, 'connectionsActive', { state: 'connecting' })).toBe(0);
    expect(valueOf(rm, 'connectionsActive', { state: 'connected' })).toBe(1);
    expect(valueOf(rm, 'connectionStateTransitions', { from_state: 'connecting', to_state: 'failed', peer_id: B.slice(0, 10) })).toBe(1);
    m.recordConnectionStateChange(A, 'connected', 'disconnecting');
    m.recordConnectionStateChange(A, 'disconnecting', 'disconnected');
    m.recordConnectionStateChange(A, 'disconnecting', 'disconnected'); // a duplicate must not go negative
    rm = await h.collect();
    expect(points(rm, 'connectionsActive').map((p) => p.value)).toEqual([0, 0, 0]);
  });

  it('exports the breaker as a state set: 1 for the current state, 0 for the others', async () => {
    const h = fastPath({ peerId: { mode: 'full' } });
    h.monitor.recordCircuitBreakerState(A, 'open');
    h.monitor.recordCircuitBreakerState(A, 'half_open');
    const rm = await h.collect();
    expect(points(rm, 'circuitBreakerState').map((p) => [p.attributes.state, p.value])).toEqual([
      ['closed', 0],
      ['open', 0],
      ['half_open', 1],
    ]);
  });

  it('derives pool utilisation from pooled and idle', async () => {
    const h = fastPath();
    h.monitor.recordPoolState(8, 2);
    const rm = await h.collect();
    expect([valueOf(rm, 'connectionsPooled'), valueOf(rm, 'connectionsIdle'), valueOf(rm, 'poolUtilization')]).toEqual([8, 2, 0.75]);
  });

  it('keeps buffers and stream counts from going below zero', async () => {
    const h = fastPath({ peerId: { mode: 'full' } });
    const m = h.monitor;
    m.recordBufferEnqueue(A, 100);
    m.recordBufferDequeue(A, 100, 3);
    m.recordBufferDequeue(A, 50, 3);
    m.recordQuicStreamClosed(A, 'inbound');
    const rm = await h.collect();
    expect(valueOf(rm, 'bufferedMessages', { peer_id: A })).toBe(0);
    expect(valueOf(rm, 'bufferedBytes', { peer_id: A })).toBe(0);
    expect(valueOf(rm, 'quicStreams', { peer_id: A, direction: 'inbound' })).toBe(0);
    expect((valueOf(rm, 'deliveryDelay', { peer_id: A }) as { count: number }).count).toBe(2);
  });

  it('reports a protocol version 1 while a connection uses it and 0 after', async () => {
    const h = fastPath({ peerId: { mode: 'full' }, protocolVersions: ['p2p/1', 'p2p/2'] });
    const m = h.monitor;
    m.recordProtocolVersion(A, 'p2p/1', true);
    m.recordProtocolVersion(A, 'p2p/1', true);
    m.recordProtocolVersion(A, 'p2p/1', false);
    m.recordProtocolVersion(A, 'weird/9', true);
    let rm = await h.collect();
    expect(valueOf(rm, 'protocolVersion', { version: 'p2p/1' })).toBe(1);
    expect(valueOf(rm, 'protocolVersion', { version: 'other' })).toBe(1);
    m.recordProtocolVersion(A, 'p2p/1', false);
    rm = await h.collect();
    expect(valueOf(rm, 'protocolVersion', { version: 'p2p/1' })).toBe(0);
  });

  it('tracks known peers as discovered minus lost, each peer once', async () => {
    const h = fastPath();
    const m = h.monitor;
    m.recordPeerDiscovered(A, 'mdns');
    m.recordPeerDiscovered(A, 'dns');
    m.recordPeerDiscovered(B, 'static');
    m.recordPeerLost(A);
    const rm = await h.collect();
    expect(valueOf(rm, 'knownPeers')).toBe(1);
    expect(valueOf(rm, 'discoveredPeers', { discovery_method: 'mdns' })).toBe(1);
    expect(points(rm, 'discoveredPeers').reduce((n, p) => n + (p.value as number), 0)).toBe(3);
  });
});

describe('topology', () => {
  it('computes hops from the local node and the diameter by breadth-first search', async () => {
    const h = fastPath({ peerId: { mode: 'full' }, localPeerId: A });
    const m = h.monitor;
    m.recordPeerLink(A, B);
    m.recordPeerLink(B, C);
    let rm = await h.collect();
    expect(valueOf(rm, 'peerDistance', { peer_id: B })).toBe(1);
    expect(valueOf(rm, 'peerDistance', { peer_id: C })).toBe(2);
    expect(valueOf(rm, 'clusterDiameter')).toBe(2);
    m.recordPeerLink(A, C);
    rm = await h.collect();
    expect(valueOf(rm, 'peerDistance', { peer_id: C })).toBe(1);
    expect(valueOf(rm, 'clusterDiameter')).toBe(1);
    m.recordPeerUnlink(A, C);
    m.recordPeerUnlink(B, C);
    rm = await h.collect();
    expect(valueOf(rm, 'peerDistance', { peer_id: C })).toBeUndefined(); // unreachable: not reported
    expect(valueOf(rm, 'clusterDiameter')).toBe(1);
  });

  it('lets an explicit distance (a relayed path) override the graph', async () => {
    const h = fastPath({ peerId: { mode: 'full' }, localPeerId: A });
    h.monitor.recordPeerLink(A, B);
    h.monitor.recordPeerDistance(B, 2);
    expect(valueOf(await h.collect(), 'peerDistance', { peer_id: B })).toBe(2);
  });

  it.each([
    ['fast path', fastPath],
    ['standard-instrument path', standardPath],
  ])('%s: clearPeerDistance drops the explicit distance: the graph applies again, or nothing is reported', async (path, make) => {
    const h = make({ peerId: { mode: 'full' }, localPeerId: A });
    h.monitor.recordPeerLink(A, B);
    h.monitor.recordPeerDistance(B, 2);
    h.monitor.recordPeerDistance(C, 2); // C is not in the graph
    expect(valueOf(await h.collect(), 'peerDistance', { peer_id: C })).toBe(2);
    h.monitor.clearPeerDistance(B);
    h.monitor.clearPeerDistance(C);
    h.monitor.clearPeerDistance('never-seen-peer'); // nothing to clear: no label spent, nothing rejected
    const rm = await h.collect();
    expect(valueOf(rm, 'peerDistance', { peer_id: B })).toBe(1);
    // The SDK keeps exporting an observable series' last value once a callback stops reporting it
    // (a known difference of the standard-instrument path, docs/architecture.md): only ours drops C.
    if (path === 'fast path') expect(valueOf(rm, 'peerDistance', { peer_id: C })).toBeUndefined();
    expect(valueOf(rm, 'peerDistance', { peer_id: 'never-seen-peer' })).toBeUndefined();
    expect(Object.values(h.monitor.rejectedRecords()).every((n) => n === 0)).toBe(true);
  });

  it('refuses nodes past the graph bound and counts them', async () => {
    const h = fastPath({ maxTopologyNodes: 3 });
    h.monitor.recordPeerLink(A, B);
    h.monitor.recordPeerLink(B, C);
    h.monitor.recordPeerLink(C, 'dddddddddddd');
    expect(h.monitor.rejectedRecords().over_capacity).toBe(1);
  });
});

describe('bandwidth', () => {
  it('is a moving average of the byte rate, sampled at collection', async () => {
    let now = 0;
    const h = fastPath({ peerId: { mode: 'full' }, clock: () => now });
    const m = h.monitor;
    now = 10_000;
    m.recordBytesTransferred(A, 'outbound', 10_000); // 1,000 B/s over the first 10 s
    let rm = await h.collect();
    expect(valueOf(rm, 'bandwidth', { peer_id: A, direction: 'outbound' })).toBe(1000);
    now = 20_000; // nothing more sent: the average decays towards 0 with a 60 s time constant
    await Promise.resolve();
    rm = await h.collect();
    expect(valueOf(rm, 'bandwidth', { peer_id: A, direction: 'outbound' })).toBeCloseTo(1000 * Math.exp(-10 / 60), 6);
    expect(valueOf(rm, 'bandwidth', { peer_id: A, direction: 'inbound' })).toBeUndefined();
  });
});

describe('memory bounds from the options', () => {
  it.each([
    ['maxKnownPeers', Number.NaN],
    ['maxKnownPeers', 0],
    ['maxTopologyNodes', 2.5],
    ['maxTopologyNodes', '1000'],
  ])('%s = %p fails at construction, naming the option (a NaN would silently lift the bound)', (name, value) => {
    expect(() => fastPath({ [name]: value } as never)).toThrow(new RegExp(`${name} must be a positive integer`));
  });

  it('accepts positive integers and the defaults', () => {
    expect(() => fastPath({ maxKnownPeers: 5, maxTopologyNodes: 7 })).not.toThrow();
    expect(() => fastPath({})).not.toThrow();
  });
});
