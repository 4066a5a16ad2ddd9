import { describe, expect, it } from 'vitest';
import type { Request } from 'express';
import { session } from '../src/express-session/index.js';
import type { ExpressSession } from '../src/express-session/session.js';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';
import { randomPrefix } from './helpers/services.js';
import { deferred } from './helpers/app.js';
import { isResponseHeld } from '../src/response-hold.js';
import { DROPIN_SECRET, startDropInApp } from './helpers/dropin-app.js';
import type { DropInAppOptions } from './helpers/dropin-app.js';

type Bag = ExpressSession & Record<string, unknown>;
const bag = (req: Request): Bag => req.session as unknown as Bag;
const sid = (req: Request): string => (req as unknown as { sessionID: string }).sessionID;
const counting = (): CountingStore =>
  new CountingStore(createMemoryStore({ prefix: randomPrefix('dropin') }));
const SID = 'connect.sid';

async function start(
  store: CountingStore,
  options: Omit<DropInAppOptions, 'store'>,
): ReturnType<typeof startDropInApp> {
  return startDropInApp({ ...options, store });
}

describe('drop-in req.session: kvsession guarantees', () => {
  it('a request without a validly signed cookie costs no store operation and gets no cookie, even when it reads', async () => {
    const store = counting();
    const app = await start(store, {
      routes: (a) => a.get('/', (req, res) => res.json({ user: bag(req)['user'] ?? null })),
    });
    expect((await app.client().get('/')).rawSetCookies).toEqual([]);
    const forged = await app
      .client()
      .get('/', { cookie: `${SID}=${'a'.repeat(43)}.${'b'.repeat(43)}` });
    expect(forged.json()).toEqual({ user: null });
    const oldFormat = await app.client().get('/', { cookie: `${SID}=s%3Aabc.def` });
    expect(oldFormat.rawSetCookies).toEqual([]);
    expect(store.total).toBe(0);
  });

  it('a reading request costs 1 read, 0 writes and sends no cookie; a nested mutation is found and saved', async () => {
    const store = counting();
    const app = await start(store, {
      routes: (a) => {
        a.get('/add/:item', (req, res) => {
          const s = bag(req);
          s['cart'] ??= [];
          (s['cart'] as string[]).push(req.params['item'] as string);
          res.redirect('/');
        });
        a.get('/', (req, res) => res.json({ cart: bag(req)['cart'] ?? [] }));
        a.get('/empty', (req, res) => {
          delete bag(req)['cart'];
          res.end();
        });
      },
    });
    const client = app.client();
    expect((await client.get('/add/a')).cookie(SID)).toBeDefined();
    store.reset();
    const add = await client.get('/add/b');
    expect(add.rawSetCookies).toEqual([]);
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
    store.reset();
    const read = await client.get('/');
    expect(read.json()).toEqual({ cart: ['a', 'b'] });
    expect(store.nonZero()).toEqual({ get: 1 });
    expect(read.rawSetCookies).toEqual([]);
    // A deleted top-level property is a change too.
    await client.get('/empty');
    expect((await client.get('/')).json()).toEqual({ cart: [] });
  });

  it('a request that only reads, nested values included, is not held; the first write at any depth holds it and is saved', async () => {
    const store = counting();
    const held = (res: Parameters<typeof isResponseHeld>[0]): boolean => isResponseHeld(res);
    const app = await start(store, {
      routes: (a) => {
        a.get('/seed', (req, res) => {
          Object.assign(bag(req), { n: 1, profile: { name: 'a', tags: ['x'] }, when: new Date(0) });
          res.end();
        });
        a.get('/peek', (req, res) => {
          const s = bag(req);
          const profile = s['profile'] as { name: string; tags: string[] };
          const seen = [profile.name, ...profile.tags, ...Object.keys(s), JSON.stringify(profile)];
          res.json({
            seen,
            same: s['profile'] === profile && profile.tags === profile.tags,
            held: held(res),
          });
        });
        a.get('/push', (req, res) => {
          const tags = (bag(req)['profile'] as { tags: string[] }).tags;
          const before = held(res);
          tags.push('y');
          res.json({ before, after: held(res) });
        });
        a.get('/top', (req, res) => {
          const before = held(res);
          bag(req)['n'] = 2;
          res.json({ before, after: held(res) });
        });
        // A Date can be changed in place where no trap sees it: handing it out holds the response.
        a.get('/date', (req, res) => {
          (bag(req)['when'] as Date).setTime(5);
          res.json({ held: held(res) });
        });
      },
    });
    const client = app.client();
    await client.get('/seed');
    store.reset();
    const peek = (await client.get('/peek')).json() as { seen: string[]; same: boolean };
    expect(peek).toEqual({
      seen: ['a', 'x', 'cookie', 'n', 'profile', 'when', '{"name":"a","tags":["x"]}'],
      same: true,
      held: false,
    });
    expect(store.nonZero()).toEqual({ get: 1 });
    expect((await client.get('/push')).json()).toEqual({ before: false, after: true });
    expect((await client.get('/top')).json()).toEqual({ before: false, after: true });
    expect((await client.get('/date')).json()).toEqual({ held: true });
    store.reset();
    expect(((await client.get('/peek')).json() as { seen: string[] }).seen.slice(0, 3)).toEqual([
      'a',
      'x',
      'y',
    ]);
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('two concurrent requests changing different top-level keys both keep their change', async () => {
    const store = counting();
    const gate = deferred();
    const app = await start(store, {
      routes: (a) => {
        a.get('/init', (req, res) => {
          bag(req)['a'] = 0;
          bag(req)['b'] = 0;
          res.end();
        });
        a.get('/slow/a', async (req, res) => {
          bag(req)['a'] = 1;
          await gate.promise;
          res.end();
        });
        a.get('/fast/b', (req, res) => {
          bag(req)['b'] = 2;
          res.end();
        });
        a.get('/', (req, res) => res.json({ a: bag(req)['a'], b: bag(req)['b'] }));
      },
    });
    const client = app.client();
    await client.get('/init');
    const slow = client.get('/slow/a');
    await new Promise((r) => setTimeout(r, 30));
    await client.fork().get('/fast/b');
    gate.resolve();
    await slow;
    expect((await client.get('/')).json()).toEqual({ a: 1, b: 2 });
  });

  it('regenerate(cb) and destroy() (promise) give a new ID and end the old one at once', async () => {
    const store = counting();
    const app = await start(store, {
      routes: (a) => {
        a.get('/set', (req, res) => {
          bag(req)['v'] = 'x';
          res.json({ id: sid(req) });
        });
        a.get('/regen', (req, res, next) => {
          const before = sid(req);
          bag(req).regenerate((err) => {
            if (err) return next(err);
            bag(req)['v'] = 'y';
            res.json({ before, after: sid(req), same: bag(req).id === sid(req) });
          });
        });
        a.get('/destroy', async (req, res) => {
          await bag(req).destroy();
          res.json({ session: req.session === undefined });
        });
        a.get('/', (req, res) => res.json({ v: bag(req)['v'] ?? null }));
      },
    });
    const client = app.client();
    const { id } = (await client.get('/set')).json<{ id: string }>();
    const stale = client.fork();
    const regen = (await client.get('/regen')).json<{
      before: string;
      after: string;
      same: boolean;
    }>();
    expect(regen.before).toBe(id);
    expect(regen.after).not.toBe(id);
    expect(regen.same).toBe(true);
    expect((await client.get('/')).json()).toEqual({ v: 'y' });
    expect((await stale.get('/')).json()).toEqual({ v: null });
    const destroyed = await client.get('/destroy');
    expect(destroyed.json()).toEqual({ session: true });
    expect(destroyed.cookie(SID)?.value).toBe('');
    expect(await store.count()).toBe(0);
  });

  it("req.session = null keeps the stored session (unset: 'keep') or destroys it (unset: 'destroy')", async () => {
    for (const unset of ['keep', 'destroy'] as const) {
      const store = counting();
      const app = await start(store, {
        session: { unset },
        routes: (a) => {
          a.get('/set', (req, res) => {
            bag(req)['v'] = 1;
            res.end();
          });
          a.get('/unset', (req, res) => {
            bag(req)['v'] = 2;
            (req as unknown as { session: unknown }).session = null;
            res.send('ok');
          });
          a.get('/', (req, res) => res.json({ v: bag(req)['v'] ?? null }));
        },
      });
      const client = app.client();
      await client.get('/set');
      expect((await client.get('/unset')).status).toBe(200);
      expect((await client.get('/')).json()).toEqual({ v: unset === 'keep' ? 1 : null });
      expect(app.errors).toEqual([]);
    }
  });

  it('save(cb) reports a value kvsession cannot store as ERR_KVSESSION_NOT_SERIALIZABLE; the promise form rejects with it', async () => {
    const store = counting();
    const app = await start(store, {
      routes: (a) => {
        a.get('/cb', (req, res) => {
          bag(req)['big'] = 10n;
          bag(req).save((err) => {
            delete bag(req)['big'];
            res.json({ code: (err as { code?: string } | undefined)?.code ?? null });
          });
        });
        a.get('/promise', async (req, res) => {
          bag(req)['fn'] = () => 1;
          const code = await bag(req)
            .save()
            .then(
              () => null,
              (err: { code?: string }) => err.code,
            );
          delete bag(req)['fn'];
          res.json({ code });
        });
      },
    });
    expect((await app.client().get('/cb')).json()).toEqual({
      code: 'ERR_KVSESSION_NOT_SERIALIZABLE',
    });
    expect((await app.client().get('/promise')).json()).toEqual({
      code: 'ERR_KVSESSION_NOT_SERIALIZABLE',
    });
  });
});

describe('drop-in store failures', () => {
  it('a hanging store answers 503 ERR_KVSESSION_STORE_TIMEOUT within storeTimeout; onStoreError anonymous serves an empty session', async () => {
    for (const onStoreError of ['error', 'anonymous'] as const) {
      const store = counting();
      const app = await start(store, {
        session: { storeTimeout: 200, onStoreError },
        routes: (a) => {
          a.get('/set', (req, res) => {
            bag(req)['v'] = 1;
            res.end();
          });
          a.get('/', (req, res) => res.json({ v: bag(req)['v'] ?? null }));
        },
      });
      const client = app.client();
      await client.get('/set');
      store.fault('get', 'hang');
      const reply = await client.get('/');
      if (onStoreError === 'error') {
        expect(reply.status).toBe(503);
        expect(reply.json()).toEqual({ code: 'ERR_KVSESSION_STORE_TIMEOUT' });
      } else {
        expect(reply.json()).toEqual({ v: null });
        expect(app.errors).toEqual([]);
      }
      store.fault('get', undefined);
      expect((await client.get('/')).json()).toEqual({ v: 1 });
    }
  });
});

describe('drop-in options', () => {
  it('resave: true and cookie.expires are refused with ERR_KVSESSION_BAD_OPTION; a short secret with ERR_KVSESSION_WEAK_SECRET', () => {
    expect(() => session({ secret: DROPIN_SECRET, resave: true })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() =>
      session({ secret: DROPIN_SECRET, cookie: { expires: new Date() } as never }),
    ).toThrow(expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }));
    expect(() => session({ secret: 'keyboard cat' })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_WEAK_SECRET' }),
    );
  });

  it('saveUninitialized: true saves a new, unwritten session only once its ID has been read', async () => {
    const store = counting();
    const app = await start(store, {
      session: { saveUninitialized: true },
      routes: (a) => {
        a.get('/quiet', (_req, res) => res.end());
        a.get('/id', (req, res) => res.json({ id: sid(req) }));
      },
    });
    expect((await app.client().get('/quiet')).rawSetCookies).toEqual([]);
    expect(store.total).toBe(0);
    const client = app.client();
    const { id } = (await client.get('/id')).json<{ id: string }>();
    expect(client.cookie(SID)?.startsWith(`${id}.`)).toBe(true);
    expect((await client.get('/id')).json()).toEqual({ id });
  });

  it('cookie.maxAge sets Max-Age; req.session.cookie.maxAge changes one session and holds; rolling re-sends it on reads', async () => {
    const store = counting();
    const app = await start(store, {
      session: { cookie: { maxAge: 60_000 }, rolling: true },
      routes: (a) => {
        a.get('/login', (req, res) => {
          bag(req)['u'] = 1;
          res.end();
        });
        a.get('/remember', (req, res) => {
          bag(req).cookie.maxAge = 3_600_000;
          res.end();
        });
        a.get('/', (req, res) => res.json({ original: bag(req).cookie.originalMaxAge }));
      },
    });
    const client = app.client();
    expect((await client.get('/login')).cookie(SID)?.maxAge).toBe(60);
    expect((await client.get('/')).cookie(SID)?.maxAge).toBe(60);
    expect((await client.get('/remember')).cookie(SID)?.maxAge).toBe(3600);
    const read = await client.get('/');
    expect(read.json()).toEqual({ original: 3_600_000 });
    expect(read.cookie(SID)?.maxAge).toBe(3600);
  });

  it('cookie.secure: true sends no cookie over plain HTTP (express-session behaviour); genid names new sessions', async () => {
    const store = counting();
    const secure = await start(store, {
      session: { cookie: { secure: true } },
      routes: (a) => a.get('/set', (req, res) => void ((bag(req)['v'] = 1), res.end())),
    });
    expect((await secure.client().get('/set')).rawSetCookies).toEqual([]);
    let n = 0;
    const named = await start(counting(), {
      session: { genid: () => `my-session-id-${String(++n).padStart(4, '0')}` },
      routes: (a) =>
        a.get('/set', (req, res) => void ((bag(req)['v'] = 1), res.json({ id: sid(req) }))),
    });
    const reply = await named.client().get('/set');
    expect(reply.json()).toEqual({ id: 'my-session-id-0001' });
    expect(reply.cookie(SID)?.value?.startsWith('my-session-id-0001.')).toBe(true);
  });
});
