import { describe, expect, it } from 'vitest';
import { encodeValue, decodeValue, nestsDeeperThan, MAX_DEPTH } from '../src/serializer.js';
import { encodeRecord, decodeRecord, decodeRecordCached, rememberRecord } from '../src/record.js';
import type { SessionRecord } from '../src/record.js';
import { BoundedCache } from '../src/bounded-cache.js';
import type { Encoded } from '../src/serializer.js';
import { codeOf } from './helpers/codes.js';

/** Encodes, passes through JSON text as every store does, and decodes. */
function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value))) as Encoded);
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('encodeValue / decodeValue round trip', () => {
  it('keeps strings, finite numbers, booleans, null, arrays and plain objects', () => {
    const value = {
      s: 'é\u0000"',
      n: 1.5,
      neg: -3,
      big: Number.MAX_SAFE_INTEGER,
      t: true,
      f: false,
      z: null,
      a: [1, 'two', [3], { four: 4 }],
      o: {},
    };
    expect(roundTrip(value)).toEqual(value);
  });

  it('turns -0 into 0 (JSON has no -0)', () => {
    expect(Object.is(roundTrip(-0), 0)).toBe(true);
  });

  it('omits object properties that are undefined, like JSON.stringify', () => {
    expect(roundTrip({ a: 1, b: undefined })).toStrictEqual({ a: 1 });
  });

  it('restores a Date as a Date with the same time', () => {
    const date = new Date('2024-02-29T12:34:56.789Z');
    const back = roundTrip({ when: date, list: [date] }) as { when: Date; list: Date[] };
    expect(back.when).toBeInstanceOf(Date);
    expect(back.when.getTime()).toBe(date.getTime());
    expect(back.list[0]).toBeInstanceOf(Date);
  });

  it('restores a Uint8Array as a Uint8Array with the same bytes, only the view when it is a subarray', () => {
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    const back = roundTrip(bytes);
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back)).toBe(false);
    expect([...(back as Uint8Array)]).toEqual([0, 1, 2, 254, 255]);
    expect([...(roundTrip(bytes.subarray(1, 3)) as Uint8Array)]).toEqual([1, 2]);
  });

  it('restores a Buffer as a Buffer', () => {
    const back = roundTrip(Buffer.from('héllo'));
    expect(Buffer.isBuffer(back)).toBe(true);
    expect((back as Buffer).toString()).toBe('héllo');
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    expect(roundTrip({ a: shared, b: [shared, shared] })).toEqual({
      a: { k: 1 },
      b: [{ k: 1 }, { k: 1 }],
    });
  });

  it('accepts null-prototype objects, restoring them as plain objects', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(bare)).toEqual({ a: 1 });
  });

  it('keeps a user object that looks like an internal tag as plain data', () => {
    const lookalikes = [
      { $kv: 'date', v: 0 },
      { $kv: 'bytes', v: 'AAEC' },
      { $kv: 'obj', v: {} },
      { $kv: 'nonsense' },
    ];
    for (const value of lookalikes) {
      const back = roundTrip(value);
      expect(back).toEqual(value);
      expect(back).not.toBeInstanceOf(Date);
    }
  });

  it('stores __proto__, constructor and prototype keys as data without touching any prototype', () => {
    const value = JSON.parse(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}',
    ) as object;
    const back = roundTrip({ nested: value, ...{} }) as { nested: Record<string, unknown> };
    expect(Object.getPrototypeOf(back.nested)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(back.nested).sort()).toEqual([
      '__proto__',
      'constructor',
      'prototype',
    ]);
    expect(Object.getOwnPropertyDescriptor(back.nested, '__proto__')?.value).toEqual({
      polluted: true,
    });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('encodeValue rejects what would not round-trip with ERR_KVSESSION_NOT_SERIALIZABLE', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push({ back: cyclicArray });
  const cases: [string, unknown][] = [
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a BigInt', 10n],
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an invalid Date', new Date(Number.NaN)],
    ['a Map', new Map([[1, 2]])],
    ['a Set', new Set([1])],
    ['a RegExp', /x/],
    ['a class instance', new Point(1, 2)],
    ['an Error', new Error('e')],
    ['a boxed string', new String('s')],
    ['a Uint16Array', new Uint16Array(2)],
    ['a Promise', Promise.resolve(1)],
    ['a cycle', cyclic],
    ['a cycle through an array', cyclicArray],
    ['undefined inside an array', [1, undefined, 3]],
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is under test
    ['a sparse array', [1, , 3]],
    ['a symbol-keyed property', { [Symbol('k')]: 1 }],
    ['a nested function', { a: { b: [{ c: () => 1 }] } }],
    ['a nested BigInt', { a: [1n] }],
    ['a nested class instance', { when: { where: new Point(0, 0) } }],
  ];
  for (const [what, value] of cases) {
    it(`encodeValue(${what}) throws ERR_KVSESSION_NOT_SERIALIZABLE`, () => {
      expect(codeOf(() => encodeValue(value))).toBe('ERR_KVSESSION_NOT_SERIALIZABLE');
    });
  }

  it('encodeValue(500 levels of nesting) still round-trips', () => {
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 500; i++) deep = { d: deep };
    expect(roundTrip(deep)).toEqual(deep);
  });

  it('encodeValue(deeply nested object) throws ERR_KVSESSION_NOT_SERIALIZABLE, not a stack overflow', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(codeOf(() => encodeValue(deep))).toBe('ERR_KVSESSION_NOT_SERIALIZABLE');
  });
});

