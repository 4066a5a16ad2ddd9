import assert from 'node:assert/strict';
import { handleFor } from '../../../src/id.js';
import type { Suite } from '../../../conformance/util.js';
import {
  HOUR,
  need,
  assertMissing,
  inMs,
  raceTest,
  randomKey,
  withStore,
} from '../../../conformance/util.js';
import { GRACE, IDLE, indexRecords, randomUser } from './index-records.js';
import { sealedIndexTests } from './sealed.js';

const WORKERS = 20;

/** The user index's record conventions over a store: bind, list, cap, the old format, slots in flight. */
export function indexRecordTests(suite: Suite): void {
  const { test } = suite;
  const records = indexRecords(suite);
  const { newIndex, encode, headKey, writeSessions } = records;

  test('UserIndex.list(userId) returns each bound live session by handle, createdAt and expiresAt, oldest first', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const sessions = await writeSessions(store, index, user, 3);
      const listed = await index.list(user);
      assert.deepEqual(
        listed.map((s) => ({
          handle: s.handle,
          createdAt: s.createdAt.getTime(),
          expiresAt: s.expiresAt.getTime(),
        })),
        sessions.map((s) => ({
          handle: handleFor(s.key),
          createdAt: s.createdAt,
          expiresAt: s.expiresAt,
        })),
      );
      for (const info of listed)
        for (const s of sessions)
          assert.ok(!info.handle.includes(s.key) && !s.key.includes(info.handle));
    }));

  test('UserIndex.list(userId) resolves [] for a user with no index', () =>
    withStore(suite, async (store) => {
      assert.deepEqual(await newIndex(store).list(randomUser()), []);
    }));

  test('UserIndex.destroyAll(userId, except) deletes every other session and resolves how many', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const [kept, ...others] = await writeSessions(store, index, user, 4);
      const keep = handleFor(kept!.key);
      assert.equal(await index.destroyAll(user, keep), 3);
      for (const s of others) await assertMissing(store, s.key);
      assert.ok(await store.get(kept!.key));
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        [keep],
      );
      assert.equal(await need(store, 'count')(), 1);
    }));

  test("UserIndex.destroyAll(userId) leaves other users' sessions alone", () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const [alice, bob] = [randomUser(), randomUser()];
      await writeSessions(store, index, alice, 2);
      const bobs = await writeSessions(store, index, bob, 2);
      assert.equal(await index.destroyAll(alice), 2);
      assert.deepEqual(await index.list(alice), []);
      assert.deepEqual(
        (await index.list(bob)).map((s) => s.handle),
        bobs.map((s) => handleFor(s.key)),
      );
      assert.equal(await need(store, 'count')(), 2);
    }));

  test('UserIndex.list(userId) drops a session deleted behind its back, from the result and (once no login can be creating it) the index', () =>
    withStore(suite, async (store) => {
      let now = Date.now();
      const index = newIndex(store, () => now);
      const user = randomUser();
      const [gone, kept] = await writeSessions(store, index, user, 2);
      await store.delete(gone!.key);
      now += 2 * GRACE;
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        [handleFor(kept!.key)],
      );
      const { head, keys } = await records.read(store, user);
      assert.deepEqual(keys, [kept!.key]);
      assert.deepEqual([head.lo, head.hi, head.n], [1, 2, 1]);
    }));

  test('UserIndex.list(userId) drops a session whose record now belongs to another user', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const [moved] = await writeSessions(store, index, user, 1);
      const entry = await store.get(moved!.key);
      assert.ok(entry);
      const stolen = encode(moved!.key, {
        createdAt: moved!.createdAt,
        userId: randomUser(),
        data: {},
      });
      assert.equal(await store.update(moved!.key, entry.value, stolen, entry.expiresAt), true);
      assert.deepEqual(await index.list(user), []);
    }));

  test("count() does not count a user's index record", () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      await writeSessions(store, index, randomUser(), 2);
      assert.equal(await need(store, 'count')(), 2);
    }));

  test('UserIndex.enforceCap(userId, bound) ends the oldest sessions beyond maxPerUser; the one just bound is the newest and stays', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store, Date.now, { maxPerUser: 2 });
      const user = randomUser();
      const keys: string[] = [];
      for (let i = 0; i < 4; i++) {
        const key = randomKey();
        const bound = await index.bind(user, key, inMs(7 * 24 * HOUR));
        const record = encode(key, {
          createdAt: Date.now() + i,
          userId: user,
          slot: bound.slot,
          data: {},
        });
        assert.equal(await store.create(key, record, inMs(IDLE)), true);
        await index.enforceCap(user, bound);
        keys.push(key);
      }
      for (const key of keys.slice(0, 2)) await assertMissing(store, key);
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        keys.slice(2).map(handleFor),
      );
      assert.equal(await need(store, 'count')(), 2);
    }));

  test('UserIndex reads an index in the old one-record format once, moving it into slots: its sessions are listed and ended', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const old = [randomKey(), randomKey()];
      for (const key of old) {
        assert.equal(
          await store.create(
            key,
            encode(key, { createdAt: Date.now(), userId: user, data: {} }),
            inMs(IDLE),
          ),
          true,
        );
      }
      // The old format, sealed as it was under sealRecords.
      const legacy = JSON.stringify({
        s: Object.fromEntries(old.map((key) => [key, inMs(7 * 24 * HOUR)])),
      });
      assert.equal(
        await store.create(headKey(user), records.codec.seal(headKey(user), legacy), inMs(IDLE)),
        true,
      );
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle).sort(),
        old.map(handleFor).sort(),
      );
      assert.deepEqual((await records.read(store, user)).keys.sort(), [...old].sort());
      assert.equal(await index.destroyAll(user), 2);
      for (const key of old) await assertMissing(store, key);
    }));

  test('UserIndex.list(userId) never moves the head past a slot reserved moments ago whose record is not written yet', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      // A bind has reserved slot 0 (hi = 1, f = 0, t = now) and not yet written it.
      const [headAt, head] = records.head(user, { lo: 0, hi: 1, n: 1, f: 0, t: Date.now() });
      assert.equal(await store.create(headAt, head, inMs(IDLE)), true);
      assert.deepEqual(await index.list(user), []);
      const key = randomKey();
      const [slotAt, slot] = records.slot(user, 0, { key, at: Date.now() });
      assert.equal(await store.create(slotAt, slot, inMs(IDLE)), true);
      assert.equal(
        await store.create(
          key,
          encode(key, { createdAt: Date.now(), userId: user, slot: 0, data: {} }),
          inMs(IDLE),
        ),
        true,
      );
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        [handleFor(key)],
      );
    }));

  raceTest(
    suite,
    `UserIndex.bind(userId) from ${WORKERS} concurrent logins keeps all ${WORKERS} sessions`,
    async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const keys = Array.from({ length: WORKERS }, () => randomKey());
      const deadline = inMs(7 * 24 * HOUR);
      await Promise.all(
        keys.map(async (key) => {
          const { slot } = await index.bind(user, key, deadline);
          await store.create(
            key,
            encode(key, { createdAt: Date.now(), userId: user, slot, data: {} }),
            inMs(IDLE),
          );
        }),
      );
      const handles = (await index.list(user)).map((s) => s.handle).sort();
      assert.deepEqual(handles, keys.map(handleFor).sort());
    },
  );

  if (records.codec.sealed) sealedIndexTests(suite, records);
}
