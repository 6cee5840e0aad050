/**
 * Child processes for the live test: each one is started in its own process group, so that
 * stopping it also stops whatever it started (the demo's node processes), and its output is kept
 * for failure messages.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as net from 'node:net';

export interface Group {
  readonly name: string;
  readonly child: ChildProcess;
  /** Output lines (stdout and stderr), the last MAX_LINES. */
  readonly lines: string[];
  /** Resolves with the exit code or signal once the group leader exited. */
  readonly exited: Promise<string>;
  exitedYet: boolean;
  /** Calls `listener` with every output line from now on. */
  onLine(listener: (line: string) => void): void;
}

const MAX_LINES = 400;

export function startGroup(name: string, command: string, args: string[], options: SpawnOptions = {}): Group {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      group.exitedYet = true;
      resolve(signal ?? String(code));
    });
    child.once('error', (error) => {
      group.exitedYet = true;
      lines.push(`spawn error: ${error.message}`);
      resolve(`error ${error.message}`);
    });
  });
  const take = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
      for (const listener of listeners) listener(line);
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const group: Group = { name, child, lines, exited, exitedYet: false, onLine: (listener) => void listeners.push(listener) };
  return group;
}

/** Sends `signal` to the whole process group; false when it is gone. */
function signalGroup(group: Group, signal: NodeJS.Signals | 0): boolean {
  if (group.child.pid === undefined) return false;
  try {
    process.kill(-group.child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: no process left in the group
  }
}

/**
 * Stops a process group: SIGTERM, up to `graceMs` for the leader to exit, then SIGKILL to whatever
 * is left in the group. Never throws; safe to call twice.
 */
export async function stopGroup(group: Group | undefined, graceMs = 8_000): Promise<void> {
  if (group === undefined) return;
  if (signalGroup(group, 'SIGTERM') && !group.exitedYet) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([group.exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
  signalGroup(group, 'SIGKILL');
  await Promise.race([group.exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  // The leader's exit says nothing of the rest of the group: killed members (the demo's node
  // processes, each with its Iroh threads) take a moment to die and be reaped on a loaded machine.
  for (const until = Date.now() + 3_000; groupAlive(group) && Date.now() < until; ) await sleep(50);
}

/** True while some process of the group is alive. */
export function groupAlive(group: Group): boolean {
  return group.child.pid !== undefined && signalGroup(group, 0);
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