describe('decodeValue(encoded)', () => {
  it('throws ERR_KVSESSION_CORRUPT_RECORD for an unknown tag', () => {
    expect(codeOf(() => decodeValue({ $kv: 'nope', v: 1 }))).toBe('ERR_KVSESSION_CORRUPT_RECORD');
    expect(codeOf(() => decodeValue({ $kv: 'date', v: 'not a number' }))).toBe(
      'ERR_KVSESSION_CORRUPT_RECORD',
    );
  });
});

describe('nestsDeeperThan(value, max) and decodeRecord depth', () => {
  it('counts object and array levels, iteratively', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({ a: [{}] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{}] }, 2)).toBe(true);
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(nestsDeeperThan(deep, 1000)).toBe(true);
  });

  it('decodeRecord accepts the deepest record our own writes produce, tag wrappers included', () => {
    let value: Record<string, unknown> = { $kv: 'x' };
    for (let i = 1; i < MAX_DEPTH; i++) value = { $kv: 'x', d: value };
    const text = encodeRecord({ createdAt: 1, userId: undefined, data: { k: encodeValue(value) } });
    expect(decodeRecord(text)?.createdAt).toBe(1);
  });

  it('decodeRecord rejects the shortest record that nests one level too deep (the length shortcut never skips it)', () => {
    // d itself is level 0, so 2 × MAX_DEPTH + 2 brackets inside it nest 2 × MAX_DEPTH + 3 levels.
    const levels = 2 * MAX_DEPTH + 2;
    const text = `{"c":1,"d":{"x":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
    expect(decodeRecord(text)).toBeUndefined();
    const justFits = `{"c":1,"d":{"x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}}`;
    expect(decodeRecord(justFits)?.createdAt).toBe(1);
  });

  it('decodeRecord rejects a foreign record nested deeper than that as not ours', () => {
    const text = `{"c":1,"d":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expect(decodeRecord(text)).toBeUndefined();
  });
});

describe('decodeRecordCached(cache, text)', () => {
  const text = encodeRecord({
    createdAt: 5,
    userId: 'u1',
    data: { list: encodeValue([1, { a: 2 }]) },
  });

  it('parses a text once and hands the same frozen record to every later read of that text', () => {
    const cache = new BoundedCache<string, SessionRecord>(8);
    const first = decodeRecordCached(cache, text);
    // A fresh copy of the same text (as Redis or Postgres return it) still hits.
    const second = decodeRecordCached(cache, `${text} `.trimEnd());
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.data)).toBe(true);
  });

  it('decoded values are copies: changing what a handler got leaves the shared record intact', () => {
    const cache = new BoundedCache<string, SessionRecord>(8);
    const record = decodeRecordCached(cache, text) as SessionRecord;
    const list = decodeValue(record.data['list'] as Encoded) as [number, { a: number }];
    list[1].a = 99;
    list.push(3);
    expect(
      decodeValue((decodeRecordCached(cache, text) as SessionRecord).data['list'] as Encoded),
    ).toEqual([1, { a: 2 }]);
  });

  it('never remembers text that is not a record, nor records over 2 KB of text', () => {
    const cache = new BoundedCache<string, SessionRecord>(8);
    expect(decodeRecordCached(cache, '{"foreign":true}')).toBeUndefined();
    const big = encodeRecord({
      createdAt: 1,
      userId: undefined,
      data: { s: encodeValue('x'.repeat(3000)) },
    });
    expect(decodeRecordCached(cache, big)?.createdAt).toBe(1);
    expect(cache.size).toBe(0);
  });
});

describe('rememberRecord(cache, text, record)', () => {
  // writeChanges remembers the record it saved under the text it saved, so the next load skips the
  // parse: that is only sound if the record is exactly what decoding its text gives back.
  const values: Record<string, unknown> = {
    date: new Date(0),
    buffer: Buffer.from([0, 255]),
    bytes: new Uint8Array([7]),
    negativeZero: -0,
    nested: { a: [1, 'two', null, { b: true }], $kv: 'looks like a tag' },
    unicode: 'Ünïcødé ✓ \u2028',
    ['__proto__']: 'plain data',
    ['10']: 'an integer-like key',
  };
  const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, encodeValue(v, k)]));

  for (const userId of [undefined, 'u1']) {
    it(`the remembered record deep-equals decodeRecord of its text (userId ${String(userId)})`, () => {
      const record: SessionRecord =
        userId === undefined
          ? { createdAt: 5, userId, data: { ...data } }
          : { createdAt: 5, userId, slot: 3, data: { ...data } };
      const text = encodeRecord(record);
      const cache = new BoundedCache<string, SessionRecord>(8);
      rememberRecord(cache, text, record);
      const remembered = decodeRecordCached(cache, `${text} `.trimEnd());
      expect(remembered).toBe(record);
      expect(remembered).toStrictEqual(decodeRecord(text));
      expect(Object.keys(remembered?.data ?? {})).toEqual(
        Object.keys(decodeRecord(text)?.data ?? {}),
      );
      expect(Object.isFrozen(remembered?.data)).toBe(true);
    });
  }

  it('does not remember records over 2 KB of text', () => {
    const cache = new BoundedCache<string, SessionRecord>(8);
    const record: SessionRecord = {
      createdAt: 1,
      userId: undefined,
      data: { s: 'x'.repeat(3000) },
    };
    rememberRecord(cache, encodeRecord(record), record);
    expect(cache.size).toBe(0);
  });
});
