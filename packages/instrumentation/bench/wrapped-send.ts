/**
 * What wrapping a transport costs the application: the same transport's sendToPeer, unwrapped and
 * wrapped by P2pInstrumentation, side by side; the wrapped case includes its share of collection.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { P2pInstrumentation } from '@p2p-otel/instrumentation';
import { blackhole, fmt, formatTable, runInterleaved, summarize, type BenchCase, type Check, type Section } from './harness.js';
import { TestReader } from './hot-path.js';

export const WRAPPED_SEND_TARGETS = { wrappedSendExtraNs: 300 } as const;

const PEERS = Array.from({ length: 100 }, (_, i) => `${i.toString(16).padStart(4, '0')}${'ab'.repeat(30)}`);
const MESSAGES = ['raft', 'gossip', 'sync', 'ping'].map((type) => ({ type, payload: new Uint8Array(512) }));

/** A transport as an application writes one; its send does almost nothing, so wrapping dominates. */
class LoopbackTransport {
  sent = 0;
  sendSync(peerId: string, message: { payload: Uint8Array }): number {
    this.sent += message.payload.byteLength + peerId.length;
    return this.sent;
  }
  sendToPeer(peerId: string, message: { payload: Uint8Array }): Promise<number> {
    return Promise.resolve(this.sendSync(peerId, message));
  }
  onMessage(_handler: (peerId: string, message: unknown) => void): void {}
}

function sends(transport: LoopbackTransport, n: number, method: 'sendToPeer' | 'sendSync'): () => Promise<void> | void {
  if (method === 'sendSync') {
    return () => {
      for (let i = 0; i < n; i++) blackhole.sum += transport.sendSync(PEERS[i % 100] as string, MESSAGES[i & 3] as { payload: Uint8Array });
    };
  }
  return async () => {
    for (let i = 0; i < n; i++) blackhole.sum += await transport.sendToPeer(PEERS[i % 100] as string, MESSAGES[i & 3] as { payload: Uint8Array });
  };
}

export const wrappedSendSection: Section = {
  name: 'wrapped-send',
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 10_000;
    const rounds = ctx.rounds ?? (ctx.quick ? 5 : 21);
    const warmupRounds = ctx.quick ? 2 : 5;
    const cases: BenchCase[] = [];
    for (const method of ['sendToPeer', 'sendSync'] as const) {
      const plain = new LoopbackTransport();
      cases.push({ name: `${method} unwrapped`, phases: [{ name: 'send', run: sends(plain, n, method) }] });
      // The default (latency timed for every send up to 10,000 sends/s, sampled above: this loop
      // sends millions a second), and every send timed (latencyEvery: 1), for reference.
      for (const every of ['auto', 1] as const) {
        const wrapped = new LoopbackTransport();
        const inst = new P2pInstrumentation({ messageTypes: MESSAGES.map((m) => m.type) });
        const reader = new TestReader({ metricProducers: [inst.createMetricProducer()] });
        new MeterProvider({ readers: [reader] });
        inst.instrumentTransport(wrapped, { ...(method === 'sendSync' ? { methods: { send: 'sendSync' } } : {}), latencyEvery: every });
        cases.push({
          name: every === 'auto' ? `${method} wrapped` : `${method} wrapped, every send timed`,
          phases: [
            { name: 'send', run: sends(wrapped, n, method) },
            { name: 'collect', run: () => reader.collect() },
          ],
        });
      }
    }
    ctx.log(`wrapped-send: ${cases.length} cases, ${n} sends per round, ${warmupRounds} warm-up + ${rounds} rounds`);
    const timings = await runInterleaved(cases, { rounds, warmupRounds, log: ctx.log });
    const perSend = timings.map((t) => ({
      name: t.name,
      rounds: t.totals.length,
      nsPerSend: summarize(t.totals, n).median,
      // The collection's share alone (one collect per round of n sends): a scrape's cost, spread over the sends.
      collectNsPerSend: t.phases.collect === undefined ? 0 : summarize(t.phases.collect, n).median,
    }));
    const results = perSend.map((r) => {
      const base = perSend.find((p) => p.name === r.name.replace(/ wrapped.*$/, ' unwrapped'));
      return { ...r, extraNs: base === undefined || base === r ? 0 : r.nsPerSend - base.nsPerSend };
    });
    const table = formatTable(
      [{ header: 'case', align: 'left' }, { header: 'ns/send (median, incl. collection)' }, { header: 'of which collection' }, { header: 'extra ns vs unwrapped' }],
      results.map((r) => [r.name, fmt(r.nsPerSend), r.name.endsWith('unwrapped') ? '-' : fmt(r.collectNsPerSend), r.name.endsWith('unwrapped') ? '-' : fmt(r.extraNs)]),
    );
    const caveat = ctx.quick ? ' [--quick]' : '';
    const checks: Check[] = results
      .filter((r) => r.name.endsWith(' wrapped'))
      .map((r) => ({
        label: `${r.name.replace(' wrapped', '')}: wrapped costs <= ${WRAPPED_SEND_TARGETS.wrappedSendExtraNs} ns more`,
        pass: r.extraNs <= WRAPPED_SEND_TARGETS.wrappedSendExtraNs,
        detail: `${fmt(r.extraNs)} ns${caveat}`,
      }));
    const text = [
      `sendToPeer of a 512-byte message to 100 peers x 4 types, through P2pInstrumentation.instrumentTransport (default`,
      `extractors: message.type, payload byteLength); async (returns a resolved promise) and sync variants. "wrapped" is the`,
      `default (latency timed for every send up to 10,000 sends/s per transport, a uniform sample above: this loop sends`,
      `millions a second, so about one send in 100-300 is timed); "every send timed" is latencyEvery: 1, for reference (no target);`,
      `${n.toLocaleString('en-US')} sends per round, one collection per round in the wrapped cases; medians of ${rounds} interleaved rounds.`,
      '',
      table,
    ].join('\n');
    return {
      id: 'wrappedSend',
      title: 'Wrapped sendToPeer: cost over the unwrapped transport',
      params: { sendsPerRound: n, rounds, warmupRounds },
      results,
      targets: { ...WRAPPED_SEND_TARGETS },
      checks,
      text,
    };
  },
};
