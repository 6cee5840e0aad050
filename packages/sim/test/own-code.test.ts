import { EventEmitter } from 'node:events';
import { P2pInstrumentation, type P2pEvent } from '@p2p-otel/instrumentation';
import { collectNode, createRandom, histogram, Network, SIM_EPOCH_MS, value, withVirtualTime } from '@p2p-otel/sim';

/**
 * The recipe of docs/simulation.md, "Your own P2P code": the application's objects, unchanged,
 * on virtual time and the simulated network.
 */
class MyTransport {
  private readonly handlers: ((from: string, message: { type: string; payload: Uint8Array }) => void)[] = [];
  constructor(
    readonly id: string,
    private readonly net: Network,
    private readonly peers: Map<string, MyTransport>,
  ) {}
  async sendToPeer(peerId: string, message: { type: string; payload: Uint8Array }): Promise<void> {
    if (this.net.lost(this.id, peerId)) throw Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
    await new Promise((resolve) => setTimeout(resolve, this.net.delay(this.id, peerId)));
    this.peers.get(peerId)?.handlers.forEach((h) => h(this.id, message));
  }
  onMessage(handler: (from: string, message: { type: string; payload: Uint8Array }) => void): void {
    this.handlers.push(handler);
  }
}

test('an application transport and manager under virtual time, instrumented for real', async () => {
  const snapshot = await withVirtualTime(async (clock) => {
    const random = createRandom(7);
    const net = new Network({ latencyMs: 30, jitterMs: 10, loss: 0.1 }, random.fork('net'));
    const peers = new Map<string, MyTransport>();
    const a = new MyTransport('a', net, peers);
    const b = new MyTransport('b', net, peers);
    peers.set('a', a).set('b', b);
    const manager = new EventEmitter();

    const p2p = new P2pInstrumentation({ localPeerId: 'a', clock: () => Date.now() });
    p2p.instrument({ transport: a, manager });
    const producer = p2p.createMetricProducer();

    manager.emit('event', { type: 'peer_discovered', peerId: 'b', method: 'mdns', durationMs: 12 } satisfies P2pEvent);
    const timer = setInterval(() => void a.sendToPeer('b', { type: 'ping', payload: new Uint8Array(64) }).catch(() => undefined), 1_000);
    await clock.tickAsync(100_000);
    clearInterval(timer);
    return collectNode(producer, SIM_EPOCH_MS, true, 1);
  });
  const sent = value(snapshot, 'p2p_messages_sent');
  const failed = value(snapshot, 'p2p_connection_errors', { error_type: 'timeout' });
  // Sends at 1 … 100 s: with seed 7 the last one is still in flight at 100 s; each of the others
  // was either delivered or lost (10 % loss).
  expect(sent + failed).toBe(99);
  expect([sent, failed]).toEqual([89, 10]);
  expect(histogram(snapshot, 'p2p_message_latency_milliseconds').min).toBeGreaterThanOrEqual(30);
  expect(value(snapshot, 'p2p_discovered_peers', { discovery_method: 'mdns' })).toBe(1);
  expect(snapshot.endTimeMs).toBe(100_000);
});
