import { describe, expect, it } from 'vitest';
import type { StoreUnderTest } from './helpers/stores.js';
import type { ListedJson, Me } from './helpers/user-sessions-helpers.js';
import type { SessionStore } from '../src/store.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer, randomPrefix } from './helpers/services.js';
import { sleep } from './helpers/app.js';
import { fakeClock } from './helpers/clock.js';
import { CountingStore } from './helpers/counting-store.js';
import {
  cookieId,
  indexedHandles,
  loginClient,
  loginPath,
  randomUser,
  sessionKey,
  startUserApp,
} from './helpers/user-sessions-helpers.js';
import { UserIndex } from '../src/user-index.js';
import { encodeHead, encodeSlot, indexKey, slotKey } from '../src/user-slots.js';
import { encodeRecord } from '../src/record.js';
import { createSessionId, storeKeyFor } from '../src/id.js';
import { MemoryStore } from '../stores/memory.js';

const NOBODY: Me = { userId: null, handle: null };
// Also the index's grace: how much longer than its last session the index record may live.
const STORE_TIMEOUT = 1000;

for (const target of STORES_UNDER_TEST) {
  const name = `user sessions (log out everywhere) on ${target.name}`;
  if (target.serverUrl === undefined) describe(name, () => userSessionTests(target));
  else await describeWithServer(name, target.serverUrl, () => userSessionTests(target));
}

