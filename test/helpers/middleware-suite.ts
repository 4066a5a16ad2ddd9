import { describe, expect, it } from 'vitest';
import { CountingStore } from './counting-store.js';
import { deferred, sleep, startApp } from './app.js';
import type { Client, Deferred, TestSessionOptions } from './app.js';
import { startNodeApp } from './node-app.js';
import { mountOnExpress, suiteRoutes } from './suite-routes.js';
import type { StoreUnderTest } from './stores.js';
import { sealedRecordTests } from './sealed-suite.js';

/** Gates a test hands to the slow routes: `loaded[name]` resolves once the handler has read; it then waits for `go[name]`. */
interface Gates {
  loaded: Record<string, Deferred>;
  go: Record<string, Deferred>;
}

function newGates(...names: string[]): Gates {
  const gates: Gates = { loaded: {}, go: {} };
  for (const n of names) {
    gates.loaded[n] = deferred();
    gates.go[n] = deferred();
  }
  return gates;
}

/** Where the suite mounts the middleware: an Express 5 app, or a plain node:http server calling it by hand. */
export type SuiteServer = 'express' | 'node';

/**
 * The cross-store part of the middleware's behaviour: exact store round trips, per-key merging of
 * interleaved requests, final destroy, regenerate, and real-time idle/absolute timeouts. Runs
 * unchanged on every store of STORES_UNDER_TEST (real time only: no injected clock), on Express
 * and on plain node:http.
 */
