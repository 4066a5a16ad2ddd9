import { describe, expect, it } from 'vitest';
import type { StoreUnderTest } from './helpers/stores.js';
import type { Me } from './helpers/user-sessions-helpers.js';
import type { TestApp, TestSessionOptions } from './helpers/app.js';
import type { SessionStore } from '../src/store.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { startApp } from './helpers/app.js';
import { fakeClock } from './helpers/clock.js';
import { CountingStore } from './helpers/counting-store.js';
import {
  cookieId,
  indexedHandles,
  loginClient,
  loginPath,
  mountUserRoutes,
  randomUser,
} from './helpers/user-sessions-helpers.js';
import { kvSession } from '../src/index.js';
import { TEST_SECRET } from './helpers/app.js';

const NOBODY: Me = { userId: null, handle: null };
const HOUR = 3_600_000;
// 250 requests at once queue on a 4-connection Postgres pool of a shared, loaded test machine: a single store
// operation may wait longer than the 2 s default there, which would be a store timeout, not what these tests are about.
const BURST_STORE_TIMEOUT = 10_000;

for (const target of STORES_UNDER_TEST) {
  const name = `log out everywhere cannot be bypassed, on ${target.name}`;
  if (target.serverUrl === undefined) describe(name, () => securityTests(target));
  else await describeWithServer(name, target.serverUrl, () => securityTests(target));
}

/**
 * The user routes plus POST /login-keep?user=U&keep=a,b (login with `keep`) and
 * POST /login-raw?v=JSON (login with any JSON value, or the words undefined / NaN / Infinity).
 */
async function startSecurityApp(
  store: SessionStore,
  session: TestSessionOptions = {},
): Promise<TestApp> {
  const app: TestApp = await startApp({
    session: { ...session, store },
    routes: (express) => {
      mountUserRoutes(express, () => app.sessions);
      express.post('/login-keep', async (req, res) => {
        const keep = String(req.query['keep'] ?? '')
          .split(',')
          .filter((k) => k !== '');
        await req.session.login(String(req.query['user']), { keep });
        res.json({ userId: (await req.session.userId()) ?? null });
      });
      express.post('/login-raw', async (req, res) => {
        const raw = String(req.query['v']);
        const value: unknown =
          raw === 'undefined'
            ? undefined
            : raw === 'NaN'
              ? NaN
              : raw === 'Infinity'
                ? Infinity
                : JSON.parse(raw);
        await req.session.login(value as string);
        res.json({ userId: (await req.session.userId()) ?? null });
      });
    },
  });
  return app;
}

