/**
 * Runs startP2pTelemetry in a plain Node process (started by telemetry-process.ts through tsx),
 * driven over IPC. OTLP exporters 0.223 load `http` with a dynamic import(), which Jest's module
 * sandbox refuses without --experimental-vm-modules (open-telemetry/opentelemetry-js#6035): in a
 * Jest worker every OTLP export fails with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG, reported
 * only through diag. Here they run as in production.
 */
import { startP2pTelemetry, type P2pTelemetry, type P2pTelemetryOptions } from '@p2p-otel/sdk';
import { exerciseAllMetrics, exerciseMonitorConfig, manualClock, type ManualClock } from './exercise';
import type { ChildReply, ChildRequest } from './telemetry-process';

let telemetry: P2pTelemetry | undefined;
let clock: ManualClock | undefined;

const ops = {
  async start(options: P2pTelemetryOptions, withExerciseMonitor: boolean) {
    clock = manualClock();
    telemetry = await startP2pTelemetry(withExerciseMonitor ? { ...options, monitor: exerciseMonitorConfig(clock) } : options);
    return { exportPath: telemetry.exportPath, metricsUrl: telemetry.metricsUrl };
  },
  exercise() {
    exerciseAllMetrics(need().monitor, { advanceClock: clock?.advance });
  },
  recordMessage(peerId: string, messageType: string, sizeBytes: number) {
    need().monitor.recordMessage(peerId, messageType, sizeBytes);
  },
  forceFlush: () => need().forceFlush(),
  shutdown: () => need().shutdown(),
};
export type ChildOps = typeof ops;

function need(): P2pTelemetry {
  if (telemetry === undefined) throw new Error('telemetry not started');
  return telemetry;
}

process.on('message', (request: ChildRequest) => {
  const reply = (r: ChildReply): void => void process.send?.(r);
  const op = ops[request.op] as (...args: unknown[]) => unknown;
  Promise.resolve()
    .then(() => op(...request.args))
    .then(
      (result) => reply({ id: request.id, ok: true, result }),
      (e: Error) => reply({ id: request.id, ok: false, error: { name: e.name, message: e.message } }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, result: 'ready' } satisfies ChildReply);
