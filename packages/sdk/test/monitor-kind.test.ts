import { OtelP2pMonitor, P2pInstrumentation } from '@p2p-otel/instrumentation';
import { startP2pTelemetry } from '@p2p-otel/sdk';

describe('the monitor startP2pTelemetry returns', () => {
  it("is a P2pInstrumentation, ready to wrap the application's objects", async () => {
    const telemetry = await startP2pTelemetry({ exporter: 'none' });
    try {
      expect(telemetry.monitor).toBeInstanceOf(P2pInstrumentation);
      const transport = { sendToPeer: async (_peer: string, _msg: unknown) => 'ok' };
      expect(telemetry.monitor.instrument({ transport })).toBe(telemetry.monitor);
    } finally {
      await telemetry.shutdown();
    }
  });

  it("is the application's own monitor when it passes one", async () => {
    const monitor = new OtelP2pMonitor();
    const telemetry = await startP2pTelemetry({ exporter: 'none', monitor });
    expect(telemetry.monitor).toBe(monitor);
    await telemetry.shutdown();
  });
});