function userSessionTests(target: StoreUnderTest): void {
  const start = async (options: Parameters<typeof startUserApp>[1] = {}) =>
    startUserApp(await target.make(), options);

  it('login(userId) issues a new ID: the old cookie gives an empty session, the new one has the user and no pre-login data', async () => {
    const app = await start();
    const user = randomUser();
    const client = app.client();
    await client.post('/set/cart/apple');
    const before = client.fork();
    const me = (await client.post(loginPath(user))).json<Me>();
    expect(client.cookie()).not.toBe(before.cookie());
    expect((await before.get('/get/cart')).json()).toEqual({ value: null });
    expect((await before.get('/me')).json()).toEqual(NOBODY);
    expect((await client.get('/get/cart')).json()).toEqual({ value: null });
    expect((await client.get('/me')).json()).toEqual({ userId: user, handle: me.handle });
  });

  it('destroy() unbinds the session: listUserSessions omits it and its slot is gone from the index', async () => {
    const app = await start();
    const user = randomUser();
    const [a, b] = [await loginClient(app, user), await loginClient(app, user)];
    await a.client.post('/destroy');
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([b.me.handle]);
    expect(await indexedHandles(app.sessions.store, user)).toEqual([b.me.handle]);
  });

  it('regenerate() of a logged-in session moves its index entry to the new ID', async () => {
    const app = await start();
    const user = randomUser();
    const { client, me } = await loginClient(app, user);
    await client.post('/regenerate');
    const now = (await client.get('/me')).json<Me>();
    expect(now.userId).toBe(user);
    expect(now.handle).not.toBe(me.handle);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([now.handle]);
    expect(await indexedHandles(app.sessions.store, user)).toEqual([now.handle]);
  });

  it('login(userB) on a session bound to userA unbinds it from userA', async () => {
    const app = await start();
    const [alice, bob] = [randomUser('alice'), randomUser('bob')];
    const { client } = await loginClient(app, alice);
    const asBob = (await client.post(loginPath(bob))).json<Me>();
    expect(await app.sessions.listUserSessions(alice)).toEqual([]);
    expect((await indexedHandles(app.sessions.store, alice)) ?? []).toEqual([]);
    expect((await app.sessions.listUserSessions(bob)).map((s) => s.handle)).toEqual([asBob.handle]);
  });

  it('login(userId) twice on one session leaves exactly one index entry', async () => {
    const app = await start();
    const user = randomUser();
    const { client } = await loginClient(app, user);
    const again = (await client.post(loginPath(user))).json<Me>();
    expect(await indexedHandles(app.sessions.store, user)).toEqual([again.handle]);
  });

  it("a session past its idleTimeout disappears from its user's list while an active one stays", async () => {
    const app = await start({ idleTimeout: 1000, storeTimeout: STORE_TIMEOUT });
    const user = randomUser();
    const [idle, active] = [await loginClient(app, user), await loginClient(app, user)];
    // 700 + 400 ms always exceeds the idle session's 1000 ms; the active one, touched at 700, keeps 600 ms of margin.
    await sleep(700);
    expect((await active.client.get('/me')).json<Me>().userId).toBe(user);
    await sleep(400);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      active.me.handle,
    ]);
    expect((await idle.client.get('/me')).json()).toEqual(NOBODY);
  });

  it('listUserSessions(userId) reports handle, createdAt, lastActiveAt and expiresAt, never an ID or store key', async () => {
    const app = await start();
    const user = randomUser();
    const logins = [
      await loginClient(app, user),
      await loginClient(app, user),
      await loginClient(app, user),
    ];
    const listed = await app.sessions.listUserSessions(user);
    const now = Date.now();
    expect(listed.map((s) => s.handle).sort()).toEqual(logins.map((l) => l.me.handle).sort());
    for (const s of listed) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'expiresAt', 'handle', 'lastActiveAt']);
      expect([s.createdAt, s.lastActiveAt, s.expiresAt].every((d) => d instanceof Date)).toBe(true);
      expect(s.createdAt.getTime()).toBeLessThanOrEqual(s.lastActiveAt.getTime());
      expect(s.lastActiveAt.getTime()).toBeLessThanOrEqual(now);
      expect(s.expiresAt.getTime()).toBeGreaterThan(now);
    }
    const created = listed.map((s) => s.createdAt.getTime());
    expect(created).toEqual([...created].sort((x, y) => x - y));
    const json = JSON.stringify(listed);
    for (const { client } of logins) {
      expect(json).not.toContain(cookieId(client));
      expect(json).not.toContain(sessionKey(client));
    }
  });

  it('req.session.handle equals the handle listUserSessions lists for that session', async () => {
    const app = await start();
    const user = randomUser();
    const { client } = await loginClient(app, user);
    await loginClient(app, user);
    const mine = (await client.get('/me')).json<Me>().handle;
    const listed = (await client.get('/my-sessions')).json<ListedJson[]>();
    expect(listed.filter((s) => s.handle === mine)).toHaveLength(1);
    expect(listed).toHaveLength(2);
  });

  it('destroyUserSessions(userId, { except }) ends every other session and resolves how many', async () => {
    const app = await start();
    const user = randomUser();
    const [keep, ...others] = [
      await loginClient(app, user),
      await loginClient(app, user),
      await loginClient(app, user),
    ];
    expect((await keep!.client.post('/logout-others')).json()).toEqual({ ended: 2 });
    for (const { client } of others) expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect((await keep!.client.get('/me')).json()).toEqual(keep!.me);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      keep!.me.handle,
    ]);
  });

  it('destroyUserSessions(userId) without except ends all of them and leaves an empty list', async () => {
    const app = await start();
    const user = randomUser();
    const logins = [await loginClient(app, user), await loginClient(app, user)];
    expect(await app.sessions.destroyUserSessions(user)).toBe(2);
    for (const { client } of logins) expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect(await app.sessions.listUserSessions(user)).toEqual([]);
  });

  it('login(userId) from 20 clients at once leaves exactly 20 listed sessions', async () => {
    const app = await start();
    const user = randomUser();
    const logins = await Promise.all(Array.from({ length: 20 }, () => loginClient(app, user)));
    const handles = (await app.sessions.listUserSessions(user)).map((s) => s.handle).sort();
    expect(handles).toHaveLength(20);
    expect(handles).toEqual(logins.map((l) => l.me.handle).sort());
  });

  it('listUserSessions(userId) costs 1 + 2k gets for k sessions (head, slots, sessions), however many other sessions the store holds', async () => {
    const counting = new CountingStore(await target.make());
    const others = target.name === 'memory' ? 1000 : 100;
    await seedOtherUsers(counting.inner, others);
    const app = await startUserApp(counting);
    const user = randomUser();
    for (let i = 0; i < 3; i++) await loginClient(app, user);
    counting.reset();
    expect(await app.sessions.listUserSessions(user)).toHaveLength(3);
    expect(counting.nonZero()).toEqual({ get: 7 });
  });

  it('listUserSessions(userId) omits a session deleted behind the index, and deletes its slot once a login could no longer be creating it', async () => {
    const clock = fakeClock();
    const app = await start({ now: clock.now, storeTimeout: STORE_TIMEOUT });
    const user = randomUser();
    const [gone, kept] = [await loginClient(app, user), await loginClient(app, user)];
    expect(await app.sessions.store.delete(sessionKey(gone.client))).toBe(true);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      kept.me.handle,
    ]);
    // Within twice the store timeout a slot without its session may be a login between indexing and creating: kept.
    expect(await indexedHandles(app.sessions.store, user)).toEqual(
      [gone.me.handle, kept.me.handle].sort(),
    );
    clock.advance(2 * STORE_TIMEOUT);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      kept.me.handle,
    ]);
    expect(await indexedHandles(app.sessions.store, user)).toEqual([kept.me.handle]);
  });

  it('a touch of a bound session extends its slot record at least as far as the session; the head outlives both', async () => {
    const app = await start({ idleTimeout: 2000, storeTimeout: STORE_TIMEOUT });
    const user = randomUser();
    const { client } = await loginClient(app, user);
    const slot = slotKey(indexKey(user), 0);
    const first = await app.sessions.store.get(slot);
    await sleep(300);
    await client.get('/me');
    const session = await app.sessions.store.get(sessionKey(client));
    const touched = await app.sessions.store.get(slot);
    const head = await app.sessions.store.get(indexKey(user));
    expect(touched!.expiresAt).toBeGreaterThan(first!.expiresAt);
    expect(touched!.expiresAt).toBeGreaterThanOrEqual(session!.expiresAt);
    expect(head!.expiresAt).toBeGreaterThanOrEqual(touched!.expiresAt);
  });

  it('a slot record expires with its session (gone after one prune() at most); the head is fixed-size and holds no session key', async () => {
    // A frozen clock makes session and index deadlines count from the same instant.
    const app = await start({
      idleTimeout: 1500,
      absoluteTimeout: 3000,
      storeTimeout: STORE_TIMEOUT,
      now: fakeClock().now,
    });
    const user = randomUser();
    const { client } = await loginClient(app, user);
    const store = app.sessions.store;
    const session = await store.get(sessionKey(client));
    const slot = await store.get(slotKey(indexKey(user), 0));
    const head = await store.get(indexKey(user));
    expect(slot!.expiresAt).toBeGreaterThanOrEqual(session!.expiresAt);
    // Outliving the session by the grace (storeTimeout) give or take a store's ms rounding, never by the absolute timeout.
    expect(slot!.expiresAt).toBeLessThanOrEqual(session!.expiresAt + STORE_TIMEOUT + 5);
    expect(head!.value).not.toContain(sessionKey(client));
    expect(head!.value.length).toBeLessThan(64);
    await sleep(slot!.expiresAt - Date.now() + 50);
    if (!store.capabilities.nativeExpiry)
      expect(await app.sessions.prune()).toBeGreaterThanOrEqual(2);
    expect(await store.get(slotKey(indexKey(user), 0))).toBeUndefined();
    expect(await app.sessions.listUserSessions(user)).toEqual([]);
  });

  it("login('') fails with ERR_KVSESSION_BAD_ARGUMENT and binds nothing", async () => {
    const app = await start();
    const reply = await app.client().post(loginPath(''));
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_BAD_ARGUMENT' });
    expect(await app.sessions.store.get(indexKey(''))).toBeUndefined();
  });

  it("destroyUserSessions(userA, { except: a handle of userB }) ends all of userA's sessions and none of userB's", async () => {
    const app = await start();
    const [alice, bob] = [randomUser('alice'), randomUser('bob')];
    const aliceLogins = [await loginClient(app, alice), await loginClient(app, alice)];
    const bobs = await loginClient(app, bob);
    expect(await app.sessions.destroyUserSessions(alice, { except: bobs.me.handle! })).toBe(2);
    for (const { client } of aliceLogins) expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect((await bobs.client.get('/me')).json()).toEqual(bobs.me);
  });

  it("a key of userB's session planted in userA's index is neither listed nor ended for userA", async () => {
    const app = await start();
    const [alice, bob] = [randomUser('alice'), randomUser('bob')];
    const a = await loginClient(app, alice);
    const b = await loginClient(app, bob);
    const store = app.sessions.store;
    const entry = await store.get(indexKey(alice));
    // A slot of alice's pointing at bob's session, covered by her head.
    const planted = encodeSlot({ key: sessionKey(b.client), at: 0 });
    expect(await store.create(slotKey(indexKey(alice), 1), planted, Date.now() + 3_600_000)).toBe(
      true,
    );
    expect(
      await store.update(
        indexKey(alice),
        entry!.value,
        encodeHead({ lo: 0, hi: 2, n: 2, f: 2, t: 0 }),
        entry!.expiresAt,
      ),
    ).toBe(true);
    expect((await app.sessions.listUserSessions(alice)).map((s) => s.handle)).toEqual([
      a.me.handle,
    ]);
    expect(await app.sessions.destroyUserSessions(alice)).toBe(1);
    expect((await b.client.get('/me')).json()).toEqual(b.me);
  });

  it('destroyUserSessions(unknownUser) resolves 0 after one read and writes nothing', async () => {
    const counting = new CountingStore(await target.make());
    const app = await startUserApp(counting);
    expect(await app.sessions.destroyUserSessions(randomUser('nobody'))).toBe(0);
    expect(await app.sessions.listUserSessions(randomUser('nobody'))).toEqual([]);
    expect(counting.nonZero()).toEqual({ get: 2 });
  });

  it('regenerate() that loses a race against destroyUserSessions(userId) leaves no live session behind', async () => {
    const counting = new CountingStore(await target.make());
    const app = await startUserApp(counting);
    const user = randomUser();
    const { client } = await loginClient(app, user);
    // The regenerate has read the old session and is about to create its successor when everything ends.
    const held = counting.hold('create');
    const regenerating = client.post('/regenerate');
    await held.reached;
    expect(await app.sessions.destroyUserSessions(user)).toBe(1);
    held.release();
    await regenerating;
    expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect(await app.sessions.listUserSessions(user)).toEqual([]);
  });

  it('destroyUserSessions(userId) also ends the new ID a concurrent regenerate() moved the session to', async () => {
    const counting = new CountingStore(await target.make());
    const app = await startUserApp(counting);
    const user = randomUser();
    const { client } = await loginClient(app, user);
    // destroyUserSessions has listed the old ID and is about to delete it when the regenerate runs whole.
    const held = counting.hold('delete');
    const destroying = app.sessions.destroyUserSessions(user);
    await held.reached;
    expect((await client.post('/regenerate')).status).toBe(200);
    held.release();
    expect(await destroying).toBe(1);
    expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect(await app.sessions.listUserSessions(user)).toEqual([]);
  });
}

