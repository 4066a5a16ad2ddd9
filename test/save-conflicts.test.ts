import { describe, expect, it, vi } from 'vitest';
import type { SessionStore } from '../src/store.js';
import { createMemoryStore } from '../stores/memory.js';
import { createPostgresStore } from '../stores/postgres.js';
import { RefusingStore } from './helpers/counting-store.js';
import { fileTable } from './helpers/pg-tables.js';
import { startApp } from './helpers/app.js';
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
    /** A Postgres store of its own and an app on it whose session already holds a = '1'. */
    async function appWithSession() {
      const store = createPostgresStore({
        url: DATABASE_URL,
        table,
        prefix: randomPrefix('merge'),
        max: 2,
      });
      const app = await startApp({ session: { store }, routes: mountSessionRoutes });
      const client = app.client();
      expect((await client.post('/set/a/1')).status).toBe(200);
      return { store, client };
    }

    it("a loaded session's save is one mergeData round trip: no compare-and-set, no re-read", async () => {
      const { store, client } = await appWithSession();
      const merge = vi.spyOn(store as Required<SessionStore>, 'mergeData');
      const calls = { get: vi.spyOn(store, 'get'), update: vi.spyOn(store, 'update'), merge };
      expect((await client.post('/set/b/2')).status).toBe(200);
      expect((await client.post('/delete/a')).status).toBe(200);
      expect({
        get: calls.get.mock.calls.length,
        update: calls.update.mock.calls.length,
        merge: calls.merge.mock.calls.length,
      }).toEqual({
        get: 2,
        update: 0,
        merge: 2,
      });
      expect((await client.get('/all')).json()).toEqual({ b: '2' });
    });

    it('data the server cannot merge (\\u0000 in a key) is saved by compare-and-set instead', async () => {
      const { store, client } = await appWithSession();
      const update = vi.spyOn(store, 'update');
      expect((await client.post(`/set/${encodeURIComponent('nul\u0000key')}/2`)).status).toBe(200);
      expect(update).toHaveBeenCalledTimes(1);
      expect((await client.get('/all')).json()).toEqual({ a: '1', 'nul\u0000key': '2' });
    });
  },
);
