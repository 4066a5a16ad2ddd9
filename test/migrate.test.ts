import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, it, onTestFinished } from 'vitest';
import express from 'express';
import type { Express, Request } from 'express';
import expressSession from 'express-session';
import { RedisStore } from 'connect-redis';
import connectPgSimple from 'connect-pg-simple';
import { createClient } from 'redis';
import pg from 'pg';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { kvSession } from '../src/index.js';
import { session as dropIn } from '../src/express-session/index.js';
import type { LegacyStore } from '../src/legacy-store.js';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';
import { Client } from './helpers/app.js';
import {
  DATABASE_URL,
  REDIS_URL,
  RUN_ID,
  describeWithServer,
  randomPrefix,
} from './helpers/services.js';
import { DROPIN_SECRET, form } from './helpers/dropin-app.js';

const OLD_SECRET = 'keyboard cat';
const PG_TABLE = `kvsession_mig_${RUN_ID}`;

/** passport-local with one user, as in passport's README; `user.id` is what lands in the session. */
function wirePassport(app: Express): void {
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) =>
      done(null, username === 'alice' && password === 'pw' ? { id: 'u1' } : false),
    ),
  );
  auth.serializeUser((user, done) => done(null, (user as { id: string }).id));
  auth.deserializeUser((id: string, done) => done(null, { id }));
  app.use(express.urlencoded({ extended: false }));
  app.use(auth.session());
  app.post(
    '/login',
    auth.authenticate('local', { successRedirect: '/me', failureRedirect: '/login' }),
  );
  app.get('/me', (req, res) =>
    res.json({
      user: (req.user as { id?: string } | undefined)?.id ?? null,
      authenticated: req.isAuthenticated(),
    }),
  );
}

async function serve(app: Express): Promise<string> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The app before the switch: real express-session on the old store; logs alice in and leaves a counter. */
async function loginWithExpressSession(
  store: expressSession.Store,
): Promise<{ cookie: string; sid: string }> {
  const app = express();
  app.use(expressSession({ secret: OLD_SECRET, resave: false, saveUninitialized: false, store }));
  wirePassport(app);
  app.get('/visit', (req, res) => {
    const s = req.session as unknown as { visits?: number };
    s.visits = (s.visits ?? 0) + 1;
    res.end();
  });
  const client = new Client(await serve(app));
  expect((await client.request('/login', form({ username: 'alice', password: 'pw' }))).status).toBe(
    302,
  );
  await client.get('/visit');
  expect((await client.get('/me')).json()).toEqual({ user: 'u1', authenticated: true });
  const cookie = client.cookie('connect.sid') as string;
  expect(cookie.startsWith('s:')).toBe(true);
  return { cookie, sid: cookie.slice(2, cookie.lastIndexOf('.')) };
}

/** The old store's get, counted: a forged cookie must never reach it. */
function countGets(store: expressSession.Store): { store: LegacyStore; gets: () => number } {
  let gets = 0;
  const counted = Object.create(store) as expressSession.Store;
  counted.get = (sid, cb) => {
    gets++;
    store.get(sid, cb);
  };
  return { store: counted as unknown as LegacyStore, gets: () => gets };
}

function oldRecord(store: expressSession.Store, sid: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    store.get(sid, (err, sess) => (err ? reject(err) : resolve(sess ?? null))),
  );
}

