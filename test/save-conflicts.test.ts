import { describe, expect, it } from 'vitest';
import type { StoreEvent } from '../src/store-events.js';
import { createMemoryStore } from '../stores/memory.js';
import { createPostgresStore } from '../stores/postgres.js';
import { RefusingStore } from './helpers/counting-store.js';
import { fileTable } from './helpers/pg-tables.js';
import { deferred, startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { DATABASE_URL, describeWithServer, randomPrefix } from './helpers/services.js';

describe('a save whose compare-and-set conflicts', () => {
  it('retries past 16 conflicts in a row (the old fixed limit) and succeeds while storeTimeout lasts', async () => {
    const store = new RefusingStore(createMemoryStore({ prefix: randomPrefix('refuse') }));
    const app = await startApp({
      session: { store, storeTimeout: 30_000 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    expect((await client.post('/set/a/1')).status).toBe(200);
    store.reset();
    store.refusals = 24;
    expect((await client.post('/set/b/2')).status).toBe(200);
    // One load, 25 compare-and-sets (24 refused), and a re-read after each refusal.
    expect(store.nonZero()).toEqual({ get: 25, update: 25 });
    expect((await client.get('/all')).json()).toEqual({ a: '1', b: '2' });
  });

  it('fails with ERR_KVSESSION_CONFLICT (503) once storeTimeout has passed, and stores nothing', async () => {
    const store = new RefusingStore(createMemoryStore({ prefix: randomPrefix('refuse') }));
    const app = await startApp({
      session: { store, storeTimeout: 200 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    expect((await client.post('/set/a/1')).status).toBe(200);
    store.refusals = Number.POSITIVE_INFINITY;
    const reply = await client.post('/set/b/2');
    expect({ status: reply.status, body: reply.json() }).toEqual({
      status: 503,
      body: { code: 'ERR_KVSESSION_CONFLICT' },
    });
    expect(store.counts.update).toBeGreaterThan(1);
    store.refusals = 0;
    expect((await client.get('/all')).json()).toEqual({ a: '1' });
  });
});

const table = fileTable('merge');
await describeWithServer(
  'a save on a store that merges on its server (postgres)',
  DATABASE_URL,
  () => {
    /**
     * A Postgres store of its own and an app on it whose session already holds a = '1'. POST /late/:key/:value
     * loads the session, waits until the test lets it go, then sets the key: a change made meanwhile by
     * another request makes its compare-and-set conflict for real.
     */
    async function appWithSession() {
      const store = new RefusingStore(
        createPostgresStore({ url: DATABASE_URL, table, prefix: randomPrefix('merge'), max: 2 }),
      );
      const events: StoreEvent[] = [];
      let loaded = deferred();
      let go = deferred();
      const app = await startApp({
        session: { store, onStoreEvent: (event) => events.push(event) },
        routes: (express) => {
          mountSessionRoutes(express);
          express.post('/late/:key/:value', async (req, res) => {
            await req.session.get('a');
            loaded.resolve();
            await go.promise;
            req.session.set(req.params.key, req.params.value);
            res.json({ ok: true });
          });
        },
      });
      const client = app.client();
      expect((await client.post('/set/a/1')).status).toBe(200);
      store.reset();
      /** Runs /late/:key/:value with `meanwhile` done between its load and its save. */
      const late = async (key: string, value: string, meanwhile: () => Promise<unknown>) => {
        loaded = deferred();
        go = deferred();
        const reply = client.fork().post(`/late/${encodeURIComponent(key)}/${value}`);
        await loaded.promise;
        await meanwhile();
        go.resolve();
        return reply;
      };
      const conflicts = () => events.filter((e) => e.type === 'conflict');
      return { store, client, late, conflicts };
    }

    it('a save nothing else changed meanwhile is one compare-and-set: the merge is not asked', async () => {
      const { store, client } = await appWithSession();
      expect((await client.post('/set/b/2')).status).toBe(200);
      expect((await client.post('/delete/a')).status).toBe(200);
      expect(store.nonZero()).toEqual({ get: 2, update: 2 });
      expect((await client.get('/all')).json()).toEqual({ b: '2' });
    });

    it('a refused compare-and-set is followed by one mergeData round trip: no re-read, no retry', async () => {
      const { store, client, late, conflicts } = await appWithSession();
      const reply = await late('b', '2', () => client.post('/set/c/3'));
      expect(reply.status).toBe(200);
      // The late request's load and its refused update, the other request's load and update, one merge.
      expect(store.nonZero()).toEqual({ get: 2, update: 2, mergeData: 1 });
      expect(conflicts()).toEqual([
        { type: 'conflict', store: 'postgres', attempt: 0, outcome: 'merged' },
      ]);
      expect((await client.get('/all')).json()).toEqual({ a: '1', b: '2', c: '3' });
    });

    it('data the server cannot merge (\\u0000 in a key) is saved by re-read and compare-and-set instead', async () => {
      const { store, client, late, conflicts } = await appWithSession();
      const reply = await late('nul\u0000key', '2', () => client.post('/set/c/3'));
      expect(reply.status).toBe(200);
      // The merge declines, so the late request re-reads and compare-and-sets: one get and one update more.
      expect(store.nonZero()).toEqual({ get: 3, update: 3, mergeData: 1 });
      expect(conflicts()).toEqual([
        { type: 'conflict', store: 'postgres', attempt: 0, outcome: 'retry' },
      ]);
      expect((await client.get('/all')).json()).toEqual({ a: '1', c: '3', 'nul\u0000key': '2' });
    });
  },
);
