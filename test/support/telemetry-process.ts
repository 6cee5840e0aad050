import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { P2pTelemetryOptions } from '@p2p-otel/sdk';
import type { ChildOps } from './telemetry-child';

export interface ChildRequest {
  readonly id: number;
  readonly op: keyof ChildOps;
  readonly args: unknown[];
}
export type ChildReply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } };

type Remote = { [K in keyof ChildOps]: (...args: Parameters<ChildOps[K]>) => Promise<Awaited<ReturnType<ChildOps[K]>>> };

/** startP2pTelemetry in a child Node process (see telemetry-child.ts for why). */
export interface TelemetryProcess extends Remote {
  /** Ends the child (shutting nothing down first: call shutdown() for that). */
  close(): Promise<void>;
}

const REPO_ROOT = join(__dirname, '..', '..');

export async function startTelemetryProcess(env: Record<string, string> = {}): Promise<TelemetryProcess> {
  const child: ChildProcess = fork(join(__dirname, 'telemetry-child.ts'), [], {
    cwd: REPO_ROOT, // tsx reads tsconfig.json (the @p2p-otel/* paths) from here
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`telemetry child exited with ${code} before it was ready`)));
    child.on('message', (reply: ChildReply) => {
      if (reply.id === 0) return resolve();
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.ok) p?.resolve(reply.result);
      else p?.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
  });
  void exited.then(() => pending.forEach((p) => p.reject(new Error('telemetry child exited'))));
  await ready;
  const call =
    (op: keyof ChildOps) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args } satisfies ChildRequest);
      });
  return {
    start: call('start') as Remote['start'],
    exercise: call('exercise') as Remote['exercise'],
    recordMessage: call('recordMessage') as Remote['recordMessage'],
    forceFlush: call('forceFlush') as Remote['forceFlush'],
    shutdown: call('shutdown') as Remote['shutdown'],
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect(); // the child exits on disconnect
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export type { P2pTelemetryOptions };
