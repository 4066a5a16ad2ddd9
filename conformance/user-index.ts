import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Suite } from './util.js';
import { need, raceTest, withStore } from './util.js';
import type { LoggedIn, LoginApp } from './login-app.js';
import { SECRET, withLoginApp } from './login-app.js';

const WORKERS = 20;
// The secret a rotation moves away from; the suite's app then signs with SECRET and still verifies this one.
const OLD_SECRET = 'conformance-older-secret-0123456789abcdef';

/**
 * Registers the user-index group: "log out everywhere" works over the store's conditional writes. Every
 * test drives kvSession() over the store as an app does (login() in a request, the management API),
 * with `sealRecords` when the suite's options ask for it.
 */
export function userIndexTests(suite: Suite): void {
  const { test } = suite;
  const sealed = suite.options.sealRecords === true;
  const onApp = (fn: (app: LoginApp) => Promise<void>, options = {}) =>
    withStore(suite, (store) => withLoginApp(store, sealed, fn, options));
  const handles = (list: readonly { handle: string }[]): string[] => list.map((s) => s.handle);

  test('listUserSessions(userId) lists each login by handle, oldest first, never by session ID', () =>
    onApp(async (app) => {
      const user = randomUser();
      const logins = await loginTimes(app, user, 3);
      const listed = await app.sessions.listUserSessions(user);
      assert.deepEqual(handles(listed), handles(logins));
      for (const [i, info] of listed.entries()) {
        assert.ok(info.createdAt.getTime() <= info.expiresAt.getTime());
        if (i > 0) assert.ok(info.createdAt >= listed[i - 1]!.createdAt);
        for (const s of logins)
          assert.ok(!info.handle.includes(s.id) && !s.id.includes(info.handle));
      }
    }));

  test('listUserSessions(userId) resolves [] for a user who never logged in', () =>
    onApp(async (app) => {
      assert.deepEqual(await app.sessions.listUserSessions(randomUser()), []);
    }));

  test('destroyUserSessions(userId, { except }) ends every other session and resolves how many', () =>
    onApp(async (app) => {
      const user = randomUser();
      const [kept, ...others] = await loginTimes(app, user, 4);
      assert.equal(await app.sessions.destroyUserSessions(user, { except: kept!.id }), 3);
      for (const s of others) assert.equal(await app.userOf(s.cookie), undefined);
      assert.equal(await app.userOf(kept!.cookie), user);
      assert.deepEqual(handles(await app.sessions.listUserSessions(user)), [kept!.handle]);
      assert.equal(await need(app.sessions.store, 'count')(), 1);
    }));

  test("destroyUserSessions(userId) leaves other users' sessions alone", () =>
    onApp(async (app) => {
      const [alice, bob] = [randomUser(), randomUser()];
      await loginTimes(app, alice, 2);
      const bobs = await loginTimes(app, bob, 2);
      assert.equal(await app.sessions.destroyUserSessions(alice), 2);
      assert.deepEqual(await app.sessions.listUserSessions(alice), []);
      assert.deepEqual(handles(await app.sessions.listUserSessions(bob)), handles(bobs));
      for (const s of bobs) assert.equal(await app.userOf(s.cookie), bob);
    }));

  test('listUserSessions(userId) drops a session whose record was deleted behind its back', () =>
    onApp(async (app) => {
      const user = randomUser();
      const [gone, kept] = await loginTimes(app, user, 2);
      assert.equal(await app.sessions.store.delete(gone!.key), true);
      assert.deepEqual(handles(await app.sessions.listUserSessions(user)), [kept!.handle]);
      assert.equal(await app.sessions.destroyUserSessions(user), 1);
    }));

  test("listUserSessions(userId) drops a session whose record now holds another user's", () =>
    onApp(async (app) => {
      const [alice, bob] = [randomUser(), randomUser()];
      const [moved] = await loginTimes(app, alice, 1);
      const [bobs] = await loginTimes(app, bob, 1);
      const { store } = app.sessions;
      const [entry, theirs] = [await store.get(moved!.key), await store.get(bobs!.key)];
      assert.ok(entry && theirs);
      assert.equal(
        await store.update(moved!.key, entry.value, theirs.value, entry.expiresAt),
        true,
      );
      assert.deepEqual(await app.sessions.listUserSessions(alice), []);
    }));

  test("count() counts sessions, never a user's index records", () =>
    onApp(async (app) => {
      await loginTimes(app, randomUser(), 2);
      await loginTimes(app, randomUser(), 1);
      assert.equal(await need(app.sessions.store, 'count')(), 3);
    }));

  test('login() beyond maxSessionsPerUser ends the oldest sessions; the newest stay', () =>
    onApp(
      async (app) => {
        const user = randomUser();
        const logins = await loginTimes(app, user, 4);
        for (const s of logins.slice(0, 2)) assert.equal(await app.userOf(s.cookie), undefined);
        assert.deepEqual(
          handles(await app.sessions.listUserSessions(user)),
          handles(logins.slice(2)),
        );
        assert.equal(await need(app.sessions.store, 'count')(), 2);
      },
      { maxSessionsPerUser: 2 },
    ));

  test('after a secret rotation, sessions of the older secret are listed and ended with the new ones', () =>
    withStore(suite, async (store) => {
      const user = randomUser();
      let before: LoggedIn[] = [];
      await withLoginApp(
        store,
        sealed,
        async (app) => void (before = await loginTimes(app, user, 2)),
        {
          secret: OLD_SECRET,
        },
      );
      await withLoginApp(
        store,
        sealed,
        async (app) => {
          const after = await loginTimes(app, user, 2);
          const listed = handles(await app.sessions.listUserSessions(user)).sort();
          assert.deepEqual(listed, handles([...before, ...after]).sort());
          assert.equal(await app.userOf(before[0]!.cookie), user);
          assert.equal(await app.sessions.destroyUserSessions(user), 4);
          assert.deepEqual(await app.sessions.listUserSessions(user), []);
        },
        { secret: [SECRET, OLD_SECRET] },
      );
    }));

  if (sealed) {
    test('sealRecords: no record the core writes holds a user id or session ID in clear', () =>
      onApp(async (app) => {
        const user = randomUser();
        const logins = await loginTimes(app, user, 2);
        assert.ok(app.written.size >= 3);
        for (const [key, text] of app.written) {
          for (const secret of [user, ...logins.map((s) => s.id)])
            assert.ok(!key.includes(secret) && !text.includes(secret));
        }
      }));
  }

  raceTest(
    suite,
    `login() from ${WORKERS} concurrent requests of one user keeps all ${WORKERS} sessions`,
    (store) =>
      withLoginApp(store, sealed, async (app) => {
        const user = randomUser();
        const logins = await Promise.all(Array.from({ length: WORKERS }, () => app.login(user)));
        const listed = handles(await app.sessions.listUserSessions(user)).sort();
        assert.deepEqual(listed, handles(logins).sort());
      }),
  );
}

/** Logs `userId` in `n` times, one after the other (so createdAt grows), as `n` browsers would. */
async function loginTimes(app: LoginApp, userId: string, n: number): Promise<LoggedIn[]> {
  const logins: LoggedIn[] = [];
  for (let i = 0; i < n; i++) logins.push(await app.login(userId));
  return logins;
}

/** A fresh user id. */
function randomUser(): string {
  return `user-${randomBytes(6).toString('hex')}`;
}
