import { defaultMessageId, defaultMessageType, defaultSize } from '../../src/instrumentation/transport-extract.js';

describe('default message extractors', () => {
  it('size: binary by byteLength, strings by UTF-8 length, then payload or data; -1 when unknown', () => {
    expect(defaultSize(new Uint8Array(3))).toBe(3);
    expect(defaultSize(Buffer.from('abcd'))).toBe(4);
    expect(defaultSize(new Float64Array(2))).toBe(16);
    expect(defaultSize(new DataView(new ArrayBuffer(5)))).toBe(5);
    expect(defaultSize(new ArrayBuffer(6))).toBe(6);
    expect(defaultSize(new SharedArrayBuffer(7))).toBe(7);
    expect(defaultSize('€')).toBe(3);
    expect(defaultSize({ payload: new Uint8Array(8), data: 'ignored' })).toBe(8);
    expect(defaultSize({ payload: 42, data: 'xyz' })).toBe(3);
    expect(defaultSize({ type: 'x' })).toBe(-1);
    expect(defaultSize({ payload: { nested: new Uint8Array(1) } })).toBe(-1);
    for (const v of [undefined, null, 12, true, Symbol('s')]) expect(defaultSize(v)).toBe(-1);
  });

  it('message type: a string `type`, else other; id: a string or number `id`', () => {
    expect(defaultMessageType({ type: 'raft' })).toBe('raft');
    expect(defaultMessageType({ type: 3 })).toBe('other');
    expect(defaultMessageType('raw')).toBe('other');
    expect(defaultMessageType(null)).toBe('other');
    expect(defaultMessageId({ id: 'a' })).toBe('a');
    expect(defaultMessageId({ id: 0 })).toBe(0);
    expect(defaultMessageId({ id: {} })).toBeUndefined();
    expect(defaultMessageId(undefined)).toBeUndefined();
  });
});
