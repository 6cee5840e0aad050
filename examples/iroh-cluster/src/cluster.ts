/**
 * The demo's orchestrator: one child process per node (node.ts under tsx), static discovery by
 * handing every node the list of all tickets, and restarts with the same identity and ports.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Fault } from './faults.js';
import type { NodeCommand, NodeReport } from './node.js';

export interface ClusterOptions {
  /** Nodes (default 5). */
  nodes?: number;
  /** Node i serves Prometheus on basePort + i; 0 lets each node pick a free port (default 9464). */
  basePort?: number;
  /** Lines from the nodes (fault notices, breakers, discovery) and from the orchestrator. */
  log?: (line: string) => void;
  /** How long a node may take to start (default 30 s). */
  startTimeoutMs?: number;
}

export interface NodeInfo {
  readonly index: number;
  readonly name: string;
  /** Fixed across restarts: the identity and ports are kept. */
  readonly secretKey: string;
  id: string;
  ticket: string;
  irohPort: number;
  metricsPort: number;
  metricsUrl: string | undefined;
  pid: number | undefined;
  status: 'starting' | 'up' | 'down';
  restarts: number;
}

const REPO_ROOT = resolve(__dirname, '../../..');
const NODE_ENTRY = resolve(__dirname, 'node.ts');

/** Node flags for a child that runs TypeScript: tsx's loader, and quiet about Iroh's package.json. */
function childExecArgv(): string[] {
  const args = ['--import', pathToFileURL(require.resolve('tsx')).href];
  // @number0/iroh's package.json names a `main` that does not exist: Node warns (DEP0128) and loads index.js.
  if (process.allowedNodeEnvironmentFlags.has('--disable-warning')) args.push('--disable-warning=DEP0128');
  return args;
}

export class Cluster {
  readonly nodes: NodeInfo[];
  private readonly children = new Map<number, ChildProcess>();
  private readonly log: (line: string) => void;
  private stopped = false;

  constructor(private readonly options: ClusterOptions = {}) {
    const count = options.nodes ?? 5;
    const basePort = options.basePort ?? 9464;
    this.log = options.log ?? ((line) => console.log(line));
    this.nodes = Array.from({ length: count }, (_, index) => ({
      index,
      name: `node-${index}`,
      secretKey: randomBytes(32).toString('hex'),
      id: '',
      ticket: '',
      irohPort: 0,
      metricsPort: basePort === 0 ? 0 : basePort + index,
      metricsUrl: undefined,
      pid: undefined,
      status: 'down' as const,
      restarts: 0,
    }));
  }

  /** Starts every node, then hands all of them the peer list. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.nodes.map((node) => this.spawn(node)));
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.broadcastPeers();
  }

  /** The peer list: every node's ticket, in node order (the first node is the raft leader). */
  tickets(): string[] {
    return this.nodes.map((n) => n.ticket);
  }

  /** Node names by the first 10 characters of their ids (the `short` peer_id labels). */
  namesByShortId(): Map<string, string> {
    return new Map(this.nodes.filter((n) => n.id !== '').map((n) => [n.id.slice(0, 10), n.name]));
  }

  fault(index: number, fault: Fault): void {
    this.send(index, { type: 'fault', fault });
  }

  /** Kills a node (SIGKILL: a crash, by default) and starts it again after `downMs`, same id and ports. */
  async restart(index: number, downMs: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes[index];
    const child = this.children.get(index);
    if (node === undefined || child === undefined || this.stopped) return;
    this.log(`${node.name}: ${signal === 'SIGKILL' ? 'crashing' : 'stopping'} (${signal}), back in ${downMs / 1000} s`);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill(signal);
      await exited;
    }
    await new Promise((done) => setTimeout(done, downMs));
    if (this.stopped) return;
    node.restarts++;
    const ticket = node.ticket;
    await this.spawn(node);
    if (node.ticket !== ticket) this.broadcastPeers(); // a new address: tell everyone
    this.log(`${node.name}: restarted (pid ${node.pid ?? '?'})`);
  }

  /** Stops every node (SIGTERM, then SIGKILL after 4 s). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill('SIGKILL'), 4_000);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    this.children.clear();
  }

  private broadcastPeers(): void {
    const tickets = this.tickets();
    for (const node of this.nodes) this.send(node.index, { type: 'peers', tickets });
  }

  private send(index: number, command: NodeCommand): void {
    const child = this.children.get(index);
    if (child?.connected) child.send(command);
  }

  private spawn(node: NodeInfo): Promise<void> {
    node.status = 'starting';
    const config = {
      name: node.name,
      secretKey: node.secretKey,
      irohPort: node.irohPort,
      metricsPort: node.metricsPort,
      ...(node.ticket === '' ? {} : { peers: this.tickets() }),
    };
    const child = fork(NODE_ENTRY, [], {
      cwd: REPO_ROOT, // tsx reads tsconfig.json here: @p2p-otel/* resolve to the workspace sources
      execArgv: childExecArgv(),
      env: { ...process.env, IROH_CLUSTER_NODE: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.children.set(node.index, child);
    node.pid = child.pid;
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.log(`${node.name}: ${line}`);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '' && !/DEP0128|--trace-deprecation/.test(line)) this.log(`${node.name} (stderr): ${line}`);
      }
    });
    child.on('exit', (code, signal) => {
      if (this.children.get(node.index) === child) node.status = 'down';
      if (!this.stopped && signal !== 'SIGKILL' && code !== 0) this.log(`${node.name}: exited (${signal ?? code})`);
    });
    return new Promise<void>((resolveReady, rejectReady) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rejectReady(new Error(`${node.name} did not start within ${(this.options.startTimeoutMs ?? 30_000) / 1000} s\n${stderr}`));
      }, this.options.startTimeoutMs ?? 30_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        rejectReady(new Error(`${node.name} exited (${signal ?? code}) before it was ready\n${stderr}`));
      });
      child.on('message', (report: NodeReport) => {
        if (report.type === 'log') {
          this.log(`${node.name}: ${report.line}`);
        } else if (report.type === 'ready') {
          clearTimeout(timer);
          node.id = report.id;
          node.ticket = report.ticket;
          node.irohPort = report.irohPort;
          node.metricsUrl = report.metricsUrl;
          if (report.metricsUrl !== undefined) node.metricsPort = Number(new URL(report.metricsUrl).port);
          node.status = 'up';
          resolveReady();
        }
      });
    });
  }
}
