import fc from 'fast-check';
import {
  ATTEMPT_RESULTS,
  BREAKER_STATES,
  CONNECTION_STATES,
  DIRECTIONS,
  DISCOVERY_FAILURE_REASONS,
  DISCOVERY_METHODS,
  ERROR_TYPES,
  EVICTION_REASONS,
  RECORD_METHODS,
  SYNC_FAILURE_REASONS,
  type ParamKind,
  type RecordMethod,
} from '../../src/index.js';

/** Input nobody should send: the values the monitors must survive. */
export const hostile = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0.5, Number.MAX_VALUE, '', 'other', '1.2.3.4', '[::1]:4433'),
  fc.constantFrom(null, undefined, true, false, 0n as unknown, Symbol('x') as unknown, () => 1, {}, [], new Date(0)),
  fc.constantFrom('x'.repeat(1_000_000), {
    toString: () => {
      throw new Error('boom');
    },
  }),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.object(),
);

const peerIds = fc.constantFrom('peerA1b2c3d4e5f6', 'peerB1b2c3d4e5f6', 'peerC1b2c3d4e5f6', 'peerD1b2c3d4e5f6');
const amount = fc.double({ min: 0, max: 1e7, noNaN: true });
const ratio = fc.double({ min: 0, max: 1, noNaN: true });

/** Valid values for each parameter kind. */
export const VALID: { readonly [K in ParamKind]: fc.Arbitrary<unknown> } = {
  peer: peerIds,
  peerRef: peerIds,
  amount,
  optionalAmount: fc.option(amount, { nil: undefined }),
  ratio,
  attemptResult: fc.oneof(fc.constantFrom(...ATTEMPT_RESULTS), fc.boolean()),
  connectionState: fc.constantFrom(...CONNECTION_STATES),
  breakerState: fc.constantFrom(...BREAKER_STATES),
  direction: fc.constantFrom(...DIRECTIONS),
  optionalDirection: fc.option(fc.constantFrom(...DIRECTIONS), { nil: undefined }),
  boolean: fc.boolean(),
  errorType: fc.constantFrom(...ERROR_TYPES),
  discoveryMethod: fc.constantFrom(...DISCOVERY_METHODS),
  discoveryFailureReason: fc.constantFrom(...DISCOVERY_FAILURE_REASONS),
  evictionReason: fc.constantFrom(...EVICTION_REASONS),
  syncFailureReason: fc.constantFrom(...SYNC_FAILURE_REASONS),
  messageType: fc.constantFrom('raft', 'gossip', 'sync', 'ping'),
  resourceType: fc.constantFrom('blob', 'vm_image'),
  protocolVersion: fc.constantFrom('p2p/1', 'p2p/2'),
};

export const METHOD_NAMES = Object.keys(RECORD_METHODS) as RecordMethod[];

export interface Call {
  method: RecordMethod;
  args: unknown[];
}

/** A call with valid arguments. */
export function validCall(method: RecordMethod): fc.Arbitrary<Call> {
  return fc.tuple(...RECORD_METHODS[method].map((k) => VALID[k])).map((args) => ({ method, args }));
}

/** A call where each argument is valid or hostile, and arity may be short or long. */
export function anyCall(method: RecordMethod): fc.Arbitrary<Call> {
  const kinds = RECORD_METHODS[method];
  return fc
    .tuple(fc.tuple(...kinds.map((k) => fc.oneof(VALID[k], hostile))), fc.array(hostile, { maxLength: 2 }), fc.integer({ min: 0, max: kinds.length }))
    .map(([args, extra, cut]) => ({ method, args: cut === kinds.length ? [...args, ...extra] : args.slice(0, cut) }));
}

export const anyCallOfAnyMethod = fc.constantFrom(...METHOD_NAMES).chain(anyCall);
export const validCallOfAnyMethod = fc.constantFrom(...METHOD_NAMES).chain(validCall);

export function apply(monitor: object, call: Call): unknown {
  return (monitor as Record<string, (...a: unknown[]) => unknown>)[call.method]!(...call.args);
}
