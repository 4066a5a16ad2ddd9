import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { CountingStore } from './helpers/counting-store.js';
import { startApp, TEST_SECRET } from './helpers/app.js';
import type { TestSessionOptions } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { createMemoryStore } from '../stores/memory.js';
import { isResponseHeld } from '../src/response-hold.js';
import { Signer } from '../src/signer.js';
import { createSessionId } from '../src/id.js';

async function setup(extra: (app: Express) => void = () => {}, session: TestSessionOptions = {}) {
  const store = new CountingStore(createMemoryStore());
  const routes = (app: Express): void => {
    mountSessionRoutes(app);
    extra(app);
  };
  const t = await startApp({ session: { store, ...session }, routes });
  return { store, t, client: t.client() };
}

/** A client holding a live session with x=1, and the store counts reset. */
async function withSession(extra?: (app: Express) => void) {
  const ctx = await setup(extra);
  await ctx.client.post('/set/x/1');
  expect(ctx.client.cookie()).toBeDefined();
  ctx.store.reset();
  return ctx;
}

const FORGED = `${createSessionId()}.${'A'.repeat(43)}`;

describe('a route that never touches the session', () => {
  it('with a valid cookie costs 0 store ops and sets no cookie', async () => {
    const { store, client } = await withSession();
    const reply = await client.get('/none');
    expect(reply.status).toBe(200);
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('with no cookie costs 0 store ops and sets no cookie', async () => {
    const { store, client } = await setup();
    const reply = await client.get('/none');
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('with a forged cookie costs 0 store ops and sets no cookie', async () => {
    const { store, client } = await setup();
    const reply = await client.get('/none', { cookie: `sid=${FORGED}` });
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });
});

describe('a route that only reads', () => {
  it('get(key) with a valid cookie costs exactly 1 get and 0 writes', async () => {
    const { store, client } = await withSession();
    const reply = await client.get('/get/x');
    expect(reply.json()).toEqual({ value: '1' });
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('several reads in one request still cost exactly 1 get', async () => {
    const { store, client } = await withSession((app) =>
      app.get('/many', async (req, res) => {
        const [a, b] = await Promise.all([req.session.get('x'), req.session.has('y')]);
        res.json({ a, b, all: await req.session.all(), again: await req.session.get('x') });
      }),
    );
    const reply = await client.get('/many');
    expect(reply.json()).toEqual({ a: '1', b: false, all: { x: '1' }, again: '1' });
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('with a forged cookie never reaches the store and reads nothing', async () => {
    const { store, client } = await setup();
    const reply = await client.get('/get/x', { cookie: `sid=${FORGED}` });
    expect(reply.json()).toEqual({ value: null });
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('with no cookie never reaches the store', async () => {
    const { store, client } = await setup();
    const reply = await client.get('/get/x');
    expect(reply.json()).toEqual({ value: null });
    expect(store.total).toBe(0);
  });
});

describe('a validly signed cookie for an unknown ID', () => {
  it('gives an empty session after exactly 1 get', async () => {
    const { store, client } = await setup();
    const unknown = new Signer(TEST_SECRET).sign(createSessionId());
    const reply = await client.get('/get/x', { cookie: `sid=${unknown}` });
    expect(reply.json()).toEqual({ value: null });
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('is never adopted: set() creates a record under a NEW id', async () => {
    const { store, client } = await setup();
    const unknownId = createSessionId();
    const unknown = new Signer(TEST_SECRET).sign(unknownId);
    client.jar.set('sid', unknown);
    const reply = await client.post('/set/x/1');
    const issued = reply.cookie()?.value;
    expect(issued).toBeDefined();
    expect(issued).not.toBe(unknown);
    expect(issued?.startsWith(`${unknownId}.`)).toBe(false);
    expect(store.nonZero()).toEqual({ get: 1, create: 1 });
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });
  });
});

describe('a new visitor', () => {
  it('set(key) creates exactly one record and sets one cookie', async () => {
    const { store, client } = await setup();
    const reply = await client.post('/set/x/1');
    expect(store.nonZero()).toEqual({ create: 1 });
    expect(reply.setCookies.map((c) => c.name)).toEqual(['sid']);
    expect((store.inner as ReturnType<typeof createMemoryStore>).size).toBe(1);
  });

  it('set then delete in one request writes nothing and sets no cookie', async () => {
    const { store, client } = await setup((app) =>
      app.post('/set-delete', (req, res) => {
        req.session.set('x', 1);
        req.session.delete('x');
        res.json({ ok: true });
      }),
    );
    const reply = await client.post('/set-delete');
    expect(reply.status).toBe(200);
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('clear() alone writes nothing and sets no cookie', async () => {
    const { store, client } = await setup((app) =>
      app.post('/clear', (req, res) => {
        req.session.clear();
        res.json({ ok: true });
      }),
    );
    const reply = await client.post('/clear');
    expect(store.total).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
  });
});

describe('changes to an existing session', () => {
  it('set(key) to its current value writes nothing', async () => {
    const { store, client } = await withSession();
    const reply = await client.post('/set/x/1');
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('set(key) to a new value costs 1 get and 1 update, and keeps the cookie', async () => {
    const { store, client } = await withSession();
    const reply = await client.post('/set/x/2');
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
    expect(reply.rawSetCookies).toEqual([]);
    expect((await client.get('/get/x')).json()).toEqual({ value: '2' });
  });

  it('clear() then set(key) leaves only the new key, in one update', async () => {
    const { store, client } = await withSession((app) =>
      app.post('/clear-set', (req, res) => {
        req.session.clear();
        req.session.set('y', 2);
        res.json({ ok: true });
      }),
    );
    await client.post('/clear-set');
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
    expect((await client.get('/all')).json()).toEqual({ y: 2 });
  });

  it('delete(key) of a missing key writes nothing', async () => {
    const { store, client } = await withSession();
    await client.post('/delete/nope');
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('id is undefined until the session exists in the store', async () => {
    const { client } = await setup();
    expect((await client.get('/id')).json()).toEqual({ id: null });
    await client.post('/set/x/1');
    const { id } = (await client.get('/id')).json<{ id: string }>();
    expect(client.cookie()?.startsWith(`${id}.`)).toBe(true);
  });
});

describe('the response hold', () => {
  it('a read-only request with no touch due leaves the response alone; a write holds it', async () => {
    const seen: Record<string, boolean> = {};
    const { client } = await withSession((app) => {
      app.get('/probe-read', async (req, res) => {
        await req.session.get('x');
        seen['read'] = isResponseHeld(res);
        res.send('ok');
      });
      app.get('/probe-write', (req, res) => {
        req.session.set('y', 1);
        seen['write'] = isResponseHeld(res);
        res.send('ok');
      });
    });
    expect((await client.get('/probe-read')).status).toBe(200);
    expect((await client.get('/probe-write')).status).toBe(200);
    expect(seen).toEqual({ read: false, write: true });
  });
});
