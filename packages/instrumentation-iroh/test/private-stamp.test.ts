import { createStamp } from '../src/private-stamp.js';

it('attaches a value no reflection sees, replaced by a second set', () => {
  const stamp = createStamp<{ n: number }>();
  class Native {
    get send(): number {
      return 1;
    }
  }
  const object = new Native();
  const before = Reflect.ownKeys(object);
  expect(stamp.get(object)).toBeUndefined();
  expect(stamp.set(object, { n: 1 })).toBe(true);
  expect(stamp.get(object)).toEqual({ n: 1 });
  expect(stamp.set(object, { n: 2 })).toBe(true);
  expect(stamp.get(object)).toEqual({ n: 2 });
  expect(Reflect.ownKeys(object)).toEqual(before);
  expect(Reflect.ownKeys({ ...object })).toEqual([]);
  expect(JSON.stringify(object)).toBe('{}');
  expect(Object.getPrototypeOf(object)).toBe(Native.prototype);
  expect(object.send).toBe(1);
});

it('a new stamp does not see what an earlier one attached; two stamps keep their own values', () => {
  const first = createStamp<string>();
  const object = {};
  first.set(object, 'first');
  const second = createStamp<string>();
  expect(second.get(object)).toBeUndefined();
  second.set(object, 'second');
  expect(first.get(object)).toBe('first');
  expect(second.get(object)).toBe('second');
});

it('refuses frozen, sealed and non-extensible objects (false, nothing attached, nothing thrown)', () => {
  const stamp = createStamp<number>();
  for (const object of [Object.freeze({}), Object.seal({}), Object.preventExtensions({})]) {
    expect(stamp.set(object, 1)).toBe(false);
    expect(stamp.get(object)).toBeUndefined();
  }
});

it('a Proxy is stamped itself: its traps are not run and its target is not touched', () => {
  const stamp = createStamp<number>();
  const target = {};
  const trapped: string[] = [];
  const proxy = new Proxy(target, {
    defineProperty: () => {
      trapped.push('defineProperty');
      return false;
    },
    get: (t, k) => {
      trapped.push('get');
      return Reflect.get(t, k);
    },
  });
  expect(stamp.set(proxy, 7)).toBe(true);
  expect(stamp.get(proxy)).toBe(7);
  expect(stamp.get(target)).toBeUndefined();
  expect(trapped).toEqual([]);
});
