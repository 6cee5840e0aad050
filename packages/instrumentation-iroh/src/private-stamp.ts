/**
 * A value attached to objects we do not own, as a private class field added by a base constructor
 * that returns the object it is given (the class field is then defined on that object). Nothing
 * can see it but this module: no key in Object.keys, getOwnPropertySymbols, spreads, JSON or a
 * Proxy's ownKeys, and the object's own code cannot read or remove it.
 *
 * Why not a non-enumerable symbol property: Reflect.defineProperty is a call into V8's runtime per
 * object, where adding and reading a private field are inline-cached stores and loads. The stream
 * tracker stamps every stream object Iroh hands the application.
 */
export interface Stamp<T> {
  /** Attaches `value` to `object` (replacing this stamp's previous value); false when the object is not extensible. */
  set(object: object, value: T): boolean;
  /** The value this stamp attached to `object`, if any. */
  get(object: object): T | undefined;
}

/** A new stamp: values attached by another stamp (an earlier one) are not seen by it. */
export function createStamp<T>(): Stamp<T> {
  // Returning `object` from the base constructor makes it the `this` the subclass's field lands on.
  const ReturnsItsArgument = function (this: unknown, object: object) {
    return object;
  } as unknown as new (
    object: object,
  ) => object;
  class Stamped extends ReturnsItsArgument {
    #value: T;
    constructor(object: object, value: T) {
      super(object);
      this.#value = value;
    }
    static set(object: object, value: T): boolean {
      if (#value in object) {
        (object as Stamped).#value = value;
        return true;
      }
      // Non-extensible objects refuse the field in the newer JS semantics; refused everywhere alike.
      if (!Object.isExtensible(object)) return false;
      new Stamped(object, value);
      return true;
    }
    static get(object: object): T | undefined {
      return #value in object ? (object as Stamped).#value : undefined;
    }
  }
  return { set: (object, value) => Stamped.set(object, value), get: (object) => Stamped.get(object) };
}
