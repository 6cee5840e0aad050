/**
 * Arbitraries for the fuzz suites: values an application (or a bug in it) could hand to a public
 * entry point. Wider than test/support/arbitraries.ts's `hostile`: throwing conversions and
 * getters, Proxies whose every trap throws, boxed primitives, huge and odd numbers, strings that
 * look like numbers, addresses or label values.
 */
import fc from 'fast-check';

/** Runs per property: 10,000 by default; FUZZ_RUNS overrides it for a quick local iteration. */
export const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);

const FC_SYMBOLS = new Set<PropertyKey>([fc.toStringMethod, fc.asyncToStringMethod, fc.cloneMethod]);

/** Throws whatever it is asked; printable by fast-check's reporter without tripping a trap. */
export function trapProxy(label: string): object {
  const boom = (): never => {
    throw new Error(`hostile proxy (${label})`);
  };
  const target = { [fc.toStringMethod]: () => `trapProxy(${label})` };
  return new Proxy(target, {
    // fast-check's own symbols (printing, cloning) answer; everything else throws.
    get: (t, k) => (FC_SYMBOLS.has(k) ? Reflect.get(t, k) : boom()),
    has: (t, k) => (FC_SYMBOLS.has(k) ? Reflect.has(t, k) : boom()),
    ownKeys: boom,
    getOwnPropertyDescriptor: boom,
    getPrototypeOf: boom,
    set: boom,
    defineProperty: boom,
    deleteProperty: boom,
    isExtensible: boom,
    preventExtensions: boom,
    setPrototypeOf: boom,
    apply: boom,
    construct: boom,
  });
}

/** An object whose conversions to a primitive throw. */
function throwingPrimitive(label: string): object {
  const boom = (): never => {
    throw new Error(`hostile conversion (${label})`);
  };
  return { [fc.toStringMethod]: () => `throwingPrimitive(${label})`, toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom, toJSON: boom };
}

/** An object with a throwing getter under `key`. */
export function throwingGetter(key: PropertyKey): object {
  const o = { [fc.toStringMethod]: () => `throwingGetter(${String(key)})` };
  Object.defineProperty(o, key, {
    enumerable: true,
    get() {
      throw new Error(`hostile getter ${String(key)}`);
    },
  });
  return o;
}

export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    -1,
    1,
    0.5,
    1 + Number.EPSILON,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    1e308,
    4e9,
    2 ** 31,
    -(2 ** 31),
  ),
  fc.double(),
  fc.integer(),
  fc.double({ min: 0, max: 1 }),
);

export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'other', 'other_', 'NaN', '1e3', '-1', '0x10', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u0000', '\ud800', 'é'.normalize('NFD'), '😀'.repeat(40)),
  fc.constantFrom('10.0.0.1', '10.0.0.1:4433', '[::1]:9000', '::1', 'fe80::1', '::ffff:1.2.3.4', '2001:db8::', '10.0.0.123-node', '2001:db8::zz', '1.2.3.4.5'),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.string({ maxLength: 8 })).map(([ip, s]) => ip + s),
  fc.tuple(fc.ipV6(), fc.nat({ max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
  fc.string(),
  // Any code point, lone surrogates included. Not fc.string({ unit: 'binary' }): building it maps
  // all 1.1 million code points back to indexes, about 2 s per test file that loads this one.
  fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 40 }).map((cps) => String.fromCodePoint(...cps)),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
  fc.nat({ max: 400 }).map((n) => 'p'.repeat(n)),
);

/** Any value, weighted towards the hostile. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: oddNumber },
  { weight: 3, arbitrary: oddString },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      undefined,
      null,
      true,
      false,
      0n,
      -1n,
      2n ** 64n,
      () => 1,
      async () => 1,
      {},
      [],
      new Date(NaN),
      /re/,
      new Map(),
      new Set(),
      new Uint8Array(3),
      Promise.resolve(1),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(new Number(5), new String('peer'), new Boolean(false)) },
  { weight: 1, arbitrary: fc.string().map((s) => Symbol(s)) },
  { weight: 1, arbitrary: fc.constantFrom('proxy', 'conversion').map((k) => (k === 'proxy' ? trapProxy('value') : throwingPrimitive('value'))) },
  { weight: 1, arbitrary: fc.constantFrom<PropertyKey>('length', 'type', 'id', 'toString', 'then', 'size', 'payload').map(throwingGetter) },
  { weight: 1, arbitrary: fc.constant(null).map(() => Object.create(null) as object) },
  {
    weight: 2,
    arbitrary: fc.anything({
      maxDepth: 2,
      withBigInt: true,
      withNullPrototype: true,
      withTypedArray: true,
      withBoxedValues: true,
      withSparseArray: true,
      withDate: true,
      withMap: true,
      withSet: true,
    }),
  },
);

/**
 * `hostile` at a quarter of the cost: three draws in four come from a fixed corpus of 5,000
 * hostile values sampled once (seed 42), the fourth is generated afresh. For properties that run
 * 10,000 cases of cheap calls, where generating fc.anything() would dominate the run time.
 */
const CORPUS = fc.sample(hostile, { numRuns: 5_000, seed: 42 });
/** Only the corpus: for properties whose cases are built of many values (generated objects). */
export const hostileCorpus: fc.Arbitrary<unknown> = fc.nat({ max: CORPUS.length - 1 }).map((i) => CORPUS[i]);
export const hostileFast: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: hostileCorpus }, { weight: 1, arbitrary: hostile });
