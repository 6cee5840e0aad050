import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AppConfig, AppMessage, AppRequest, AppStatus } from './fault-app';

export type { AppConfig, AppStatus };

/** fault-app.ts in a child process, driven over IPC. */
export interface AppProcess {
  readonly pid: number;
  readonly metricsUrl: string | undefined;
  status(): Promise<AppStatus>;
  /** Starts recording (until `total` records in all, if given); resolves with the count so far. */
  record(total?: number): Promise<number>;
  /** Stops recording; resolves with the total recorded. */
  stop(): Promise<number>;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  /** Sends SIGTERM; resolves with what the app reported once its shutdown() settled. */
  sigterm(): Promise<{ status: AppStatus; shutdownMs: number }>;
  /** Resolves when the process has exited (by itself: nothing here makes it exit, but close()). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Kills the process if it still runs. */
  close(): Promise<void>;
}

const REPO_ROOT = join(__dirname, '..', '..');

export async function startApp(config: AppConfig): Promise<AppProcess> {
  const child: ChildProcess = fork(join(__dirname, 'fault-app.ts'), [], {
    cwd: REPO_ROOT, // tsx reads tsconfig.json (the @p2p-otel/* paths) from here
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: { ...process.env, P2P_FAULT_APP: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let sigterm: ((v: { status: AppStatus; shutdownMs: number }) => void) | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  void exited.then(() => pending.forEach((p) => p.reject(new Error('app exited'))));
  const ready = new Promise<string | undefined>((resolve, reject) => {
    void exited.then(({ code }) => reject(new Error(`app exited with ${code} before it was ready`)));
    child.on('message', (m: AppMessage) => {
      if ('event' in m) {
        if (m.event === 'ready') resolve(m.metricsUrl);
        else sigterm?.({ status: m.status, shutdownMs: m.shutdownMs });
        return;
      }
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
  });
  const metricsUrl = await ready;
  const call =
    (op: AppRequest['op']) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args } satisfies AppRequest);
      });
  return {
    pid: child.pid!,
    metricsUrl,
    status: call('status'),
    record: call('record'),
    stop: call('stop'),
    forceFlush: call('forceFlush'),
    shutdown: call('shutdown'),
    sigterm: () =>
      new Promise((resolve) => {
        sigterm = resolve;
        child.kill('SIGTERM');
      }),
    exited,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