function securityTests(target: StoreUnderTest): void {
  // The N, on every store.
  const concurrent = 250;

  it(`after ${concurrent} concurrent logins of one user, every session that got a cookie is listed and ended by destroyUserSessions`, async () => {
    const app = await startSecurityApp(await target.make(), {
      maxSessionsPerUser: false,
      storeTimeout: BURST_STORE_TIMEOUT,
    });
    const user = randomUser();
    const clients = Array.from({ length: concurrent }, () => app.client());
    const replies = await Promise.all(clients.map((c) => c.post(loginPath(user))));
    const cookied = clients.filter((_, i) => replies[i]!.cookie('sid')?.value);
    // No login may hand out a cookie and fail: a 503 carries no session cookie.
    for (const reply of replies)
      expect(reply.status === 200).toBe(reply.cookie('sid')?.value !== undefined);
    // Concurrent logins of one user come in bursts: none may fail with ERR_KVSESSION_CONFLICT. On this shared test
    // machine a store command can still time out at the store client's own bound; that is all that may fail.
    const failed = replies
      .filter((r) => r.status !== 200)
      .map((r) => r.json<{ code: string }>().code);
    expect(failed.filter((code) => code !== 'ERR_KVSESSION_STORE_TIMEOUT')).toEqual([]);
    expect(cookied.length).toBeGreaterThanOrEqual(concurrent * 0.9);
    const handles = replies.filter((r) => r.status === 200).map((r) => r.json<Me>().handle);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle).sort()).toEqual(
      handles.sort(),
    );
    expect(await app.sessions.destroyUserSessions(user)).toBe(cookied.length);
    const after = await Promise.all(cookied.map((c) => c.get('/me')));
    expect(after.map((r) => r.json())).toEqual(cookied.map(() => NOBODY));
    expect(await app.sessions.listUserSessions(user)).toEqual([]);
  }, 120_000);

  it(`${concurrent} concurrent logins of one user under maxSessionsPerUser: 100 leave exactly the 100 newest; every other cookie is dead`, async () => {
    const app = await startSecurityApp(await target.make(), {
      maxSessionsPerUser: 100,
      storeTimeout: BURST_STORE_TIMEOUT,
    });
    const user = randomUser();
    const clients = Array.from({ length: concurrent }, () => app.client());
    const replies = await Promise.all(clients.map((c) => c.post(loginPath(user))));
    for (const reply of replies)
      expect(reply.status === 200).toBe(reply.cookie('sid')?.value !== undefined);
    const listed = new Set((await app.sessions.listUserSessions(user)).map((s) => s.handle));
    expect(listed.size).toBe(100);
    const now = await Promise.all(clients.map((c) => c.get('/me')));
    const alive = now.map((r) => r.json<Me>()).filter((me) => me.userId !== null);
    expect(alive.map((me) => me.handle).sort()).toEqual([...listed].sort());
  }, 120_000);

  it('login() whose index write fails answers 503 with no session cookie and leaves no session record', async () => {
    const counting = new CountingStore(await target.make());
    const app = await startSecurityApp(counting);
    const user = randomUser();
    const first = await loginClient(app, user);
    const sessionsBefore = await counting.count();
    // The head exists now, so the next bind's compare-and-set is an update: make it fail.
    counting.fault('update', 'fail');
    const client = app.client();
    const reply = await client.post(loginPath(user));
    counting.fault('update', undefined);
    expect(reply.status).toBe(503);
    expect(reply.cookie('sid')).toBeUndefined();
    expect(await counting.count()).toBe(sessionsBefore);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      first.me.handle,
    ]);
    expect(await indexedHandles(counting, user)).toEqual([first.me.handle]);
  });

  it('login() whose session write fails after indexing answers 503 with no session cookie and frees its slot', async () => {
    const inner = await target.make();
    const store = new FailSessionCreates(inner);
    const app = await startSecurityApp(store);
    const user = randomUser();
    const first = await loginClient(app, user);
    store.failing = true;
    const reply = await app.client().post(loginPath(user));
    store.failing = false;
    expect(reply.status).toBe(503);
    expect(reply.cookie('sid')).toBeUndefined();
    expect(await indexedHandles(inner, user)).toEqual([first.me.handle]);
  });

  it('maxSessionsPerUser: 3 — the 4th and 5th logins end the two oldest sessions', async () => {
    const app = await startSecurityApp(await target.make(), { maxSessionsPerUser: 3 });
    const user = randomUser();
    const logins = [];
    for (let i = 0; i < 5; i++) logins.push(await loginClient(app, user));
    for (const { client } of logins.slice(0, 2))
      expect((await client.get('/me')).json()).toEqual(NOBODY);
    for (const { client, me } of logins.slice(2))
      expect((await client.get('/me')).json()).toEqual(me);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual(
      logins.slice(2).map((l) => l.me.handle),
    );
  });

  it('maxSessionsPerUser counts live sessions: logged-out ones do not push a live one out', async () => {
    const app = await startSecurityApp(await target.make(), { maxSessionsPerUser: 2 });
    const user = randomUser();
    const kept = await loginClient(app, user);
    for (let i = 0; i < 3; i++) await (await loginClient(app, user)).client.post('/destroy');
    const latest = await loginClient(app, user);
    expect((await kept.client.get('/me')).json()).toEqual(kept.me);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      kept.me.handle,
      latest.me.handle,
    ]);
  });

  it('maxSessionsPerUser: a re-login from the oldest session at the cap keeps its new session (the cap ends the old one)', async () => {
    const app = await startSecurityApp(await target.make(), { maxSessionsPerUser: 2 });
    const user = randomUser();
    const a = await loginClient(app, user);
    const b = await loginClient(app, user);
    const again = (await a.client.post(loginPath(user))).json<Me>();
    expect(again.userId).toBe(user);
    expect((await a.client.get('/me')).json()).toEqual(again);
    expect((await app.sessions.listUserSessions(user)).map((s) => s.handle)).toEqual([
      b.me.handle,
      again.handle,
    ]);
  });

  it('login(userId, { keep }) carries only the named keys; a value planted before login does not survive it', async () => {
    const app = await startSecurityApp(await target.make());
    const client = app.client();
    await client.post('/set/csrf/attacker-known');
    await client.post('/set/cart/apple');
    expect((await client.post(`/login-keep?user=${randomUser()}&keep=cart`)).status).toBe(200);
    expect((await client.get('/get/cart')).json()).toEqual({ value: 'apple' });
    expect((await client.get('/get/csrf')).json()).toEqual({ value: null });
  });

  it('regenerate() keeps data and the absolute deadline; only login() starts a new one', async () => {
    const clock = fakeClock();
    const app = await startSecurityApp(await target.make(), {
      now: clock.now,
      idleTimeout: 8 * HOUR,
      absoluteTimeout: 10 * HOUR,
    });
    const user = randomUser();
    const renewed = await loginClient(app, user);
    const relogged = await loginClient(app, user);
    await renewed.client.post('/set/cart/apple');
    const createdAt = (await app.sessions.listUserSessions(user))[0]!.createdAt.getTime();
    clock.advance(6 * HOUR);
    expect((await renewed.client.post('/regenerate')).status).toBe(200);
    expect((await relogged.client.post(loginPath(user))).status).toBe(200);
    expect((await renewed.client.get('/get/cart')).json()).toEqual({ value: 'apple' });
    const listed = await app.sessions.listUserSessions(user);
    expect(listed.map((s) => s.createdAt.getTime())).toEqual([createdAt, createdAt + 6 * HOUR]);
    clock.advance(5 * HOUR);
    // 11 h after the first login: past the 10 h absolute deadline for the regenerated one, not for the re-login.
    expect((await renewed.client.get('/me')).json()).toEqual(NOBODY);
    expect((await relogged.client.get('/me')).json<Me>().userId).toBe(user);
  });

  it("login() of undefined, null, {}, [], NaN, Infinity, true or '' fails with ERR_KVSESSION_BAD_ARGUMENT and sets no cookie", async () => {
    const app = await startSecurityApp(await target.make());
    for (const raw of ['undefined', 'null', '{}', '[]', 'NaN', 'Infinity', 'true', '""']) {
      const client = app.client();
      const reply = await client.post(`/login-raw?v=${encodeURIComponent(raw)}`);
      expect({ raw, status: reply.status, body: reply.json() }).toEqual({
        raw,
        status: 500,
        body: { code: 'ERR_KVSESSION_BAD_ARGUMENT' },
      });
      expect(reply.cookie('sid')).toBeUndefined();
    }
    const numeric = await app.client().post('/login-raw?v=42');
    expect(numeric.json()).toEqual({ userId: '42' });
    expect(await app.sessions.listUserSessions(42)).toHaveLength(1);
  });

  it('destroyUserSessions(userId, { except }) takes a handle or the current session id; anything else ends nothing and throws', async () => {
    const app = await startSecurityApp(await target.make());
    const user = randomUser();
    const [mine, other, third] = [
      await loginClient(app, user),
      await loginClient(app, user),
      await loginClient(app, user),
    ];
    for (const except of [
      undefined,
      '',
      'not-a-handle',
      42,
      null,
      {},
      cookieId(mine.client).slice(1),
      `${mine.me.handle!}x`,
    ]) {
      const err = await app.sessions
        .destroyUserSessions(user, { except } as { except: string })
        .catch((e: unknown) => e);
      expect({ except, code: (err as { code?: string }).code }).toEqual({
        except,
        code: 'ERR_KVSESSION_BAD_ARGUMENT',
      });
    }
    expect(await app.sessions.listUserSessions(user)).toHaveLength(3);
    // By session id, as `req.session.id` gives it.
    expect(await app.sessions.destroyUserSessions(user, { except: cookieId(mine.client) })).toBe(2);
    for (const { client } of [other, third])
      expect((await client.get('/me')).json()).toEqual(NOBODY);
    expect((await mine.client.get('/me')).json()).toEqual(mine.me);
    // By handle, as listUserSessions gives it.
    const fourth = await loginClient(app, user);
    expect(await app.sessions.destroyUserSessions(user, { except: fourth.me.handle! })).toBe(1);
    expect((await mine.client.get('/me')).json()).toEqual(NOBODY);
    expect((await fourth.client.get('/me')).json()).toEqual(fourth.me);
  });

  it('listUserSessions / destroyUserSessions reject a user id that is not a non-empty string or finite number', async () => {
    const app = await startSecurityApp(await target.make());
    for (const userId of [undefined, null, '', NaN, {}]) {
      for (const call of [
        () => app.sessions.listUserSessions(userId as string),
        () => app.sessions.destroyUserSessions(userId as string),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe('ERR_KVSESSION_BAD_ARGUMENT');
      }
    }
  });
}

