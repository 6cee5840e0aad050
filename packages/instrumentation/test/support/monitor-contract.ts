import fc from 'fast-check';
import { REJECT_REASONS, type P2pMonitor, type LabelOptions } from '../../src/index.js';
import { METHOD_NAMES, anyCall, apply, validCall } from './arbitraries.js';

/** What the contract needs of an implementation besides the P2pMonitor methods. */
export type ContractMonitor = P2pMonitor & { rejectedRecords(): Record<string, number> };

const total = (m: ContractMonitor): number => Object.values(m.rejectedRecords()).reduce((a, b) => a + b, 0);
const LABELS: LabelOptions = { messageTypes: ['raft', 'gossip', 'sync', 'ping'], resourceTypes: ['blob', 'vm_image'], protocolVersions: ['p2p/1', 'p2p/2'] };

/**
 * The behaviour every P2pMonitor shares: the design's mock and the OpenTelemetry monitor alike.
 * `create` gets the label options the suite relies on.
 */
export function monitorContract(name: string, create: (options: LabelOptions) => ContractMonitor): void {
  describe(`P2pMonitor contract: ${name}`, () => {
    it('implements every record method of the interface', () => {
      const m = create(LABELS) as unknown as Record<string, unknown>;
      for (const method of METHOD_NAMES) expect(typeof m[method]).toBe('function');
    });

    it('reports every reject reason, starting at zero', () => {
      expect(create(LABELS).rejectedRecords()).toEqual(Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])));
    });

    it.each(METHOD_NAMES)('%s accepts valid input: returns undefined, rejects nothing', (method) => {
      fc.assert(
        fc.property(fc.array(validCall(method), { minLength: 1, maxLength: 20 }), (calls) => {
          const m = create(LABELS);
          for (const call of calls) expect(apply(m, call)).toBeUndefined();
          expect(total(m)).toBe(0);
        }),
        { numRuns: 50 },
      );
    });

    it.each(METHOD_NAMES)('%s never throws, whatever it is given', (method) => {
      const m = create(LABELS);
      fc.assert(
        fc.property(anyCall(method), (call) => {
          expect(apply(m, call)).toBeUndefined();
        }),
        { numRuns: 300 },
      );
    });

    const cases: [string, (m: P2pMonitor) => void, string][] = (
      [
        ['NaN size', (m) => m.recordMessage('peer-a', 'raft', NaN), 'invalid_number'],
        ['Infinity latency', (m) => m.recordRtt('peer-a', Infinity), 'invalid_number'],
        ['string size', (m) => m.recordMessage('peer-a', 'raft', '12' as never), 'invalid_number'],
        ['negative bytes', (m) => m.recordBytesTransferred('peer-a', 'outbound', -5), 'negative'],
        ['negative duration', (m) => m.recordConnectionDuration('peer-a', -1), 'negative'],
        ['non-string peer id', (m) => m.recordConnectionReuse(42 as never), 'invalid_peer_id'],
        ['empty peer id', (m) => m.recordConnectionReuse(''), 'invalid_peer_id'],
        ['1 MB peer id', (m) => m.recordConnectionReuse('p'.repeat(1 << 20)), 'invalid_peer_id'],
        ['IPv4 peer id', (m) => m.recordError('10.0.0.7', 'timeout'), 'peer_id_is_address'],
        ['IPv6 host:port peer id', (m) => m.recordError('[2001:db8::1]:4433', 'timeout'), 'peer_id_is_address'],
        ['unknown state', (m) => m.recordConnectionStateChange('peer-a', 'connected', 'zombie' as never), 'unknown_value'],
        ['unknown error type', (m) => m.recordError('peer-a', 'cosmic_ray' as never), 'unknown_value'],
        ['unknown breaker state', (m) => m.recordCircuitBreakerState('peer-a', 'ajar' as never), 'unknown_value'],
        ['unknown direction', (m) => m.recordQuicStreamOpened('peer-a', 'sideways' as never), 'unknown_value'],
        ['ratio above 1', (m) => m.recordQuicPacketLoss('peer-a', 1.5), 'invalid_number'],
        ['non-boolean active flag', (m) => m.recordProtocolVersion('peer-a', 'p2p/1', 'yes' as never), 'unknown_value'],
        ['non-string message type', (m) => m.recordMessage('peer-a', {} as never, 10), 'unknown_value'],
      ] as [string, (m: P2pMonitor) => void, string][]
    ).map(([what, call, reason]) => [`${what} as ${reason}`, call, reason]);
    it.each(cases)('counts %s, exactly once', (_, call, reason) => {
      const m = create(LABELS);
      call(m);
      expect(m.rejectedRecords()[reason]).toBe(1);
      expect(total(m)).toBe(1);
    });

    it('folds an unknown message type into other silently: it is a label budget, not bad input', () => {
      const m = create(LABELS);
      m.recordMessage('peer-a', 'never-declared', 10);
      expect(total(m)).toBe(0);
    });

    it('drops a record at its first invalid number and counts only that', () => {
      const m = create(LABELS);
      m.recordMessage(7 as never, 'raft', -1, NaN);
      expect(m.rejectedRecords()).toMatchObject({ negative: 1, invalid_number: 0, invalid_peer_id: 0 });
    });
  });
}
