import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../src/index.js';
import { UserIndex, indexKey } from '../src/user-index.js';
import { encodeRecord } from '../src/record.js';
import { handleFor } from '../src/id.js';
import type { Suite } from './util.js';
import { HOUR, need, assertMissing, inMs, raceTest, randomKey, withStore } from './util.js';

const IDLE = HOUR;
const WORKERS = 20;

interface Written {
  readonly key: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Registers the user-index group: "log out everywhere" works over the store's conditional writes. */
export function userIndexTests(suite: Suite): void {
  const { test } = suite;

  test('UserIndex.list(userId) returns each bound live session by handle, createdAt and expiresAt, oldest first', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      const user = randomUser();
      const sessions = await writeSessions(store, index, user, 3);
      const listed = await index.list(user);
      assert.deepEqual(
        listed.map((s) => ({ handle: s.handle, createdAt: s.createdAt.getTime(), expiresAt: s.expiresAt.getTime() })),
        sessions.map((s) => ({ handle: handleFor(s.key), createdAt: s.createdAt, expiresAt: s.expiresAt })),
      );
      for (const info of listed) for (const s of sessions) assert.ok(!info.handle.includes(s.key) && !s.key.includes(info.handle));
    }));

  test('UserIndex.list(userId) resolves [] for a user with no index', () =>
    withStore(suite, async (store) => {
      assert.deepEqual(await new UserIndex(store, IDLE).list(randomUser()), []);
    }));

  test('UserIndex.destroyAll(userId, except) deletes every other session and resolves how many', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      const user = randomUser();
      const [kept, ...others] = await writeSessions(store, index, user, 4);
      const keep = handleFor(kept!.key);
      assert.equal(await index.destroyAll(user, keep), 3);
      for (const s of others) await assertMissing(store, s.key);
      assert.ok(await store.get(kept!.key));
      assert.deepEqual((await index.list(user)).map((s) => s.handle), [keep]);
      assert.equal(await need(store, 'count')(), 1);
    }));

  test('UserIndex.destroyAll(userId) leaves other users\' sessions alone', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      const [alice, bob] = [randomUser(), randomUser()];
      await writeSessions(store, index, alice, 2);
      const bobs = await writeSessions(store, index, bob, 2);
      assert.equal(await index.destroyAll(alice), 2);
      assert.deepEqual(await index.list(alice), []);
      assert.deepEqual((await index.list(bob)).map((s) => s.handle), bobs.map((s) => handleFor(s.key)));
      assert.equal(await need(store, 'count')(), 2);
    }));

  test('UserIndex.list(userId) drops a session deleted behind its back, from the result and the index', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      const user = randomUser();
      const [gone, kept] = await writeSessions(store, index, user, 2);
      await store.delete(gone!.key);
      assert.deepEqual((await index.list(user)).map((s) => s.handle), [handleFor(kept!.key)]);
      const raw = await store.get(indexKey(user));
      assert.ok(raw);
      assert.deepEqual(Object.keys((JSON.parse(raw.value) as { s: object }).s), [kept!.key]);
    }));

  test('UserIndex.list(userId) drops a session whose record now belongs to another user', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      const user = randomUser();
      const [moved] = await writeSessions(store, index, user, 1);
      const entry = await store.get(moved!.key);
      assert.ok(entry);
      const stolen = encodeRecord({ createdAt: moved!.createdAt, userId: randomUser(), data: {} });
      assert.equal(await store.update(moved!.key, entry.value, stolen, entry.expiresAt), true);
      assert.deepEqual(await index.list(user), []);
    }));

  test('count() does not count a user\'s index record', () =>
    withStore(suite, async (store) => {
      const index = new UserIndex(store, IDLE);
      await writeSessions(store, index, randomUser(), 2);
      assert.equal(await need(store, 'count')(), 2);
    }));

  raceTest(suite, `UserIndex.bind(userId) from ${WORKERS} concurrent logins keeps all ${WORKERS} sessions`, async (store) => {
    const index = new UserIndex(store, IDLE);
    const user = randomUser();
    const keys = Array.from({ length: WORKERS }, () => randomKey());
    const deadline = inMs(7 * 24 * HOUR);
    await Promise.all(
      keys.map(async (key) => {
        await store.create(key, encodeRecord({ createdAt: Date.now(), userId: user, data: {} }), inMs(IDLE));
        await index.bind(user, key, deadline);
      }),
    );
    const handles = (await index.list(user)).map((s) => s.handle).sort();
    assert.deepEqual(handles, keys.map(handleFor).sort());
  });
}

function randomUser(): string {
  return `user-${randomBytes(6).toString('hex')}`;
}

/** Writes `n` session records for `userId` with distinct createdAt (oldest first) and binds each. */
async function writeSessions(store: SessionStore, index: UserIndex, userId: string, n: number): Promise<Written[]> {
  const base = Date.now() - 60_000;
  const written: Written[] = [];
  for (let i = 0; i < n; i++) {
    const key = randomKey();
    const createdAt = base + i * 1000;
    const expiresAt = inMs(IDLE) + i;
    const value = encodeRecord({ createdAt, userId, data: { n: i } });
    assert.equal(await store.create(key, value, expiresAt), true);
    await index.bind(userId, key, createdAt + 7 * 24 * HOUR);
    written.push({ key, createdAt, expiresAt });
  }
  return written;
}
