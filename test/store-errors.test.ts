import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { CountingStore } from './helpers/counting-store.js';
import { startApp } from './helpers/app.js';
import type { TestSessionOptions } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { createMemoryStore } from '../stores/memory.js';
import { KvSessionError } from '../src/errors.js';
import { fakeClock } from './helpers/clock.js';

const STORE_TIMEOUT_MS = 200;
// Generous: this bounds how late the timeout may fire on a loaded machine, it does not measure speed.
const SLACK_MS = 1500;

function extraRoutes(app: Express): void {
  app.get('/careful', async (req, res) => {
    const code = await req.session.get('x').then(
      () => null,
      (err: unknown) => (err as KvSessionError).code,
    );
    res.json({ code });
  });
  app.get('/degraded', async (req, res) => {
    const value = (await req.session.get('x')) ?? null;
    req.session.set('y', 'never saved');
    res.json({ value, degraded: req.session.degraded, id: req.session.id ?? null });
  });
}

async function setup(session: TestSessionOptions = {}) {
  const store = new CountingStore(createMemoryStore());
  const t = await startApp({
    session: { store, storeTimeout: STORE_TIMEOUT_MS, ...session },
    routes: (app) => {
      mountSessionRoutes(app);
      extraRoutes(app);
    },
  });
  const client = t.client();
  await client.post('/set/x/1');
  store.reset();
  return { store, t, client };
}

describe("onStoreError: 'error' (default)", () => {
  it('a failing store gives 503 ERR_KVSESSION_STORE_UNAVAILABLE through next(err) on a route that reads', async () => {
    const { store, t, client } = await setup();
    store.fault('all', 'fail');
    const reply = await client.get('/get/x');
    expect(reply.status).toBe(503);
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]?.error).toBeInstanceOf(KvSessionError);
    expect(t.errors[0]?.status).toBe(503);
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('a hanging store gives 503 ERR_KVSESSION_STORE_TIMEOUT once storeTimeout has passed', async () => {
    const { store, client } = await setup();
    store.fault('get', 'hang');
    const started = performance.now();
    const reply = await client.get('/get/x');
    const elapsed = performance.now() - started;
    expect(reply.status).toBe(503);
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
  });

  it('a hanging write gives 503 ERR_KVSESSION_STORE_TIMEOUT instead of holding the response forever', async () => {
    const { store, client } = await setup();
    store.fault('update', 'hang');
    const reply = await client.post('/set/x/2');
    expect(reply.status).toBe(503);
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_TIMEOUT' });
  });

  it('a failing create for a new visitor gives 503 and no cookie', async () => {
    const { store, t } = await setup();
    store.fault('create', 'fail');
    const reply = await t.client().post('/set/x/1');
    expect(reply.status).toBe(503);
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('a route that never touches the session answers 200 while the store fails, with or without a cookie', async () => {
    const { store, t, client } = await setup();
    store.fault('all', 'fail');
    expect((await client.get('/none')).status).toBe(200);
    expect((await t.client().get('/none')).status).toBe(200);
    store.fault('all', 'hang');
    expect((await client.get('/none')).status).toBe(200);
    expect(store.total).toBe(0);
    expect(t.errors).toEqual([]);
  });

  it('a handler that catches the load error can still answer, and the error is not reported again', async () => {
    const { store, t, client } = await setup();
    store.fault('get', 'fail');
    const reply = await client.get('/careful');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
    expect(t.errors).toEqual([]);
    expect(store.nonZero()).toEqual({ get: 1 });
  });
});

describe('cleanup of a dead record on load', () => {
  it('is best effort: a failing delete of an expired record still gives an empty session', async () => {
    const clock = fakeClock();
    const { store, t, client } = await setup({ now: clock.now, idleTimeout: 1000 });
    clock.advance(1000);
    store.fault('delete', 'fail');
    const reply = await client.get('/get/x');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ value: null });
    expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
    expect(t.errors).toEqual([]);
  });
});

describe("onStoreError: 'anonymous'", () => {
  it('a failing load gives an empty, degraded session that is never saved', async () => {
    const { store, t, client } = await setup({ onStoreError: 'anonymous' });
    store.fault('all', 'fail');
    const reply = await client.get('/degraded');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ value: null, degraded: true, id: null });
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(store.writes).toBe(0);
    expect(reply.rawSetCookies).toEqual([]);
    expect(t.errors).toEqual([]);
  });

  it('a hanging load degrades after storeTimeout', async () => {
    const { store, client } = await setup({ onStoreError: 'anonymous' });
    store.fault('get', 'hang');
    const reply = await client.get('/degraded');
    expect(reply.json()).toEqual({ value: null, degraded: true, id: null });
    expect(store.writes).toBe(0);
  });

  it('a failing save degrades instead of failing the response', async () => {
    const { store, t, client } = await setup({ onStoreError: 'anonymous' });
    store.fault('update', 'fail');
    const reply = await client.post('/set/x/2');
    expect(reply.status).toBe(200);
    expect(t.errors).toEqual([]);
    store.fault('update', undefined);
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });
  });

  it('the session is not degraded while the store works, and the old data is back when it recovers', async () => {
    const { store, client } = await setup({ onStoreError: 'anonymous' });
    store.fault('all', 'fail');
    await client.get('/degraded');
    store.fault('all', undefined);
    const reply = await client.get('/degraded');
    expect(reply.json()).toMatchObject({ value: '1', degraded: false });
    expect(client.cookie()).toBeDefined();
  });
});
