import { describe, expect, it } from 'vitest';
import { PendingChanges } from '../src/pending-changes.js';
import type { Encoded } from '../src/serializer.js';

const stored = { a: 1, b: 'two' } as const;

describe('PendingChanges', () => {
  it('starts empty: nothing to save, and every key reads through to the stored data', () => {
    const changes = new PendingChanges();
    expect(changes.any).toBe(false);
    expect(changes.current('a', stored)).toBe(1);
    expect(changes.current('missing', stored)).toBeUndefined();
    expect(changes.current('a', undefined)).toBeUndefined();
    expect([...changes.applyTo(stored)]).toEqual([
      ['a', 1],
      ['b', 'two'],
    ]);
  });

  it('a set or delete shadows the stored value of that key only', () => {
    const changes = new PendingChanges();
    changes.set('a', 10);
    changes.delete('b');
    changes.set('c', [3]);
    expect(changes.any).toBe(true);
    expect([
      changes.current('a', stored),
      changes.current('b', stored),
      changes.current('c', stored),
    ]).toEqual([10, undefined, [3]]);
    expect(Object.fromEntries(changes.applyTo(stored))).toEqual({ a: 10, c: [3] });
  });

  it('re-applies onto whatever is stored now: keys another request changed meanwhile survive', () => {
    const changes = new PendingChanges();
    changes.set('a', 10);
    expect(Object.fromEntries(changes.applyTo({ a: 1, b: 'changed elsewhere', z: true }))).toEqual({
      a: 10,
      b: 'changed elsewhere',
      z: true,
    });
  });

  it('clear() drops every stored key and earlier changes; later changes still count', () => {
    const changes = new PendingChanges();
    changes.set('a', 10);
    changes.clear();
    changes.set('n', 'new');
    expect(changes.any).toBe(true);
    expect(changes.current('b', stored)).toBeUndefined();
    expect(Object.fromEntries(changes.applyTo(stored))).toEqual({ n: 'new' });
  });

  it('a clear() with no other change is still something to save', () => {
    const changes = new PendingChanges();
    changes.clear();
    expect(changes.any).toBe(true);
    expect(changes.applyTo(stored).size).toBe(0);
  });

  it('reset() forgets the changes and the clear', () => {
    const changes = new PendingChanges();
    changes.set('a', 10);
    changes.clear();
    changes.reset();
    expect(changes.any).toBe(false);
    expect(changes.current('a', stored)).toBe(1);
  });
});

/** Per-key merge as a Map, spelled out: stored keys first (dropped on clear), then the final state of each changed key. */
function mergedByMap(
  changes: PendingChanges,
  base: Record<string, Encoded> | undefined,
): Record<string, Encoded> {
  const { clear, set, delete: deleted } = changes.toDataChanges();
  const out = new Map<string, Encoded>(base === undefined || clear ? [] : Object.entries(base));
  for (const key of deleted) out.delete(key);
  for (const [key, json] of set) out.set(key, JSON.parse(json) as Encoded);
  return Object.fromEntries(out);
}

describe('applyToData(base)', () => {
  // A saving request builds its record with applyToData; it must give exactly the per-key merge.
  const keys = ['a', 'b', '__proto__', '10', 'z'];
  const bases: (Record<string, Encoded> | undefined)[] = [
    undefined,
    {},
    { a: 1, b: 'two' },
    JSON.parse('{"z":null,"__proto__":{"x":1},"10":[1],"a":true}') as Record<string, Encoded>,
  ];

  it('gives the same keys, values and order as the per-key merge spelled out with a Map, over many change sequences', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const changes = new PendingChanges();
      for (let i = random(6); i > 0; i--) {
        const key = keys[random(keys.length)] as string;
        const op = random(7);
        if (op === 0) changes.delete(key);
        else if (op === 1) changes.clear();
        else changes.set(key, { round, i });
      }
      for (const base of bases) {
        const expected = mergedByMap(changes, base);
        const actual = changes.applyToData(base);
        expect(Object.fromEntries(changes.applyTo(base))).toStrictEqual(actual);
        expect(Object.getPrototypeOf(actual)).toBe(Object.prototype);
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
        expect(actual).toStrictEqual(expected);
      }
    }
  });
});
