import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type { StoreUnderTest } from '../helpers/stores.js';
import type { Deferred } from '../helpers/app.js';
import { STORES_UNDER_TEST } from '../helpers/stores.js';
import { describeWithServer } from '../helpers/services.js';
import { deferred, sleep, startApp } from '../helpers/app.js';
import { mountSessionRoutes } from '../helpers/routes.js';
import { CountingStore } from '../helpers/counting-store.js';
import { sessionKey } from '../helpers/user-sessions-helpers.js';

// express-session lost one of two such writes every time; these counts are what the README quotes.
const OVERLAP_ROUNDS = 200;
const DESTROY_ROUNDS = 60;
const COOKIELESS_REQUESTS = 30;

for (const target of STORES_UNDER_TEST) {
  const name = `concurrent requests of one session on ${target.name}`;
  if (target.serverUrl === undefined) describe(name, () => concurrencyTests(target));
  else await describeWithServer(name, target.serverUrl, () => concurrencyTests(target));
}

/** A meeting point per round: resolves once `parties` requests have reached it. */
class Barriers {
  readonly #waiting = new Map<string, { arrived: number; all: Deferred }>();
  constructor(readonly parties: number) {}
  arrive(round: string): Promise<void> {
    const entry = this.#waiting.get(round) ?? { arrived: 0, all: deferred() };
    this.#waiting.set(round, entry);
    if (++entry.arrived === this.parties) {
      this.#waiting.delete(round);
      entry.all.resolve();
    }
    return entry.all.promise;
  }
}

/** One gate per round that a test opens: the slow request parks at it after loading its session. */
class Gates {
  readonly reached = new Map<string, Deferred>();
  readonly open = new Map<string, Deferred>();
  for(round: string): { reached: Deferred; open: Deferred } {
    if (!this.reached.has(round)) {
      this.reached.set(round, deferred());
      this.open.set(round, deferred());
    }
    return { reached: this.reached.get(round) as Deferred, open: this.open.get(round) as Deferred };
  }
}

const jitter = (): Promise<void> => sleep(Math.floor(Math.random() * 6));

