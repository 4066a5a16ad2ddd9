import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Express } from 'express';
import { CountingStore } from './helpers/counting-store.js';
import { deferred, sleep, startApp } from './helpers/app.js';
import type { Deferred } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { createMemoryStore } from '../stores/memory.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { PENDING, holdResponse, isResponseHeld } from '../src/response-hold.js';
import type { ResponseHold } from '../src/response-hold.js';

// Long enough that a response sent before the save would be answered, and followed, well before it lands.
const SLOW_WRITE_MS = 200;

async function setup(extra: (app: Express) => void) {
  const store = new CountingStore(createMemoryStore());
  const t = await startApp({
    session: { store },
    routes: (app) => {
      mountSessionRoutes(app);
      extra(app);
    },
  });
  return { store, t, client: t.client() };
}

/** Opens `path`, and the moment the status line and headers arrive, reads key x over the same jar. */
async function followImmediately(
  client: ReturnType<Awaited<ReturnType<typeof setup>>['t']['client']>,
  path: string,
) {
  const res = await client.open(path, { method: 'POST' });
  const seen = await client.get('/get/x');
  return { res, seen: seen.json<{ value: unknown }>().value };
}

/** Stores x = 'before', slows the next update down, then opens `path` and reads x the moment headers arrive. */
async function followWhileUpdateIsSlow(
  { store, client }: Pick<Awaited<ReturnType<typeof setup>>, 'store' | 'client'>,
  path: string,
) {
  await client.post('/set/x/before');
  store.delay('update', SLOW_WRITE_MS);
  return followImmediately(client, path);
}

