import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { CountingStore } from './helpers/counting-store.js';
import { deferred, startApp } from './helpers/app.js';
import type { TestSessionOptions } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { MemoryStore } from '../stores/memory.js';

async function setup(extra: (app: Express) => void = () => {}, session: TestSessionOptions = {}) {
  const memory = new MemoryStore();
  const store = new CountingStore(memory);
  const t = await startApp({
    session: { store, ...session },
    routes: (app) => {
      mountSessionRoutes(app);
      extra(app);
    },
  });
  return { memory, store, t, client: t.client() };
}

/** Routes whose handler loads the session, then waits for the test before acting. */
function slowRoutes(loaded: () => void, go: Promise<void>) {
  return (app: Express): void => {
    const wait = async (): Promise<void> => {
      loaded();
      await go;
    };
    app.post('/slow-set', async (req, res) => {
      await req.session.get('x');
      await wait();
      req.session.set('y', 'late');
      res.json({ ok: true });
    });
    app.post('/slow-regenerate', async (req, res) => {
      await req.session.get('x');
      await wait();
      await req.session.regenerate();
      res.json({ ok: true });
    });
    app.post('/slow-save', async (req, res) => {
      await req.session.get('x');
      await wait();
      req.session.set('y', 'late');
      await req.session.save();
      res.json({ id: req.session.id ?? null });
    });
  };
}

describe('regenerate()', () => {
  it('keeps the data under a new ID, deletes the old record and sets a new cookie', async () => {
    const { memory, store, client } = await setup();
    await client.post('/set/x/1');
    const before = client.cookie() as string;
    store.reset();
    const reply = await client.post('/regenerate');
    const after = reply.cookie()?.value;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(store.nonZero()).toEqual({ get: 1, create: 1, delete: 1 });
    expect(memory.size).toBe(1);
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });
  });

  it('makes the old cookie read as an empty session at once', async () => {
    const { client } = await setup();
    await client.post('/set/x/1');
    const stale = client.fork();
    await client.post('/regenerate');
    expect((await stale.get('/get/x')).json()).toEqual({ value: null });
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });
  });

  it('carries changes made earlier in the same request into the new session', async () => {
    const { client } = await setup((app) =>
      app.post('/set-then-regenerate', async (req, res) => {
        req.session.set('y', 'pending');
        req.session.delete('x');
        await req.session.regenerate();
        req.session.set('z', 'after');
        res.json({ ok: true });
      }),
    );
    await client.post('/set/x/1');
    await client.post('/set-then-regenerate');
    expect((await client.get('/all')).json()).toEqual({ y: 'pending', z: 'after' });
  });

  it('on a new visitor with no data stores nothing and sets no cookie', async () => {
    const { store, client } = await setup();
    const reply = await client.post('/regenerate');
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('after the session was destroyed by another request leaves no session behind', async () => {
    const loaded = deferred();
    const go = deferred();
    const { memory, client } = await setup(slowRoutes(loaded.resolve, go.promise));
    await client.post('/set/x/1');
    const slow = client.fork().post('/slow-regenerate');
    await loaded.promise;
    await client.post('/destroy');
    go.resolve();
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(memory.size).toBe(0);
    expect(reply.cookie()?.value ?? '').toBe('');
  });
});

describe('destroy()', () => {
  it('deletes the record and sends an expiring cookie with the same name, path and domain', async () => {
    const cookie = { name: 'app.sid', path: '/', domain: 'example.test' } as const;
    const { memory, store, client } = await setup(() => {}, { cookie });
    const created = await client.post('/set/x/1');
    const set = created.cookie('app.sid');
    expect(set).toMatchObject({
      path: '/',
      domain: 'example.test',
      httpOnly: true,
      sameSite: 'lax',
    });
    store.reset();
    const reply = await client.post('/destroy');
    expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
    expect(memory.size).toBe(0);
    expect(reply.setCookies).toHaveLength(1);
    const cleared = reply.cookie('app.sid');
    expect(cleared).toMatchObject({
      name: 'app.sid',
      value: '',
      path: '/',
      domain: 'example.test',
      maxAge: 0,
    });
    expect(cleared?.expires?.getTime()).toBe(0);
    expect(client.cookie('app.sid')).toBeUndefined();
  });

  it('makes the destroyed cookie read as an empty session', async () => {
    const { client } = await setup();
    await client.post('/set/x/1');
    const stale = client.fork();
    await client.post('/destroy');
    expect((await stale.get('/get/x')).json()).toEqual({ value: null });
  });

  it('is final: a slower request that loaded before it and sets afterwards cannot recreate it', async () => {
    const loaded = deferred();
    const go = deferred();
    const { memory, store, client } = await setup(slowRoutes(loaded.resolve, go.promise));
    await client.post('/set/x/1');
    const stale = client.fork();
    const slow = stale.post('/slow-set');
    await loaded.promise;
    await client.post('/destroy');
    store.reset();
    go.resolve();
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.rawSetCookies).toEqual([]);
    expect(store.counts.create).toBe(0);
    expect(memory.size).toBe(0);
    expect((await stale.get('/all')).json()).toEqual({});
  });

  it('is final even against an explicit save() in the slower request', async () => {
    const loaded = deferred();
    const go = deferred();
    const { memory, client } = await setup(slowRoutes(loaded.resolve, go.promise));
    await client.post('/set/x/1');
    const slow = client.fork().post('/slow-save');
    await loaded.promise;
    await client.post('/destroy');
    go.resolve();
    const reply = await slow;
    expect(reply.json()).toEqual({ id: null });
    expect(memory.size).toBe(0);
  });

  it('then set() in the same request starts a new session under a new ID', async () => {
    const { memory, client } = await setup((app) =>
      app.post('/logout-with-flash', async (req, res) => {
        await req.session.destroy();
        req.session.set('flash', 'bye');
        res.json({ ok: true });
      }),
    );
    await client.post('/set/x/1');
    const before = client.cookie();
    await client.post('/logout-with-flash');
    expect(client.cookie()).toBeDefined();
    expect(client.cookie()).not.toBe(before);
    expect((await client.get('/all')).json()).toEqual({ flash: 'bye' });
    expect(memory.size).toBe(1);
  });
});
