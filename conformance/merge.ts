import assert from 'node:assert/strict';
import type { DataChanges, SessionStore } from '../src/index.js';
import type { Suite } from './util.js';
import {
  HOUR,
  SHORT_MS,
  assertEntry,
  assertMissing,
  inMs,
  raceTest,
  randomKey,
  waitPast,
  withStore,
} from './util.js';

const WORKERS = 20;

/** A kvsession record's text, as the core writes it. */
function record(data: Record<string, unknown>, userId?: string): string {
  return JSON.stringify(
    userId === undefined
      ? { c: 1_700_000_000_000, d: data }
      : { c: 1_700_000_000_000, u: userId, d: data },
  );
}

function changes(set: Record<string, unknown>, del: string[] = [], clear = false): DataChanges {
  return {
    clear,
    delete: del,
    set: new Map(Object.entries(set).map(([k, v]) => [k, JSON.stringify(v)])),
  };
}

function merge(store: SessionStore): NonNullable<SessionStore['mergeData']> {
  const mergeData = store.mergeData;
  assert.ok(
    mergeData,
    `the ${store.name} store was registered with merge: true but has no mergeData`,
  );
  return (key, c, maxBytes, expiresAt) => mergeData.call(store, key, c, maxBytes, expiresAt);
}

/** The record an entry holds, parsed. */
function parsed(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

/** Registers the merge group (opt-in with `merge: true`): mergeData applies per-key changes on the server. */
export function mergeTests(suite: Suite): void {
  const { test } = suite;

  test('mergeData(key, changes) sets and deletes only the named keys, keeps c and u, and resolves the stored entry', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, record({ a: 1, b: 'x', gone: true }, 'user-1'), inMs(HOUR));
      const expiresAt = inMs(2 * HOUR);
      const entry = await merge(store)(
        key,
        changes({ b: 'y', n: { $kv: 'date', v: 5 } }, ['gone']),
        65_536,
        expiresAt,
      );
      assert.ok(entry);
      assert.deepEqual(parsed(entry.value), {
        c: 1_700_000_000_000,
        u: 'user-1',
        d: { a: 1, b: 'y', n: { $kv: 'date', v: 5 } },
      });
      await assertEntry(store, key, entry.value, expiresAt);
    }));

  test('mergeData keeps every member of the record but d as stored (the user and the index slot)', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const text = JSON.stringify({ c: 1_700_000_000_000, u: 'user-2', i: 7, d: { a: 1 } });
      await store.create(key, text, inMs(HOUR));
      const entry = await merge(store)(key, changes({ b: 2 }), 65_536, inMs(HOUR));
      assert.deepEqual(parsed(entry?.value), {
        c: 1_700_000_000_000,
        u: 'user-2',
        i: 7,
        d: { a: 1, b: 2 },
      });
    }));

  test('mergeData(key, { clear: true }) drops every other key first', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, record({ a: 1, b: 2 }), inMs(HOUR));
      const entry = await merge(store)(key, changes({ c: 3 }, [], true), 65_536, inMs(HOUR));
      assert.deepEqual(parsed(entry?.value), { c: 1_700_000_000_000, d: { c: 3 } });
    }));

  test('mergeData keeps values byte-exactly: unicode, escapes, big and tiny numbers', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const odd = [
        'é ✓ 𝄞 \u2028',
        'quote " back \\ nl \n tab \t \u001f',
        Number('12345678901234567890'),
        1e-7,
        1e21,
        -0.5,
      ];
      await store.create(key, record({ keep: odd }), inMs(HOUR));
      const entry = await merge(store)(key, changes({ add: odd }), 65_536, inMs(HOUR));
      assert.deepEqual(parsed(entry?.value), { c: 1_700_000_000_000, d: { keep: odd, add: odd } });
      assert.ok(
        entry?.value.includes(JSON.stringify(odd)),
        'values are stored as their exact JSON text',
      );
    }));

  test('update(key, expected) accepts the text mergeData resolved: the two compare the same bytes', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, record({ a: 'é"\\' }), inMs(HOUR));
      const entry = await merge(store)(key, changes({ b: 'ü' }), 65_536, inMs(HOUR));
      assert.ok(entry);
      assert.equal(await store.update(key, entry.value, record({ z: 1 }), inMs(HOUR)), true);
    }));

  test('mergeData on a missing or expired key resolves undefined and creates nothing', () =>
    withStore(suite, async (store) => {
      const [missing, expired] = [randomKey(), randomKey()];
      const deadline = inMs(SHORT_MS);
      await store.create(expired, record({ a: 1 }), deadline);
      await waitPast(suite, deadline);
      assert.equal(await merge(store)(missing, changes({ a: 2 }), 65_536, inMs(HOUR)), undefined);
      assert.equal(await merge(store)(expired, changes({ a: 2 }), 65_536, inMs(HOUR)), undefined);
      await assertMissing(store, missing);
      await assertMissing(store, expired);
    }));

  test('mergeData whose result would exceed maxBytes resolves undefined and leaves the entry unchanged', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      const value = record({ a: 1 });
      const expiresAt = inMs(HOUR);
      await store.create(key, value, expiresAt);
      assert.equal(
        await merge(store)(key, changes({ big: 'x'.repeat(200) }), 100, inMs(2 * HOUR)),
        undefined,
      );
      await assertEntry(store, key, value, expiresAt);
    }));

  // PostgreSQL's JSON functions refuse \u0000 and lone surrogates; a store may decline such data (the core then compare-and-sets).
  for (const [label, odd] of [
    ['a key', { set: { 'nul\u0000key': 1, 'lone\udc00': 2 }, stored: { a: 1 } }],
    ['a new value', { set: { b: 'nul \u0000 lone \ud800' }, stored: { a: 1 } }],
    ['a stored value', { set: { b: 2 }, stored: { a: 'nul \u0000 lone \ud800' } }],
  ] as const) {
    const name = `mergeData with \\u0000 or a lone surrogate in ${label} resolves undefined (entry unchanged) or merges exactly`;
    test(name, () =>
      withStore(suite, async (store) => {
        const key = randomKey();
        const value = record(odd.stored);
        await store.create(key, value, inMs(HOUR));
        const entry = await merge(store)(key, changes(odd.set), 65_536, inMs(HOUR));
        if (entry !== undefined)
          assert.deepEqual(parsed(entry.value), {
            c: 1_700_000_000_000,
            d: { ...odd.stored, ...odd.set },
          });
        else assert.equal((await store.get(key))?.value, value);
      }),
    );
  }

  raceTest(
    suite,
    `mergeData from ${WORKERS} concurrent callers, each its own key, keeps all ${WORKERS}`,
    async (store) => {
      const key = randomKey();
      await store.create(key, record({}), inMs(HOUR));
      const save = (i: number): Promise<unknown> =>
        merge(store)(key, changes({ [`k${i}`]: i }), 65_536, inMs(HOUR));
      const results = await Promise.all([...Array(WORKERS).keys()].map(save));
      assert.ok(results.every((r) => r !== undefined));
      const data = (parsed((await store.get(key))?.value) as { d: Record<string, number> }).d;
      assert.deepEqual(
        Object.keys(data).sort(),
        [...Array(WORKERS).keys()].map((i) => `k${i}`).sort(),
      );
    },
  );
}
