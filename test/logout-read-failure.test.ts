import { describe, expect, it } from 'vitest';
import { CountingStore } from './helpers/counting-store.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import type { StoreUnderTest } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import {
  loginClient,
  randomUser,
  sessionKey,
  startUserApp,
} from './helpers/user-sessions-helpers.js';

/**
 * Issue 18, point 2: a logout whose session read fails must still end the session (the store key
 * comes from the verified cookie), and a logout whose delete fails must say so. Reads fail through
 * CountingStore faults; every delete goes to the real store.
 */
function logoutSuite(under: StoreUnderTest): void {
  describe(`destroy() when the store fails, on ${under.name}`, () => {
    for (const onStoreError of ['anonymous', 'error'] as const) {
      it(`onStoreError '${onStoreError}': a failed read still deletes the record (1 get, 1 delete) and clears the cookie`, async () => {
        const store = new CountingStore(await under.make());
        const t = await startUserApp(store, { onStoreError });
        const user = randomUser();
        const { client } = await loginClient(t, user);
        const stolen = client.fork();
        const key = sessionKey(client);
        expect(await store.inner.get(key)).toBeDefined();
        store.reset();
        store.fault('get', 'fail');
        const reply = await client.post('/destroy');
        store.fault('get', undefined);
        expect(reply.status).toBe(200);
        expect(reply.cookie()?.value).toBe('');
        expect(reply.cookie()?.maxAge).toBe(0);
        expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
        expect(await store.inner.get(key)).toBeUndefined();
        // The stolen copy of the cookie is logged out too, and the user lists no session.
        expect((await stolen.get('/me')).json()).toEqual({ userId: null, handle: null });
        expect(await t.sessions.listUserSessions(user)).toEqual([]);
      });

      it(`onStoreError '${onStoreError}': a failed delete rejects destroy() with a 503 and keeps the cookie`, async () => {
        const store = new CountingStore(await under.make());
        const t = await startUserApp(store, { onStoreError });
        const { client } = await loginClient(t, randomUser());
        const key = sessionKey(client);
        store.fault('get', 'fail');
        store.fault('delete', 'fail');
        const reply = await client.post('/destroy');
        store.fault('get', undefined);
        store.fault('delete', undefined);
        expect(reply.status).toBe(503);
        expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
        expect(reply.rawSetCookies).toEqual([]);
        expect(t.errors.map((e) => e.code)).toEqual(['ERR_KVSESSION_STORE_UNAVAILABLE']);
        // Not claimed, not done: the record is still there for a retried logout to delete.
        expect(await store.inner.get(key)).toBeDefined();
        expect((await client.post('/destroy')).status).toBe(200);
        expect(await store.inner.get(key)).toBeUndefined();
      });
    }

    it('a logout whose read succeeds deletes once by the loaded key and unbinds the user', async () => {
      const store = new CountingStore(await under.make());
      const t = await startUserApp(store);
      const user = randomUser();
      const { client } = await loginClient(t, user);
      const key = sessionKey(client);
      store.reset();
      expect((await client.post('/destroy')).status).toBe(200);
      // One delete for the session record, one for its slot in the user index (unbind).
      expect(store.counts.delete).toBe(2);
      expect(await store.inner.get(key)).toBeUndefined();
      expect(await t.sessions.listUserSessions(user)).toEqual([]);
    });
  });
}

for (const under of STORES_UNDER_TEST) {
  if (under.serverUrl === undefined) logoutSuite(under);
  else await describeWithServer(`${under.name} server`, under.serverUrl, () => logoutSuite(under));
}
