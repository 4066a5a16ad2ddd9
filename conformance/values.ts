import assert from 'node:assert/strict';
import type { Suite } from './util.js';
import { HOUR, assertEntry, inMs, randomKey, withStore } from './util.js';

// Texts a store that parses or re-encodes values would change: cjson turns [] into {} and rounds
// big integers, jsonb reorders keys, drops duplicates and normalizes spacing and escapes.
// The empty string is left out on purpose: the core never writes one (records are JSON objects).
const OPAQUE = [
  '[]',
  '{}',
  '{"a":1}',
  '12345678901234567890',
  '{"n":12345678901234567890}',
  '{"a":1.0}',
  '{"a":1e3}',
  '{"b":2,"a":1}',
  ' { "a" : 1 } ',
  '{"a":1,"a":2}',
  '{"e":"\\u00e9\\n"}',
  '{"s":"\\ud83d"}',
  '"just a string"',
  'null',
  'true',
  '-0',
  'not json {',
  '{"c":1700000000000,"d":{"cart":[],"meta":{},"x":null}}',
];

// Pairs that are equal as JSON but not as text: update() must compare text, so these never match.
const LOOKALIKES: [stored: string, expected: string][] = [
  ['{"a":1.0}', '{"a":1}'],
  ['{"b":2,"a":1}', '{"a":1,"b":2}'],
  [' { "a" : 1 } ', '{"a":1}'],
  ['{"e":"\\u00e9"}', '{"e":"é"}'],
  ['[]', '{}'],
];

/** Registers the values group: values are opaque text, stored and compared byte-exactly. */
export function valuesTests(suite: Suite): void {
  const { test } = suite;

  test('get(key) returns JSON-looking values and big integers byte-exactly', () =>
    withStore(suite, async (store) => {
      const expiresAt = inMs(HOUR);
      const keys = OPAQUE.map(() => randomKey());
      for (const [i, value] of OPAQUE.entries())
        assert.equal(await store.create(keys[i]!, value, expiresAt), true, value);
      for (const [i, value] of OPAQUE.entries())
        await assertEntry(store, keys[i]!, value, expiresAt);
    }));

  test('update(key, expected) matches JSON-looking values by exact text and stores them byte-exactly', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      let current = 'start';
      await store.create(key, current, inMs(HOUR));
      for (const value of OPAQUE) {
        assert.equal(
          await store.update(key, current, value, inMs(HOUR)),
          true,
          `${current} -> ${value}`,
        );
        current = value;
      }
      const expiresAt = inMs(HOUR);
      assert.equal(await store.update(key, current, 'end', expiresAt), true);
      await assertEntry(store, key, 'end', expiresAt);
    }));

  test('update(key, expected) resolves false when expected equals the value as JSON but not as text', () =>
    withStore(suite, async (store) => {
      for (const [stored, expected] of LOOKALIKES) {
        const key = randomKey();
        const expiresAt = inMs(HOUR);
        await store.create(key, stored, expiresAt);
        assert.equal(
          await store.update(key, expected, 'changed', expiresAt + 1),
          false,
          `${stored} vs ${expected}`,
        );
        await assertEntry(store, key, stored, expiresAt);
      }
    }));

  test('touch(key) keeps JSON-looking values byte-exactly', () =>
    withStore(suite, async (store) => {
      const keys = OPAQUE.map(() => randomKey());
      for (const [i, value] of OPAQUE.entries()) await store.create(keys[i]!, value, inMs(HOUR));
      const expiresAt = inMs(2 * HOUR);
      for (const key of keys) assert.equal(await store.touch(key, expiresAt), true);
      for (const [i, value] of OPAQUE.entries())
        await assertEntry(store, keys[i]!, value, expiresAt);
    }));
}
