import fc from 'fast-check';
import { OtelP2pMonitor, RecordingP2pMonitor } from '../src/index.js';
import { anyCallOfAnyMethod, apply } from './support/arbitraries.js';
import { monitorContract } from './support/monitor-contract.js';

monitorContract('OtelP2pMonitor', (options) => new OtelP2pMonitor(options));
monitorContract('RecordingP2pMonitor', (options) => new RecordingP2pMonitor(options));

describe('OtelP2pMonitor and RecordingP2pMonitor', () => {
  it('accept, fold and reject exactly the same inputs (random call sequences, hostile arguments)', () => {
    fc.assert(
      fc.property(fc.array(anyCallOfAnyMethod, { minLength: 1, maxLength: 100 }), (calls) => {
        const otel = new OtelP2pMonitor({ messageTypes: ['raft', 'gossip'], peerId: { maxPeers: 3 } });
        const recording = new RecordingP2pMonitor({ messageTypes: ['raft', 'gossip'], peerId: { maxPeers: 3 } });
        for (const call of calls) {
          apply(otel, call);
          apply(recording, call);
        }
        expect(otel.rejectedRecords()).toEqual(recording.rejectedRecords());
      }),
      { numRuns: 100 },
    );
  });

  it("RecordingP2pMonitor keeps the calls for assertions in users' tests", () => {
    const m = new RecordingP2pMonitor();
    m.recordMessage('peer-a', 'raft', 10, 1.5);
    m.recordMessage('peer-a', 'raft', NaN);
    expect(m.callsTo('recordMessage')).toHaveLength(2);
    expect(m.accepted('recordMessage')).toEqual([['peer-a', 'raft', 10, 1.5]]);
    m.clear();
    expect(m.calls).toHaveLength(0);
    expect(m.rejectedRecords().invalid_number).toBe(0);
  });
});