/** A store whose session creates (keys without `:`) fail while `failing` is set; index writes go through. */
class FailSessionCreates extends CountingStore {
  failing = false;

  override create(key: string, value: string, expiresAt: number): Promise<boolean> {
    if (this.failing && !key.includes(':'))
      return Promise.reject(new Error('injected session create failure'));
    return super.create(key, value, expiresAt);
  }
}

describe('maxSessionsPerUser option', () => {
  it('rejects 0, -1, 1.5, NaN and a string with ERR_KVSESSION_BAD_OPTION; accepts a positive integer, false and Infinity', () => {
    for (const bad of [0, -1, 1.5, NaN, '10']) {
      expect(() =>
        kvSession({ secret: TEST_SECRET, maxSessionsPerUser: bad as number, pruneInterval: false }),
      ).toThrow(expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }));
    }
    for (const good of [1, 100, false, Infinity] as const) {
      const sessions = kvSession({
        secret: TEST_SECRET,
        maxSessionsPerUser: good,
        pruneInterval: false,
      });
      void sessions.close();
    }
  });

  it('defaults to 100: the 101st login of one user ends the first', async () => {
    const app = await startSecurityApp(await STORES_UNDER_TEST[0]!.make());
    const user = randomUser();
    const first = await loginClient(app, user);
    for (let i = 0; i < 99; i++) await loginClient(app, user);
    expect((await first.client.get('/me')).json()).toEqual(first.me);
    await loginClient(app, user);
    expect((await first.client.get('/me')).json()).toEqual(NOBODY);
    expect(await app.sessions.listUserSessions(user)).toHaveLength(100);
  }, 60_000);
});
