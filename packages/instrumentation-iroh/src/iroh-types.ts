/**
 * The parts of @number0/iroh (1.x, napi) this instrumentation touches, typed structurally: the
 * package's `types` field points at a file it does not ship, and the instrumentation must load
 * without it (it is an optional peer dependency). Numbers are what the napi layer returns: i64
 * counters as JS numbers, durations in whole milliseconds.
 */

/** `EndpointId`: a 32-byte ed25519 public key; toString() is its 64-character hex form. */
export interface EndpointIdLike {
  toString(): string;
}

/** `EndpointAddr`: an id plus the direct addresses and relay URL where it may be reached. */
export interface EndpointAddrLike {
  id(): EndpointIdLike;
}

/** `Connection.stats()`: totals since the connection started, over all its paths. */
export interface ConnectionStatsLike {
  udpTxDatagrams: number;
  udpTxBytes: number;
  udpRxDatagrams: number;
  udpRxBytes: number;
  lostPackets: number;
  lostBytes: number;
}

/** One entry of `Connection.paths()`. */
export interface PathSnapshotLike {
  id: string;
  isSelected: boolean;
  remoteAddr: string;
  isIp: boolean;
  isRelay: boolean;
  /** Whole milliseconds (Duration::as_millis): 0 on loopback. */
  rttMs: number;
}

export interface IrohConnectionLike {
  alpn(): number[];
  remoteId(): EndpointIdLike;
  /** null while open; then "closed" (closed here), "closed by peer: …", "timed out", "reset by peer", … */
  closeReason(): string | null;
  stats(): ConnectionStatsLike;
  paths(): PathSnapshotLike[];
}

/** The classes whose prototypes the instrumentation patches, as the module exports them. */
export interface IrohModuleLike {
  Endpoint?: { prototype: object };
  Connection?: { prototype: object };
  Connecting?: { prototype: object };
  Incoming?: { prototype: object };
  Accepting?: { prototype: object };
  BiStream?: { prototype: object };
  SendStream?: { prototype: object };
  RecvStream?: { prototype: object };
}

/** The kind of the path a connection currently sends on. */
export type PathKind = 'direct' | 'relay' | 'other';
