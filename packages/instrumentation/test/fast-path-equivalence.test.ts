import fc from 'fast-check';
import { AggregationTemporality, AggregationType, DataPointType } from '@opentelemetry/sdk-metrics';
import { DESIGN_METRIC_IDS, METRICS, instrumentName } from '../src/index.js';
import { CUMULATIVE, DATA_POINT_TYPE } from '../src/export/metric-producer.js';
import { EXPLICIT_BUCKET_HISTOGRAM } from '../src/export/views.js';
import { anyCallOfAnyMethod, apply, validCallOfAnyMethod } from './support/arbitraries.js';
import { fastPath, normalise, standardPath } from './support/collect.js';
import { exerciseAllMetrics, exerciseMonitorConfig, manualClock } from '../../../test/support/exercise';

const config = () => {
  let now = 1_700_000_000_000;
  const clock = () => (now += 1_500); // every read moves time on, identically for both monitors
  return { messageTypes: ['raft', 'gossip', 'sync'], resourceTypes: ['blob'], protocolVersions: ['p2p/1'], peerId: { maxPeers: 3 }, clock };
};

describe('fast path and standard-instrument path', () => {
  it('mirror the sdk-metrics enum values they depend on', () => {
    expect(DATA_POINT_TYPE).toEqual({ HISTOGRAM: DataPointType.HISTOGRAM, GAUGE: DataPointType.GAUGE, SUM: DataPointType.SUM });
    expect(CUMULATIVE).toBe(AggregationTemporality.CUMULATIVE);
    expect(EXPLICIT_BUCKET_HISTOGRAM).toBe(AggregationType.EXPLICIT_BUCKET_HISTOGRAM);
  });

  it('export identical data for the same records: every count, sum, bucket, min, max and label', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ weight: 4, arbitrary: validCallOfAnyMethod }, { weight: 1, arbitrary: anyCallOfAnyMethod }), { maxLength: 200 }), async (calls) => {
        const fast = fastPath(config());
        const standard = standardPath(config());
        try {
          for (const call of calls) {
            apply(fast.monitor, call);
            apply(standard.monitor, call);
          }
          expect(normalise(await fast.collect())).toEqual(normalise(await standard.collect()));
        } finally {
          await Promise.all([fast.provider.shutdown(), standard.provider.shutdown()]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('export every design metric once each has a record (and the comparison is not vacuous)', async () => {
    const clocks = [manualClock(), manualClock()] as const;
    const fast = fastPath(exerciseMonitorConfig(clocks[0]));
    const standard = standardPath(exerciseMonitorConfig(clocks[1]));
    exerciseAllMetrics(fast.monitor, { advanceClock: clocks[0].advance });
    exerciseAllMetrics(standard.monitor, { advanceClock: clocks[1].advance });
    const a = normalise(await fast.collect());
    expect(a).toEqual(normalise(await standard.collect()));
    for (const id of DESIGN_METRIC_IDS) expect(Object.keys(a)).toContain(instrumentName(METRICS[id]));
    await Promise.all([fast.provider.shutdown(), standard.provider.shutdown()]);
  });
});