export function runMiddlewareSuite(
  under: StoreUnderTest,
  server: SuiteServer = 'express',
  base: TestSessionOptions = {},
): void {
  const sealed = base.sealRecords === true;
  const where = server === 'node' ? 'plain node:http' : 'Express';
  describe(`middleware on ${under.name} (${where})${sealed ? ' with sealRecords' : ''}`, () => {
    let gates = newGates();
    // Sealed records are opaque to the store, so they are always saved by compare-and-set.
    const mergesOnServer = (store: CountingStore): boolean =>
      store.inner.mergeData !== undefined && !sealed;
    // The slow routes report `loaded`, then wait for `go`, so a test can force an exact interleaving.
    const routes = suiteRoutes(async (name) => {
      gates.loaded[name]?.resolve();
      await gates.go[name]?.promise;
    });
    async function setup(session: TestSessionOptions = {}) {
      const store = new CountingStore(await under.make());
      const options = { session: { store, ...base, ...session } };
      const t =
        server === 'node'
          ? await startNodeApp({ ...options, routes })
          : await startApp({ ...options, routes: (app) => mountOnExpress(app, routes) });
      return { store, t, client: t.client() };
    }
    const valueOf = async (client: Client, key: string) =>
      (await client.get(`/get/${key}`)).json<{ value: unknown }>().value;

    describe('store round trips', () => {
      it('a route that never touches the session costs 0 ops, with or without a session', async () => {
        const { store, t, client } = await setup();
        await client.post('/set/x/1');
        store.reset();
        await client.get('/none');
        await t.client().get('/none');
        expect(store.total).toBe(0);
      });

      it('a read-only request costs exactly 1 get; unchanged values cost no write', async () => {
        const { store, client } = await setup();
        await client.post('/set/x/1');
        store.reset();
        expect(await valueOf(client, 'x')).toBe('1');
        await client.post('/set/x/1');
        expect(store.nonZero()).toEqual({ get: 2 });
      });

      it('a new visitor costs 1 create when setting, nothing when only reading', async () => {
        const { store, client } = await setup();
        expect(await valueOf(client, 'x')).toBeNull();
        expect(store.total).toBe(0);
        await client.post('/set/x/1');
        expect(store.nonZero()).toEqual({ create: 1 });
        expect(await store.count()).toBe(1);
      });

      it('a change costs 1 get and 1 update (a compare-and-set, on a store that can merge on its server too)', async () => {
        const { store, client } = await setup();
        await client.post('/set/x/1');
        store.reset();
        await client.post('/set/x/2');
        expect(store.nonZero()).toEqual({ get: 1, update: 1 });
        expect(await valueOf(client, 'x')).toBe('2');
      });

      it('Date, Buffer and tricky keys round-trip through the store', async () => {
        const { client } = await setup();
        await client.post('/typed');
        expect((await client.get('/typed')).json()).toEqual({
          when: '2031-06-06T00:00:00.000Z',
          bytes: '00ff10',
        });
        const tricky = (await client.get('/get/tricky')).body;
        expect(JSON.parse(tricky)).toEqual({
          value: JSON.parse('{"__proto__":{"polluted":true},"$kv":"date","n":[1.5,-0.25]}'),
        });
        expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
      });
    });

    describe('concurrent requests of one session', () => {
      it('two interleaved requests changing different keys both survive', async () => {
        const { store, client } = await setup();
        await client.post('/set/base/0');
        gates = newGates('a', 'b');
        const a = client.fork().post('/slow/a/set/a/1');
        const b = client.fork().post('/slow/b/set/b/2');
        await Promise.all([gates.loaded['a']?.promise, gates.loaded['b']?.promise]);
        store.reset();
        gates.go['a']?.resolve();
        expect((await a).status).toBe(200);
        gates.go['b']?.resolve();
        expect((await b).status).toBe(200);
        // Compare-and-set: b's first update finds the record a changed, so one re-read, then its merge lands.
        // A store that merges per key on its server merges b's keys there instead: no re-read, no retry.
        expect(store.nonZero()).toEqual(
          mergesOnServer(store) ? { update: 2, mergeData: 1 } : { update: 3, get: 1 },
        );
        expect((await client.get('/all')).json()).toEqual({ base: '0', a: '1', b: '2' });
      });

      it('a delete and a set of different keys, interleaved, both apply', async () => {
        const { client } = await setup();
        await client.post('/set/x/1');
        gates = newGates('del', 'set');
        const del = client.fork().post('/slow/del/delete/x');
        const set = client.fork().post('/slow/set/set/y/2');
        await Promise.all([gates.loaded['del']?.promise, gates.loaded['set']?.promise]);
        gates.go['set']?.resolve();
        await set;
        gates.go['del']?.resolve();
        await del;
        expect((await client.get('/all')).json()).toEqual({ y: '2' });
      });

      it('the same key set by two interleaved requests ends with the later save', async () => {
        const { client } = await setup();
        await client.post('/set/k/0');
        gates = newGates('first', 'second');
        const first = client.fork().post('/slow/first/set/k/first');
        const second = client.fork().post('/slow/second/set/k/second');
        await Promise.all([gates.loaded['first']?.promise, gates.loaded['second']?.promise]);
        gates.go['first']?.resolve();
        await first;
        gates.go['second']?.resolve();
        await second;
        expect(await valueOf(client, 'k')).toBe('second');
      });

      it('destroy is final: a request that loaded before it and sets afterwards cannot recreate it', async () => {
        const { store, client } = await setup();
        await client.post('/set/x/1');
        gates = newGates('late');
        const stale = client.fork();
        const late = stale.post('/slow/late/set/y/2');
        await gates.loaded['late']?.promise;
        await client.post('/destroy');
        gates.go['late']?.resolve();
        const reply = await late;
        expect(reply.status).toBe(200);
        expect(reply.rawSetCookies).toEqual([]);
        expect(await store.count()).toBe(0);
        expect((await stale.get('/all')).json()).toEqual({});
      });
    });

    describe('regenerate()', () => {
      it('keeps the data under a new ID and the old cookie reads as empty', async () => {
        const { store, client } = await setup();
        await client.post('/set/x/1');
        const stale = client.fork();
        await client.post('/regenerate');
        expect(client.cookie()).not.toBe(stale.cookie());
        expect(await store.count()).toBe(1);
        expect(await valueOf(client, 'x')).toBe('1');
        expect(await valueOf(stale, 'x')).toBeNull();
      });
    });

    if (sealed) sealedRecordTests(setup);

    describe('timeouts in real time', () => {
      it('idleTimeout: reads extend the deadline; a session left idle past it is gone', async () => {
        const { client } = await setup({ idleTimeout: 400, touchInterval: 50 });
        await client.post('/set/x/1');
        await sleep(250);
        expect(await valueOf(client, 'x')).toBe('1');
        // 500 ms after creation: alive only because the read above moved the deadline.
        await sleep(250);
        expect(await valueOf(client, 'x')).toBe('1');
        await sleep(600);
        expect(await valueOf(client, 'x')).toBeNull();
      });

      it('absoluteTimeout: an active session is gone once it is older than the limit', async () => {
        const { client } = await setup({
          idleTimeout: 5000,
          absoluteTimeout: 500,
          touchInterval: 50,
        });
        await client.post('/set/x/1');
        await sleep(200);
        expect(await valueOf(client, 'x')).toBe('1');
        await sleep(500);
        expect(await valueOf(client, 'x')).toBeNull();
      });
    });
  });
}