describe('the save completes before the response leaves', () => {
  it('set() then redirect: an existing session is updated before the 302 reaches the client', async () => {
    const { store, client } = await setup((app) =>
      app.post('/go', (req, res) => {
        req.session.set('x', 'after');
        res.redirect('/get/x');
      }),
    );
    const { res, seen } = await followWhileUpdateIsSlow({ store, client }, '/go');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/get/x');
    expect(seen).toBe('after');
    expect(store.counts.update).toBe(1);
  });

  it('set() then redirect: a new visitor gets the cookie and the record with the 302', async () => {
    const { store, client } = await setup((app) =>
      app.post('/go', (req, res) => {
        req.session.set('x', 'new');
        res.redirect('/get/x');
      }),
    );
    store.delay('create', SLOW_WRITE_MS);
    const { res, seen } = await followImmediately(client, '/go');
    expect(res.status).toBe(302);
    expect(res.headers.getSetCookie()).toHaveLength(1);
    expect(seen).toBe('new');
  });

  it('set() then res.write() streaming: headers wait for the save, the body streams after', async () => {
    let finish!: Deferred;
    const { store, client } = await setup((app) =>
      app.post('/stream', async (req, res) => {
        req.session.set('x', 'streamed');
        res.write('first;');
        await finish.promise;
        res.end('last');
      }),
    );
    await client.post('/set/x/before');
    store.delay('update', SLOW_WRITE_MS);
    finish = deferred();
    const { res, seen } = await followImmediately(client, '/stream');
    expect(res.status).toBe(200);
    expect(seen).toBe('streamed');
    finish.resolve();
    expect(await res.text()).toBe('first;last');
  });

  it('set() then res.writeHead() and res.end(): the save lands before the status line', async () => {
    const { store, client } = await setup((app) =>
      app.post('/head', (req, res) => {
        req.session.set('x', 'headed');
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.end('made');
      }),
    );
    const { res, seen } = await followWhileUpdateIsSlow({ store, client }, '/head');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(seen).toBe('headed');
    expect(await res.text()).toBe('made');
  });

  it('res.writeHead(status, headers with Set-Cookie) keeps both the app cookie and the session cookie', async () => {
    const { client } = await setup((app) =>
      app.post('/head-cookie', (req, res) => {
        req.session.set('x', 'y');
        res.writeHead(200, { 'Set-Cookie': 'theme=dark; Path=/' });
        res.end();
      }),
    );
    const res = await client.request('/head-cookie', { method: 'POST' });
    expect(res.setCookies.map((c) => c.name).sort()).toEqual(['sid', 'theme']);
    expect((await client.get('/get/x')).json()).toEqual({ value: 'y' });
  });

  it('res.writeHead(status, flat header array with Set-Cookie) keeps both cookies', async () => {
    const { client } = await setup((app) =>
      app.post('/head-array', (req, res) => {
        req.session.set('x', 'y');
        res.writeHead(200, ['Set-Cookie', 'theme=dark; Path=/', 'Content-Type', 'text/plain']);
        res.end('ok');
      }),
    );
    const res = await client.request('/head-array', { method: 'POST' });
    expect(res.body).toBe('ok');
    expect(res.setCookies.map((c) => c.name).sort()).toEqual(['sid', 'theme']);
  });

  it('res.cookie() then res.writeHead(status, flat list without Set-Cookie) keeps both cookies', async () => {
    const { client } = await setup((app) =>
      app.post('/cookie-head-array', (req, res) => {
        res.cookie('theme', 'dark');
        req.session.set('x', 'y');
        res.writeHead(200, ['Content-Type', 'text/plain']);
        res.end('ok');
      }),
    );
    const res = await client.request('/cookie-head-array', { method: 'POST' });
    expect(res.setCookies.map((c) => c.name).sort()).toEqual(['sid', 'theme']);
  });

  it('res.setHeader(Set-Cookie) by the app is kept next to the session cookie', async () => {
    const { client } = await setup((app) =>
      app.post('/app-cookie', (req, res) => {
        res.cookie('theme', 'dark');
        req.session.set('x', 'y');
        res.json({ ok: true });
      }),
    );
    const res = await client.request('/app-cookie', { method: 'POST' });
    expect(res.setCookies.map((c) => c.name).sort()).toEqual(['sid', 'theme']);
  });

  it('set() then res.flushHeaders(): an existing session is still saved', async () => {
    const { store, client } = await setup((app) =>
      app.post('/flush', (req, res) => {
        req.session.set('x', 'flushed');
        res.flushHeaders();
        res.end('ok');
      }),
    );
    await client.post('/set/x/before');
    store.reset();
    const res = await client.request('/flush', { method: 'POST' });
    expect(res.body).toBe('ok');
    expect((await client.get('/get/x')).json()).toEqual({ value: 'flushed' });
    expect(store.counts.update).toBe(1);
  });

  it('set() first used mid-stream on an existing session is still saved before the body ends', async () => {
    const { store, client } = await setup((app) =>
      app.post('/late', (req, res) => {
        res.write('a');
        req.session.set('x', 'late');
        res.end('b');
      }),
    );
    await client.post('/set/x/before');
    store.reset();
    const res = await client.request('/late', { method: 'POST' });
    expect(res.body).toBe('ab');
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
    expect((await client.get('/get/x')).json()).toEqual({ value: 'late' });
  });

  it('set() first used mid-stream by a new visitor fails with ERR_KVSESSION_HEADERS_SENT and stores nothing', async () => {
    const { store, t, client } = await setup((app) =>
      app.post('/late', (req, res) => {
        res.write('a');
        req.session.set('x', 'late');
        res.end('b');
      }),
    );
    // The error arrives after the headers, so Express can only abort the response.
    await client.request('/late', { method: 'POST' }).catch(() => undefined);
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_KVSESSION_HEADERS_SENT']);
    expect(store.writes).toBe(0);
  });

  it('a wrapper installed on res.write/end after the hold (compression, say) still sees every chunk after the save', async () => {
    const { store, client } = await setup((app) =>
      app.post('/go', (req, res) => {
        req.session.set('x', 'wrapped');
        const write = res.write;
        const end = res.end;
        const upper = (chunk: unknown): unknown =>
          typeof chunk === 'string' ? chunk.toUpperCase() : chunk;
        res.write = function (this: typeof res, chunk: unknown, ...rest: unknown[]) {
          return (write as (...a: unknown[]) => boolean).call(this, upper(chunk), ...rest);
        } as typeof res.write;
        res.end = function (this: typeof res, chunk?: unknown, ...rest: unknown[]) {
          return (end as (...a: unknown[]) => typeof res).call(this, upper(chunk), ...rest);
        } as typeof res.end;
        res.write('a');
        // Well after the save has landed and the hold has let go.
        setTimeout(
          () => {
            res.write('b');
            res.end('c');
          },
          SLOW_WRITE_MS / 4 + 100,
        );
      }),
    );
    await client.post('/set/x/before');
    store.delay('update', SLOW_WRITE_MS / 4);
    const res = await client.post('/go');
    expect(res.status).toBe(200);
    expect(res.body).toBe('ABC');
    expect(store.counts.update).toBe(1);
    expect((await client.get('/get/x')).json()).toEqual({ value: 'wrapped' });
  });

  it('a wrapper installed on res.end before the session is first used is held behind the save too', async () => {
    let wrapperCalls = 0;
    const { store, client } = await setup((app) =>
      app.post('/go', (req, res) => {
        const end = res.end;
        res.end = function (this: typeof res, ...args: unknown[]) {
          wrapperCalls++;
          return (end as (...a: unknown[]) => typeof res).apply(this, args);
        } as typeof res.end;
        req.session.set('x', 'after');
        res.redirect('/get/x');
      }),
    );
    const { res, seen } = await followWhileUpdateIsSlow({ store, client }, '/go');
    expect(res.status).toBe(302);
    expect(seen).toBe('after');
    expect(wrapperCalls).toBe(1);
  });

  it('a response ended inside a mounted app, after the parent used the session, waits for the save', async () => {
    const { store, client } = await setup((app) => {
      const admin = express();
      admin.post('/go', (_req, res) => res.redirect('/get/x'));
      app.use('/admin', (req, _res, next) => {
        req.session.set('x', 'from-parent');
        next();
      });
      app.use('/admin', admin);
    });
    const { res, seen } = await followWhileUpdateIsSlow({ store, client }, '/admin/go');
    expect(res.status).toBe(302);
    expect(seen).toBe('from-parent');
  });

  it('two holds on one response, with a wrapper between: each saves in turn, the wrapper sees one end()', async () => {
    const order: string[] = [];
    const saves = [deferred(), deferred()];
    const hold = (name: string, save: Deferred, cookie: string): ResponseHold => ({
      settled: () => PENDING,
      commit: async () => {
        order.push(`${name} saving`);
        await save.promise;
        order.push(`${name} saved`);
        return `${cookie}=1`;
      },
      fail: (err) => order.push(`${name} failed: ${String(err)}`),
    });
    const server = createServer((_req, res) => {
      holdResponse(res, hold('first', saves[0] as Deferred, 'first'));
      // Wraps the first hold's end, as compression would, before the second hold wraps it again.
      const end = res.end;
      res.end = function (this: typeof res, ...args: unknown[]) {
        order.push('wrapper');
        return (end as (...a: unknown[]) => typeof res).apply(this, args);
      } as typeof res.end;
      holdResponse(res, hold('second', saves[1] as Deferred, 'second'));
      res.end('body');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    let answered = false;
    const reply = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).then((r) => {
      answered = true;
      return r;
    });
    await vi.waitFor(() => expect(order).toEqual(['second saving']));
    saves[1]?.resolve();
    await vi.waitFor(() => expect(order).toContain('first saving'));
    await sleep(50);
    expect(answered).toBe(false);
    saves[0]?.resolve();
    const res = await reply;
    expect(await res.text()).toBe('body');
    expect(res.headers.getSetCookie().sort()).toEqual(['first=1', 'second=1']);
    expect(order).toEqual([
      'second saving',
      'second saved',
      'wrapper',
      'first saving',
      'first saved',
    ]);
  });

  it('a plain Node server in the same process answers as usual once responses have been held', async () => {
    const { client } = await setup((app) =>
      app.post('/go', (req, res) => {
        req.session.set('x', 'held');
        res.send('ok');
      }),
    );
    expect((await client.post('/go')).status).toBe(200);
    const plain = createServer((_req, res) => {
      res.writeHead(201, { 'x-plain': 'yes' });
      res.write('a');
      res.end('b');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const reply = await fetch(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      expect(reply.status).toBe(201);
      expect(reply.headers.get('x-plain')).toBe('yes');
      expect(await reply.text()).toBe('ab');
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('two responses held at once: the one released first does not let the other go before its save', async () => {
    const more = deferred();
    const aEnded = deferred();
    const { store, t } = await setup((app) => {
      app.post('/go', (req, res) => {
        req.session.set('x', 'held');
        res.send('saved');
      });
      // A writes once (the save starts), then ends only after B's response has been let go.
      app.post('/stream', async (req, res) => {
        req.session.set('x', 'held');
        res.write('a;');
        await more.promise;
        res.end('b');
        aEnded.resolve();
      });
      app.get('/plain', (_req, res) => res.send('plain'));
    });
    const [a, b] = [t.client(), t.client()];
    await a.post('/set/x/before');
    await b.post('/set/x/before');
    const [first, second] = [store.hold('update'), store.hold('update')];
    let aAnswered = false;
    const aReply = a.post('/stream').then((reply) => {
      aAnswered = true;
      return reply;
    });
    await first.reached;
    const bReply = b.post('/go');
    await second.reached;
    second.release();
    expect((await bReply).body).toBe('saved');
    // Neither a released neighbour nor a response that never used the session lets A through.
    expect((await t.client().get('/plain')).body).toBe('plain');
    more.resolve();
    await aEnded.promise;
    // A's end() has been called; had it slipped past the hold, the reply would arrive well within this.
    await sleep(50);
    expect(aAnswered).toBe(false);
    first.release();
    expect((await aReply).body).toBe('a;b');
    expect((await a.get('/get/x')).json()).toEqual({ value: 'held' });
  });

  it('a session changed after its response ended holds nothing, saves on save(), and leaves later holds working', async () => {
    let ended!: Deferred;
    let heldAfterEnd: boolean | undefined;
    const { store, client } = await setup((app) => {
      app.post('/after-end', (req, res) => {
        res.send('done');
        // Too late to hold anything: the change needs an explicit save(), as in express-session.
        req.session.set('x', 'late');
        heldAfterEnd = isResponseHeld(res);
        ended.resolve();
      });
      app.post('/after-end-save', async (req, res) => {
        res.send('done');
        req.session.set('x', 'saved late');
        await req.session.save();
        ended.resolve();
      });
    });
    await client.post('/set/x/before');
    ended = deferred();
    expect((await client.post('/after-end')).body).toBe('done');
    await ended.promise;
    expect(heldAfterEnd).toBe(false);
    expect((await client.get('/get/x')).json()).toEqual({ value: 'before' });
    ended = deferred();
    await client.post('/after-end-save');
    await ended.promise;
    expect((await client.get('/get/x')).json()).toEqual({ value: 'saved late' });
    const { res, seen } = await followWhileUpdateIsSlow({ store, client }, '/set/x/after');
    expect(res.status).toBe(200);
    expect(seen).toBe('after');
  });

  it('a save that fails answers through the error handler instead of the queued response', async () => {
    const { store, t, client } = await setup((app) =>
      app.post('/go', (req, res) => {
        req.session.set('x', 'lost');
        res.redirect('/get/x');
      }),
    );
    await client.post('/set/x/before');
    store.fault('update', 'fail');
    const res = await client.post('/go');
    expect(res.status).toBe(503);
    expect(res.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
    expect(res.headers.get('location')).toBeNull();
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_KVSESSION_STORE_UNAVAILABLE']);
    store.fault('update', undefined);
    expect((await client.get('/get/x')).json()).toEqual({ value: 'before' });
  });
});