/** The migration checks, run against one real express-session store. */
function migrationSuite(makeOld: () => Promise<expressSession.Store>): void {
  it('kvSession({ migrate }): the old cookie is moved, passport user and data kept, a kvsession cookie issued, the old record deleted', async () => {
    const old = await makeOld();
    const { cookie, sid } = await loginWithExpressSession(old);
    const sessions = kvSession({
      secret: DROPIN_SECRET,
      pruneInterval: false,
      migrate: { store: old as unknown as LegacyStore, secret: OLD_SECRET },
    });
    onTestFinished(() => sessions.close());
    const app = express();
    app.use(sessions);
    app.get('/data', async (req, res) =>
      res.json({
        passport: await req.session.get('passport'),
        visits: await req.session.get('visits'),
      }),
    );
    const client = new Client(await serve(app));
    client.jar.set('connect.sid', cookie);
    const first = await client.get('/data');
    expect(first.json()).toEqual({ passport: { user: 'u1' }, visits: 1 });
    expect(first.cookie('sid')?.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(first.cookie('connect.sid')?.value).toBe('');
    expect(client.cookie('connect.sid')).toBeUndefined();
    expect(await oldRecord(old, sid)).toBeNull();
    expect((await client.get('/data')).json()).toEqual({ passport: { user: 'u1' }, visits: 1 });
  });

  it('the drop-in with migrate: Passport req.user survives the switch and the new connect.sid is a kvsession cookie', async () => {
    const old = await makeOld();
    const { cookie, sid } = await loginWithExpressSession(old);
    const sessions = dropIn({
      secret: DROPIN_SECRET,
      resave: false,
      saveUninitialized: false,
      pruneInterval: false,
      store: createMemoryStore({ prefix: randomPrefix('mig') }),
      migrate: { store: old as unknown as LegacyStore, secret: OLD_SECRET },
    });
    onTestFinished(() => sessions.close());
    const app = express();
    app.use(sessions);
    wirePassport(app);
    const client = new Client(await serve(app));
    client.jar.set('connect.sid', cookie);
    const first = await client.get('/me');
    expect(first.json()).toEqual({ user: 'u1', authenticated: true });
    expect(client.cookie('connect.sid')).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(await oldRecord(old, sid)).toBeNull();
    expect(await sessions.listUserSessions('u1')).toHaveLength(1);
    expect((await client.get('/me')).json()).toEqual({ user: 'u1', authenticated: true });
  });

  it('the drop-in on the express-session Store itself (not atomic, warned): login, reads, logout', async () => {
    const old = await makeOld();
    const sessions = dropIn({
      secret: DROPIN_SECRET,
      resave: false,
      saveUninitialized: false,
      pruneInterval: false,
      store: old as unknown as LegacyStore,
    });
    onTestFinished(() => sessions.close());
    expect(sessions.store.capabilities.atomic).toBe(false);
    const app = express();
    app.use(sessions);
    wirePassport(app);
    app.post('/logout', (req, res, next) =>
      req.logout((err) => (err ? next(err) : res.redirect('/me'))),
    );
    const client = new Client(await serve(app));
    expect(
      (await client.request('/login', form({ username: 'alice', password: 'pw' }))).status,
    ).toBe(302);
    expect((await client.get('/me')).json()).toEqual({ user: 'u1', authenticated: true });
    expect(await sessions.listUserSessions('u1')).toHaveLength(1);
    await client.request('/logout', { method: 'POST' });
    expect((await client.get('/me')).json()).toEqual({ user: null, authenticated: false });
  });

  it('a forged or unknown old cookie costs no lookup in either store and migrates nothing', async () => {
    const old = await makeOld();
    const { cookie } = await loginWithExpressSession(old);
    const counted = countGets(old);
    const store = new CountingStore(createMemoryStore({ prefix: randomPrefix('mig') }));
    const sessions = kvSession({
      secret: DROPIN_SECRET,
      pruneInterval: false,
      store,
      migrate: { store: counted.store, secret: OLD_SECRET },
    });
    onTestFinished(() => sessions.close());
    const app = express();
    app.use(sessions);
    app.get('/', (req: Request, res) => res.json({ id: req.session.id ?? null }));
    const url = await serve(app);
    const dot = cookie.lastIndexOf('.');
    const forged = [
      `${cookie.slice(0, dot)}.${'A'.repeat(cookie.length - dot - 1)}`,
      `s:unknown-session.${cookie.slice(dot + 1)}`,
      's:',
      'garbage',
    ];
    for (const value of forged) {
      const client = new Client(url);
      client.jar.set('connect.sid', value);
      const reply = await client.get('/');
      expect(reply.json()).toEqual({ id: null });
      expect(reply.rawSetCookies).toEqual([]);
    }
    expect(counted.gets()).toBe(0);
    expect(store.total).toBe(0);
  });
}

await describeWithServer(
  'migrate from express-session + connect-redis (records written by real express-session)',
  REDIS_URL,
  () => {
    const client = createClient({ url: REDIS_URL });
    const ready = client.connect();
    const prefixes: string[] = [];
    afterAll(async () => {
      await ready;
      for (const prefix of prefixes) {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(keys);
      }
      await client.close();
    });
    migrationSuite(async () => {
      await ready;
      const prefix = randomPrefix('connect-redis');
      prefixes.push(prefix);
      return new RedisStore({ client, prefix });
    });
  },
);

await describeWithServer(
  'migrate from express-session + connect-pg-simple (records written by real express-session)',
  DATABASE_URL,
  () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
    const PgStore = connectPgSimple(expressSession);
    const stores: { close(): void }[] = [];
    afterAll(async () => {
      for (const s of stores) s.close();
      await pool.query(`DROP TABLE IF EXISTS ${PG_TABLE}`);
      await pool.end();
    });
    migrationSuite(async () => {
      const store = new PgStore({
        pool,
        tableName: PG_TABLE,
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      stores.push(store);
      return store;
    });
  },
);
