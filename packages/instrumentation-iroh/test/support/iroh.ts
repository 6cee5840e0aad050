/**
 * Real @number0/iroh endpoints on loopback, no relays, no discovery: offline and fast (bind about
 * 50 ms, connect about 3 ms). Typed here because the package's `types` field names a file it
 * does not ship.
 */

export interface EndpointId {
  toString(): string;
}
export interface EndpointAddr {
  id(): EndpointId;
  directAddresses(): string[];
}
export interface SendStream {
  write(buf: number[]): Promise<number>;
  writeAll(buf: number[]): Promise<void>;
  finish(): Promise<void>;
  reset(code: bigint): Promise<void>;
  stopped(): Promise<number | null>;
}
export interface RecvStream {
  read(limit: number): Promise<number[]>;
  readExact(size: number): Promise<number[]>;
  readToEnd(limit: number): Promise<number[]>;
  stop(code: bigint): Promise<void>;
}
export interface BiStream {
  readonly send: SendStream;
  readonly recv: RecvStream;
}
export interface Connection {
  alpn(): number[];
  remoteId(): EndpointId;
  openBi(): Promise<BiStream>;
  openUni(): Promise<SendStream>;
  acceptBi(): Promise<BiStream>;
  acceptUni(): Promise<RecvStream>;
  close(code: bigint, reason: number[]): void;
  closed(): Promise<string>;
  closeReason(): string | null;
  stats(): Record<string, number>;
  paths(): { id: string; isSelected: boolean; isIp: boolean; isRelay: boolean; rttMs: number }[];
  rtt(): number | null;
}
export interface Accepting {
  connect(): Promise<Connection>;
}
export interface Incoming {
  accept(): Promise<Accepting>;
  refuse(): Promise<void>;
  ignore(): Promise<void>;
}
export interface Connecting {
  connect(): Promise<Connection>;
}
export interface Endpoint {
  id(): EndpointId;
  addr(): EndpointAddr;
  connect(addr: EndpointAddr, alpn: number[]): Promise<Connection>;
  connectPending(addr: EndpointAddr, alpn: number[]): Promise<Connecting>;
  acceptNext(): Promise<Incoming | null>;
  close(): Promise<void>;
  isClosed(): boolean;
}
interface EndpointBuilder {
  relayMode(mode: unknown): void;
  bindAddr(addr: string): void;
  alpns(alpns: number[][]): void;
  bind(): Promise<Endpoint>;
}
type Class = { prototype: object };
export interface IrohModule {
  Endpoint: Class & { builder(): EndpointBuilder };
  EndpointAddr: Class & { new (id: EndpointId, relayUrl: string | null, addresses: string[]): EndpointAddr };
  SecretKey: Class & { generate(): { public(): EndpointId } };
  RelayMode: { disabled(): unknown };
  presetMinimal(builder: EndpointBuilder): void;
  Connection: Class;
  Connecting: Class;
  Incoming: Class;
  Accepting: Class;
  BiStream: Class;
  SendStream: Class;
  RecvStream: Class;
}

export const IROH_CLASSES = ['Endpoint', 'Connection', 'Connecting', 'Incoming', 'Accepting', 'BiStream', 'SendStream', 'RecvStream'] as const;

export function loadIroh(): IrohModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@number0/iroh') as IrohModule;
}

export const ALPN_TEXT = 'p2p-otel-test/1';
export const ALPN = Array.from(Buffer.from(ALPN_TEXT));

export async function bindEndpoint(iroh: IrohModule, alpns: number[][] = [ALPN]): Promise<Endpoint> {
  const b = iroh.Endpoint.builder();
  iroh.presetMinimal(b);
  b.relayMode(iroh.RelayMode.disabled());
  b.bindAddr('127.0.0.1:0');
  b.alpns(alpns);
  return b.bind();
}

/** Every own property descriptor of every class prototype: to prove a restore is exact. */
export function prototypeSnapshot(iroh: IrohModule): Map<string, PropertyDescriptor> {
  const out = new Map<string, PropertyDescriptor>();
  for (const cls of IROH_CLASSES) {
    const proto = iroh[cls].prototype;
    for (const key of Reflect.ownKeys(proto)) out.set(`${cls}.${String(key)}`, Object.getOwnPropertyDescriptor(proto, key)!);
  }
  return out;
}

/** Endpoints to close after a test, whatever happened. */
export class Endpoints {
  private readonly all: Endpoint[] = [];

  constructor(private readonly iroh: IrohModule) {}

  async bind(alpns?: number[][]): Promise<Endpoint> {
    const endpoint = await bindEndpoint(this.iroh, alpns);
    this.all.push(endpoint);
    return endpoint;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.all.splice(0).map((e) => (e.isClosed() ? undefined : e.close())));
  }
}

export const bytes = (n: number, fill = 7): number[] => new Array<number>(n).fill(fill);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
