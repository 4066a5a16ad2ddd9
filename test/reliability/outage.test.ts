import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type { Client, Reply, TestApp } from '../helpers/app.js';
import { TEST_SECRET, sleep, startApp } from '../helpers/app.js';
import { mountSessionRoutes } from '../helpers/routes.js';
import { randomPrefix } from '../helpers/services.js';
import { CountingStore } from '../helpers/counting-store.js';
import { PrivateRedis } from './helpers/servers.js';
import { sparePort, startSilentServer } from '../helpers/services.js';
import { createStore } from '../../stores/index.js';
import { Signer } from '../../src/signer.js';
import { createSessionId } from '../../src/id.js';

const STORE_TIMEOUT = 500;
// The bound: an outage is answered within storeTimeout plus this much for HTTP and Express.
const BOUND_MS = STORE_TIMEOUT + 250;
const OUTAGE_CODES = ['ERR_KVSESSION_STORE_UNAVAILABLE', 'ERR_KVSESSION_STORE_TIMEOUT'];
// Redis reconnects with a backoff capped near 1 s; this only stops a broken heal from hanging the test.
const HEAL_LIMIT_MS = 10_000;

const unhandled: unknown[] = [];
const record = (err: unknown): void => void unhandled.push(err);
beforeAll(() => {
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
});
afterAll(() => {
  process.off('unhandledRejection', record);
  process.off('uncaughtException', record);
});
// No 'error' event without a listener, no rejection nobody awaited, anywhere in the outage.
afterEach(async () => {
  await sleep(50);
  expect(unhandled).toEqual([]);
});

/** One timed request: what came back and how long it took. */
interface Timed {
  readonly status: number;
  readonly code: string | undefined;
  readonly ms: number;
}

async function timed(send: () => Promise<Reply>): Promise<Timed> {
  const t0 = performance.now();
  const reply = await send();
  const ms = performance.now() - t0;
  const code = reply.status === 200 ? undefined : reply.json<{ code?: string }>().code;
  return { status: reply.status, code, ms: Math.round(ms) };
}

/** Requests during an outage: a read answers a coded 503 within the bound; a route without the session answers 200. */
async function expectOutageAnswers(client: Client, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const read = await timed(() => client.get('/get/x'));
    expect(read.status, JSON.stringify(read)).toBe(503);
    expect(OUTAGE_CODES).toContain(read.code);
    expect(read.ms, JSON.stringify(read)).toBeLessThanOrEqual(BOUND_MS);
    expect((await client.get('/none')).status).toBe(200);
  }
}