function concurrencyTests(target: StoreUnderTest): void {
  const start = async (routes: (app: Express) => void, touchInterval?: number) => {
    const store = new CountingStore(await target.make());
    const app = await startApp({
      session: { store, ...(touchInterval === undefined ? {} : { touchInterval }) },
      routes,
    });
    return { app, store };
  };

  it(`${OVERLAP_ROUNDS} rounds of two requests that both loaded the same version, then set different keys: 0 lost, one CAS conflict each`, async () => {
    const barriers = new Barriers(2);
    const { app, store } = await start((express) => {
      mountSessionRoutes(express);
      express.post('/race/:round/:key', async (req, res) => {
        await req.session.get(req.params.key);
        // Both requests hold the same loaded version before either saves: the store must refuse one write.
        await barriers.arrive(req.params.round);
        await jitter();
        req.session.set(req.params.key, req.params.round);
        res.json({ ok: true });
      });
    });
    const client = app.client();
    await client.post('/set/init/0');
    store.reset();
    const statuses: number[] = [];
    for (let round = 0; round < OVERLAP_ROUNDS; round++) {
      const replies = await Promise.all([
        client.post(`/race/${round}/a${round}`),
        client.post(`/race/${round}/b${round}`),
      ]);
      statuses.push(...replies.map((r) => r.status));
    }
    const all = (await client.get('/all')).json<Record<string, string>>();
    const lost = [...Array(OVERLAP_ROUNDS).keys()]
      .flatMap((r) => [`a${r}`, `b${r}`])
      .filter((k) => all[k] === undefined);
    expect({ lost, non200: statuses.filter((s) => s !== 200) }).toEqual({ lost: [], non200: [] });
    if (store.inner.mergeData === undefined) {
      // Per round: 2 loads + 1 re-read by the loser; 1 winning update, 1 refused, 1 retried.
      expect(store.nonZero()).toEqual({ get: 3 * OVERLAP_ROUNDS + 1, update: 3 * OVERLAP_ROUNDS });
    } else {
      // A store that merges per key on its server merges a refused save there: no re-read, no retry. Per
      // round 2 loads and either 2 updates and 1 merge, or 1 update when this process combined the two saves.
      const { get, update = 0, mergeData = 0, ...rest } = store.nonZero();
      expect({ get, rest }).toEqual({ get: 2 * OVERLAP_ROUNDS + 1, rest: {} });
      expect(update).toBe(OVERLAP_ROUNDS + mergeData);
      expect(mergeData).toBeLessThanOrEqual(OVERLAP_ROUNDS);
    }
  });

  it(`${OVERLAP_ROUNDS} rounds of two requests with random 0–5 ms delays before loading and before saving: 0 lost`, async () => {
    const { app } = await start((express) => {
      mountSessionRoutes(express);
      express.post('/jitter/:key', async (req, res) => {
        await jitter();
        await req.session.get(req.params.key);
        await jitter();
        req.session.set(req.params.key, 1);
        res.json({ ok: true });
      });
    });
    const client = app.client();
    await client.post('/set/init/0');
    const statuses: number[] = [];
    for (let round = 0; round < OVERLAP_ROUNDS; round++) {
      const replies = await Promise.all([
        client.post(`/jitter/a${round}`),
        client.post(`/jitter/b${round}`),
      ]);
      statuses.push(...replies.map((r) => r.status));
    }
    const all = (await client.get('/all')).json<Record<string, number>>();
    const lost = [...Array(OVERLAP_ROUNDS).keys()]
      .flatMap((r) => [`a${r}`, `b${r}`])
      .filter((k) => all[k] !== 1);
    expect({ lost, non200: statuses.filter((s) => s !== 200) }).toEqual({ lost: [], non200: [] });
  });

  it(`${DESTROY_ROUNDS} rounds of destroy() racing a slower request that loaded the session first (set, touch, regenerate): 0 resurrections`, async () => {
    const gates = new Gates();
    const { app, store } = await start((express) => {
      mountSessionRoutes(express);
      express.post('/slow/:round/:action', async (req, res) => {
        const round = req.params.round;
        await req.session.get('x');
        gates.for(round).reached.resolve();
        await gates.for(round).open.promise;
        if (req.params.action === 'set') req.session.set('late', round);
        if (req.params.action === 'regenerate') await req.session.regenerate();
        // 'touch': nothing changed; with touchInterval 1 ms passed since the write, the save is a touch of the loaded record.
        res.json({ ok: true });
      });
    }, 1);
    const actions = ['set', 'touch', 'regenerate'] as const;
    const survivors: string[] = [];
    for (let round = 0; round < DESTROY_ROUNDS; round++) {
      const action = actions[round % actions.length] as string;
      const client = app.client();
      await client.post('/set/x/1');
      // A touch is decided when the session loads: let touchInterval (1 ms) pass so it is due.
      await sleep(3);
      const key = sessionKey(client);
      const slowClient = client.fork();
      const slow = slowClient.post(`/slow/${round}/${action}`);
      await gates.for(String(round)).reached.promise;
      expect((await client.post('/destroy')).status).toBe(200);
      await sleep(2);
      gates.for(String(round)).open.resolve();
      const reply = await slow;
      expect(reply.status).toBe(200);
      if ((await store.get(key)) !== undefined) survivors.push(`${action}: old record back`);
      if (
        slowClient.cookie() !== undefined &&
        (await slowClient.get('/get/x')).json<{ value: unknown }>().value !== null
      ) {
        survivors.push(`${action}: the slow request's cookie still opens a session`);
      }
    }
    expect(survivors).toEqual([]);
    expect(await store.count()).toBe(0);
    // The touch rounds really wrote a (refused) touch, so that path was raced too.
    expect(store.counts.touch).toBe(
      [...Array(DESTROY_ROUNDS).keys()].filter((r) => actions[r % actions.length] === 'touch')
        .length,
    );
  });

  it(`${COOKIELESS_REQUESTS} concurrent first requests without a cookie that read, or set then delete: no record, no Set-Cookie`, async () => {
    const { app, store } = await start((express) => {
      mountSessionRoutes(express);
      express.post('/set-and-delete', async (req, res) => {
        await req.session.get('x');
        req.session.set('x', 'gone again');
        await jitter();
        req.session.delete('x');
        res.json({ ok: true });
      });
    });
    const paths = ['/get/x', '/all', '/id', '/set-and-delete'];
    const replies = await Promise.all(
      Array.from({ length: COOKIELESS_REQUESTS }, (_, i) => {
        const path = paths[i % paths.length] as string;
        return app.client().request(path, { method: path === '/set-and-delete' ? 'POST' : 'GET' });
      }),
    );
    expect(replies.map((r) => [r.status, r.rawSetCookies])).toEqual(replies.map(() => [200, []]));
    expect(store.writes).toBe(0);
    expect(await store.count()).toBe(0);
  });
}
