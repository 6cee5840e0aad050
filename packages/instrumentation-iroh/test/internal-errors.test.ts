import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OtelP2pMonitor, RecordingP2pMonitor } from '@p2p-otel/instrumentation';
import { IrohInstrumentation } from '../src/index.js';

/**
 * A failure inside the Iroh instrumentation's observation code reaches neither the application
 * nor silence: with a monitor that can count it, it is internal_error in
 * p2p_monitor_rejected_records_total (as the wrappers' failures are); otherwise it is logged.
 */

const hookError = (inst: IrohInstrumentation): ((e: unknown) => void) => (inst as unknown as { onHookError: (e: unknown) => void }).onHookError;

afterEach(() => diag.disable());

it('counts a hook failure as internal_error on a monitor that counts them, with one diag error', () => {
  const errors: unknown[][] = [];
  diag.setLogger({ error: (...a: unknown[]) => void errors.push(a), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.ERROR);
  const monitor = new OtelP2pMonitor();
  const inst = new IrohInstrumentation({ monitor, enabled: false });
  const failure = new Error('observation failed');
  expect(() => hookError(inst)(failure)).not.toThrow();
  expect(monitor.rejectedRecords()['internal_error']).toBe(1);
  expect(errors.filter((a) => a.includes(failure))).toHaveLength(1);
});

it('logs it when the monitor cannot count it, and never throws even if logging does', () => {
  const errors: unknown[][] = [];
  diag.setLogger({ error: (...a: unknown[]) => void errors.push(a), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.ERROR);
  const inst = new IrohInstrumentation({ monitor: new RecordingP2pMonitor(), enabled: false });
  const failure = new Error('observation failed');
  hookError(inst)(failure);
  expect(errors.some((a) => a.includes(failure))).toBe(true);
  const throwing = new OtelP2pMonitor();
  (throwing as unknown as { reportInternalError: () => never }).reportInternalError = () => {
    throw new Error('reporting failed');
  };
  const other = new IrohInstrumentation({ monitor: throwing, enabled: false });
  expect(() => hookError(other)(failure)).not.toThrow();
});
