/**
 * Exports the privacy scenario over OTLP from a plain Node process (OTLP exporters cannot send
 * from inside Jest, see telemetry-child.ts): hash mode, every id of privacy-scenario.ts, one
 * forced export and the final one at shutdown, to PRIVACY_OTLP_URL with PRIVACY_OTLP_PROTOCOL.
 */
import { startP2pTelemetry, type OtlpProtocol } from '@p2p-otel/sdk';
import { ADDRESS_PEER_IDS, KNOWN_PEER_IDS, hashedMonitorConfig, recordPeers } from './privacy-scenario';

async function main(): Promise<void> {
  const telemetry = await startP2pTelemetry({
    exporter: 'otlp',
    otlp: { endpoint: process.env.PRIVACY_OTLP_URL, protocol: process.env.PRIVACY_OTLP_PROTOCOL as OtlpProtocol, exportIntervalMillis: 600_000 },
    serviceName: 'privacy-test',
    registerGlobal: false,
    monitor: hashedMonitorConfig(),
  });
  recordPeers(telemetry.monitor, [...KNOWN_PEER_IDS, ...ADDRESS_PEER_IDS]);
  await telemetry.forceFlush();
  await telemetry.shutdown();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