/** Keeps `clients` issuing reads and writes back to back until stopped; every outcome is kept. */
function loadGenerator(clients: Client[]): { stop(): Promise<Timed[]> } {
  const outcomes: Timed[] = [];
  let running = true;
  const loops = clients.map(async (client, n) => {
    for (let i = 0; running; i++) {
      outcomes.push(
        await timed(() => (i % 2 === 0 ? client.get('/get/x') : client.post(`/set/k${n}/${i}`))),
      );
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

async function pollUntilOk(send: () => Promise<Reply>): Promise<Reply> {
  const deadline = Date.now() + HEAL_LIMIT_MS;
  for (;;) {
    const reply = await send();
    if (reply.status === 200 || Date.now() > deadline) return reply;
    await sleep(100);
  }
}

const routes = (app: Express): void => {
  mountSessionRoutes(app);
  app.post('/anon/:key', async (req, res) => {
    const seen = (await req.session.get('x')) ?? null;
    req.session.set(req.params.key, 'written during the outage');
    res.json({ degraded: req.session.degraded, x: seen });
  });
};

describe('Redis killed mid-run and restarted on the same port', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis.kill();
  });

  it(`reads answer a coded 503 within storeTimeout + 250 ms, /none stays 200, the app heals by itself when Redis returns`, async () => {
    const app = await startApp({
      session: { store: redis.url, storeTimeout: STORE_TIMEOUT, prefix: randomPrefix('outage') },
      routes,
    });
    const client = app.client();
    // The first operation also imports the Redis driver, which alone can exceed 500 ms on a busy machine.
    expect((await pollUntilOk(() => client.post('/set/x/1'))).status).toBe(200);
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });

    // Kill while four clients keep reading and writing: requests in flight at the kill must settle too.
    const load = loadGenerator([client.fork(), client.fork(), client.fork(), app.client()]);
    await sleep(150);
    await redis.kill();
    await sleep(STORE_TIMEOUT * 2);
    const during = await load.stop();
    const bad = during.filter(
      (o) =>
        !(o.status === 200 || (o.status === 503 && OUTAGE_CODES.includes(o.code ?? ''))) ||
        o.ms > BOUND_MS,
    );
    expect(bad).toEqual([]);
    expect(during.filter((o) => o.status === 503).length).toBeGreaterThan(0);

    await expectOutageAnswers(client, 5);
    const newcomer = await timed(() => app.client().post('/set/y/1'));
    expect(newcomer.status).toBe(503);
    expect(newcomer.ms).toBeLessThanOrEqual(BOUND_MS);

    await redis.restart();
    // Redis ran without persistence: the old session is gone, but the store answers again without an app restart.
    expect((await pollUntilOk(() => client.get('/get/x'))).json()).toEqual({ value: null });
    const fresh = app.client();
    expect((await fresh.post('/set/x/2')).status).toBe(200);
    expect((await fresh.get('/get/x')).json()).toEqual({ value: '2' });
  });

  it("onStoreError 'anonymous': during the outage the request goes on with an empty session, degraded, never saved", async () => {
    const store = new CountingStore(
      createStore(redis.url, { prefix: randomPrefix('anon'), timeout: STORE_TIMEOUT }),
    );
    const app = await startApp({
      session: { store, storeTimeout: STORE_TIMEOUT, onStoreError: 'anonymous' },
      routes,
    });
    const client = app.client();
    await pollUntilOk(() => client.post('/set/x/1'));
    expect((await client.post('/anon/y')).json()).toEqual({ degraded: false, x: '1' });

    await redis.kill();
    store.reset();
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const reply = await client.post(`/anon/z${i}`);
      expect(performance.now() - t0).toBeLessThanOrEqual(BOUND_MS);
      expect({ status: reply.status, body: reply.json(), setCookie: reply.rawSetCookies }).toEqual({
        status: 200,
        body: { degraded: true, x: null },
        setCookie: [],
      });
    }
    // One failed read per request, and not a single write attempted for a degraded session.
    expect(store.nonZero()).toEqual({ get: 5 });
    expect(app.errors).toEqual([]);
    await redis.restart();
  });
});

describe('a Postgres or Redis store that is unreachable or silent', () => {
  const cookie = `sid=${new Signer(TEST_SECRET).sign(createSessionId())}`;
  const cases: { label: string; url: (port: number) => string }[] = [
    { label: 'postgres', url: (port) => `postgres://postgres@127.0.0.1:${port}/test` },
    { label: 'redis', url: (port) => `redis://127.0.0.1:${port}` },
  ];

  const check = async (app: TestApp): Promise<void> => {
    const client = app.client();
    client.jar.set('sid', cookie.slice('sid='.length));
    await expectOutageAnswers(client, 4);
    expect(app.errors.map((e) => e.status)).toEqual(app.errors.map(() => 503));
  };

  for (const { label, url } of cases) {
    it(`${label} on a closed port: every read answers a coded 503 within the bound, /none 200`, async () => {
      const store = url(await sparePort());
      await check(
        await startApp({
          session: { store, storeTimeout: STORE_TIMEOUT, prefix: randomPrefix('closed') },
          routes,
        }),
      );
    });

    it(`${label} on a server that accepts and never answers: every read answers a coded 503 within the bound, /none 200`, async () => {
      const silent = await startSilentServer();
      try {
        await check(
          await startApp({
            session: {
              store: url(silent.port),
              storeTimeout: STORE_TIMEOUT,
              prefix: randomPrefix('silent'),
            },
            routes,
          }),
        );
      } finally {
        await silent.close();
      }
    });
  }
});