describe('user index keys', () => {
  it('login(userId) never puts the raw user id into any store key', async () => {
    const map = new Map();
    const app = await startUserApp(new MemoryStore({ prefix: randomPrefix('keys'), map }));
    const user = 'alice@example.com';
    await loginClient(app, user);
    await loginClient(app, user);
    const keys = [...map.keys()] as string[];
    // Two sessions, the head and two slots.
    expect(keys).toHaveLength(5);
    expect(keys.filter((k) => k.includes(user) || k.includes(encodeURIComponent(user)))).toEqual(
      [],
    );
    expect(keys.filter((k) => k.endsWith(indexKey(user)))).toHaveLength(1);
    expect(keys.filter((k) => k.includes(`${indexKey(user)}:`))).toHaveLength(2);
  });
});

/** Writes `n` sessions of `n` other users straight into the store, each bound in its user's index. */
async function seedOtherUsers(store: SessionStore, n: number): Promise<void> {
  const index = new UserIndex(store, 3_600_000);
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const userId = `other-${i}`;
    const key = storeKeyFor('', createSessionId());
    const { slot } = await index.bind(userId, key, now + 86_400_000);
    await store.create(
      key,
      encodeRecord({ createdAt: now, userId, slot, data: {} }),
      now + 3_600_000,
    );
  }
}
