import { METRICS, instrumentName } from '@p2p-otel/instrumentation';
import { PEER_A } from '../support/exercise';
import { decodeOtlpExport, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { startTelemetryProcess, type TelemetryProcess } from '../support/telemetry-process';

let receiver: OtlpReceiver | undefined;
let node: TelemetryProcess | undefined;

afterEach(async () => {
  try {
    await node?.close();
  } finally {
    node = undefined;
    await receiver?.close();
    receiver = undefined;
  }
});

test('shutdown() sends the final export before the interval elapses, once', async () => {
  receiver = await startOtlpReceiver();
  node = await startTelemetryProcess();
  // Default protocol (http/protobuf); an interval far longer than the test.
  await node.start({ exporter: 'otlp', otlp: { endpoint: receiver.url, exportIntervalMillis: 3_600_000 }, registerGlobal: false }, true);
  await node.recordMessage(PEER_A, 'ping', 100);
  await node.recordMessage(PEER_A, 'ping', 100);
  expect(receiver.requests).toHaveLength(0);

  await Promise.all([node.shutdown(), node.shutdown()]);
  await node.shutdown();

  expect(receiver.requests).toHaveLength(1); // shutdown resolved after the export was received
  const exported = decodeOtlpExport(receiver.requests[0]!);
  const sent = exported.metrics.get(instrumentName(METRICS.messagesSent));
  expect(sent?.points.map((p) => [p.attributes.message_type, p.value])).toEqual([['ping', 2]]);
});
