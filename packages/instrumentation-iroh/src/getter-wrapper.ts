import type { HookErrorSink } from './hook-error.js';

/**
 * Wraps an accessor's getter (napi exposes `BiStream.send` and `.recv` as prototype getters that
 * return a new JS object on every access): the original getter runs with the same `this` and its
 * value is returned as is; `observe` sees `this` and the value, in try/catch. Undone exactly by
 * unwrapGetter: the original descriptor is put back.
 */

interface GetterRecord {
  readonly wrapper: () => unknown;
  readonly original: PropertyDescriptor;
}

const WRAPPED_GETTERS = new WeakMap<object, Map<PropertyKey, GetterRecord>>();

export function isGetterWrapped(target: object, name: PropertyKey): boolean {
  return WRAPPED_GETTERS.get(target)?.has(name) === true;
}

export function wrapGetter(target: object, name: PropertyKey, observe: (self: unknown, value: unknown) => void, onHookError: HookErrorSink): boolean {
  try {
    if (WRAPPED_GETTERS.get(target)?.has(name) === true) return true;
    const original = Object.getOwnPropertyDescriptor(target, name);
    if (original === undefined || typeof original.get !== 'function' || !original.configurable) return false;
    const get = original.get;
    const wrapper = function (this: unknown): unknown {
      const value: unknown = get.call(this);
      try {
        observe(this, value);
      } catch (e) {
        onHookError(e);
      }
      return value;
    };
    for (const key of ['name', 'length'] as const) {
      try {
        Object.defineProperty(wrapper, key, { value: get[key], configurable: true });
      } catch {
        // cosmetic
      }
    }
    Object.defineProperty(target, name, { get: wrapper, set: original.set, enumerable: original.enumerable, configurable: true });
    let records = WRAPPED_GETTERS.get(target);
    if (records === undefined) WRAPPED_GETTERS.set(target, (records = new Map()));
    records.set(name, { wrapper, original });
    return true;
  } catch (e) {
    onHookError(e);
    return false;
  }
}

export function unwrapGetter(target: object, name: PropertyKey): void {
  const records = WRAPPED_GETTERS.get(target);
  const record = records?.get(name);
  if (record === undefined) return;
  records!.delete(name);
  if (records!.size === 0) WRAPPED_GETTERS.delete(target);
  try {
    if (Object.getOwnPropertyDescriptor(target, name)?.get !== record.wrapper) return; // replaced since: leave it
    Object.defineProperty(target, name, record.original);
  } catch {
    // frozen since: the wrapper stays and keeps passing values through
  }
}
