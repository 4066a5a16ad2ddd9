import { describe, expect, it } from 'vitest';
import { Client, TEST_SECRET, closeWhenTestEnds, startApp } from './helpers/app.js';
import { kvSession } from '../src/index.js';
import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CountingStore } from './helpers/counting-store.js';
import { createMemoryStore } from '../stores/memory.js';
import { randomPrefix } from './helpers/services.js';
import { UserIndex } from '../src/user-index.js';
import { indexKey, slotKey } from '../src/user-slots.js';
import { encodeRecord } from '../src/record.js';

// The native API additions the express-session ecosystem needs (issue 19, point 5).
describe('native req.session additions', () => {
  it('id is the stored ID as soon as a session is created in the request, before any save', async () => {
    const app = await startApp({
      routes: (a) => {
        a.get('/new', (req, res) => {
          const before = req.session.id ?? null;
          req.session.set('x', 1);
          res.json({ before, during: req.session.id });
        });
        a.get('/id', async (req, res) => {
          await req.session.get('x');
          res.json({ id: req.session.id });
        });
      },
    });
    const client = app.client();
    const created = (await client.get('/new')).json<{ before: string | null; during: string }>();
    expect(created.before).toBeNull();
    expect(created.during).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await client.get('/id')).json<{ id: string }>().id).toBe(created.during);
  });

  it('id stays undefined before the first load when a valid cookie may still name a stored session', async () => {
    const app = await startApp({
      routes: (a) => {
        a.get('/set', (req, res) => {
          req.session.set('x', 1);
          res.json({ id: req.session.id });
        });
        a.get('/early', async (req, res) => {
          req.session.set('y', 2);
          const early = req.session.id ?? null;
          await req.session.get('x');
          res.json({ early, loaded: req.session.id });
        });
      },
    });
    const client = app.client();
    const { id } = (await client.get('/set')).json<{ id: string }>();
    expect((await client.get('/early')).json()).toEqual({ early: null, loaded: id });
  });

  it('reload() re-reads the record written by another request, keeping this request unsaved changes', async () => {
    const store = new CountingStore(createMemoryStore({ prefix: randomPrefix('reload') }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let loaded!: () => void;
    const hasLoaded = new Promise<void>((r) => (loaded = r));
    const app = await startApp({
      session: { store },
      routes: (a) => {
        a.get('/set/:v', (req, res) => {
          req.session.set('shared', req.params['v']);
          res.end();
        });
        a.get('/long', async (req, res) => {
          const first = await req.session.get('shared');
          loaded();
          req.session.set('mine', 'kept');
          await gate;
          await req.session.reload();
          res.json({
            first,
            after: await req.session.get('shared'),
            mine: await req.session.get('mine'),
          });
        });
      },
    });
    const client = app.client();
    await client.get('/set/one');
    store.reset();
    const long = client.get('/long');
    // /set/two runs only once /long holds its first read, however slow the machine.
    await hasLoaded;
    await client.fork().get('/set/two');
    release();
    expect((await long).json()).toEqual({ first: 'one', after: 'two', mine: 'kept' });
    // One load and one reload for /long, one load and one write for /set/two, one write for /long's change.
    expect(store.nonZero()).toEqual({ get: 3, update: 2 });
  });

  it('userIdFrom binds a session whose saved data names a user, without login()', async () => {
    const app = await startApp({
      session: { userIdFrom: (data) => (data['passport'] as { user?: string } | undefined)?.user },
      routes: (a) => {
        a.get('/login/:u', (req, res) => {
          req.session.set('passport', { user: req.params['u'] });
          res.end();
        });
        a.get('/other', (req, res) => {
          req.session.set('n', 1);
          res.end();
        });
      },
    });
    const alice = app.client();
    await alice.get('/other');
    expect(await app.sessions.listUserSessions('alice')).toHaveLength(0);
    await alice.get('/login/alice');
    expect(await app.sessions.listUserSessions('alice')).toHaveLength(1);
    await app.client().get('/login/alice');
    expect(await app.sessions.listUserSessions('alice')).toHaveLength(2);
    await alice.get('/login/bob');
    expect(await app.sessions.listUserSessions('alice')).toHaveLength(1);
    expect(await app.sessions.listUserSessions('bob')).toHaveLength(1);
    expect(await app.sessions.destroyUserSessions('alice')).toBe(1);
  });

  it('userIdFrom moving a stored session to a user lists it there at once (same handle); "log out everywhere" ends it', async () => {
    const app = await startApp({
      session: {
        userIdFrom: (data) => (typeof data['uid'] === 'string' ? data['uid'] : undefined),
      },
      routes: (a) => {
        a.get('/set/:k/:v', (req, res) => {
          req.session.set(req.params['k'] as string, req.params['v']);
          res.end();
        });
        a.get('/get', async (req, res) => {
          res.json({
            uid: (await req.session.get('uid')) ?? null,
            handle: req.session.handle ?? null,
          });
        });
      },
    });
    const client = app.client();
    await client.get('/set/n/1');
    const { handle } = (await client.get('/get')).json<{ handle: string }>();
    await client.get('/set/uid/carol');
    // The same session (same handle: no new ID) is now carol's, and only hers.
    expect((await app.sessions.listUserSessions('carol')).map((s) => s.handle)).toEqual([handle]);
    await client.get('/set/uid/dave');
    expect(await app.sessions.listUserSessions('carol')).toEqual([]);
    expect((await app.sessions.listUserSessions('dave')).map((s) => s.handle)).toEqual([handle]);
    expect(await app.sessions.destroyUserSessions('dave')).toBe(1);
    expect((await client.get('/get')).json()).toEqual({ uid: null, handle: null });
    expect(app.errors).toEqual([]);
  });

  it('a slot bound for a stored session userIdFrom is moving survives a concurrent list() until the record names the user', async () => {
    const store = createMemoryStore({ prefix: randomPrefix('move') });
    let t = Date.now();
    const users = new UserIndex(store, 60_000, () => t, 500);
    const key = 'moving-session';
    // The stored session does not name the user yet: the save binds first, then writes the record.
    await store.create(
      key,
      encodeRecord({ createdAt: t, userId: undefined, data: {} }),
      t + 60_000,
    );
    const bound = await users.bind('erin', key, t + 60_000);
    expect(await users.list('erin')).toEqual([]);
    // A list() in between must not free the slot the save is about to name.
    expect(await store.get(slotKey(indexKey('erin'), bound.slot))).toBeDefined();
    const stored = await store.get(key);
    await store.update(
      key,
      stored!.value,
      encodeRecord({ createdAt: t, userId: 'erin', slot: bound.slot, data: {} }),
      t + 60_000,
    );
    expect(await users.list('erin')).toHaveLength(1);
    // A slot whose session never comes to name the user is dropped once no save could still be writing it.
    const other = 'never-named';
    await store.create(
      other,
      encodeRecord({ createdAt: t, userId: undefined, data: {} }),
      t + 60_000,
    );
    const stray = await users.bind('erin', other, t + 60_000);
    t += 1000;
    expect(await users.list('erin')).toHaveLength(1);
    expect(await store.get(slotKey(indexKey('erin'), stray.slot))).toBeUndefined();
    await store.close();
  });

  it('a session middleware mounted twice on one request: the first wins, and changes made on either side of the second mount are saved once', async () => {
    const store = new CountingStore(createMemoryStore());
    const sessions = kvSession({ secret: TEST_SECRET, pruneInterval: false, store });
    const app = express();
    app.use(sessions);
    // Changed between the two mounts: lost when the second mount replaced req.session with a session of its own.
    app.use((req, _res, next) => {
      req.session.set('before', 1);
      next();
    });
    app.use(sessions);
    app.post('/go', (req, res) => {
      req.session.set('after', 2);
      res.send('ok');
    });
    app.get('/get', async (req, res) => {
      res.json({ before: await req.session.get('before'), after: await req.session.get('after') });
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closeWhenTestEnds(server, sessions);
    const client = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect((await client.post('/go')).status).toBe(200);
    expect((await client.get('/get')).json()).toEqual({ before: 1, after: 2 });
    // One session, saved once: the second mount left the first one's session in place.
    expect(store.counts.create).toBe(1);
    expect(store.counts.update).toBe(0);
  });

  it('req.session = null keeps the stored session and drops this request changes (express-session unset: keep)', async () => {
    const app = await startApp({
      routes: (a) => {
        a.get('/set/:v', (req, res) => {
          req.session.set('v', req.params['v']);
          res.end();
        });
        a.get('/unset', (req, res) => {
          req.session.set('v', 'lost');
          (req as unknown as { session: unknown }).session = null;
          res.send('ok');
        });
        a.get('/get', async (req, res) => {
          res.json({ v: await req.session.get('v') });
        });
      },
    });
    const client = app.client();
    await client.get('/set/kept');
    const reply = await client.get('/unset');
    expect(reply.status).toBe(200);
    expect(app.errors).toEqual([]);
    expect((await client.get('/get')).json()).toEqual({ v: 'kept' });
  });
});
