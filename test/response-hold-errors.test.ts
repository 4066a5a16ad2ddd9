import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { CountingStore } from './helpers/counting-store.js';
import { sleep, startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import type { StoreUnderTest } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { isKvSessionError } from '../src/errors.js';

// Every crash the process would see, from any test of this file: the hold must cause none.
const crashes: unknown[] = [];
const onCrash = (err: unknown): void => {
  crashes.push(err);
};
beforeAll(() => {
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
});
afterAll(() => {
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
});

const CRLF_TARGET = '/next\r\nSet-Cookie: planted=1';

function runHoldErrorSuite(under: StoreUnderTest): void {
  describe(`response hold errors on ${under.name}`, () => {
    beforeAll(async () => {
      // A fresh process's first store loads its driver and connects: on a loaded machine that can pass storeTimeout.
      const store = await under.make();
      await store.warm?.();
      await store.close();
    });
    async function setup(
      extra: (app: Express) => void,
      session: { maxSessionBytes?: number } = {},
    ) {
      const store = new CountingStore(await under.make());
      const t = await startApp({
        session: { store, ...session },
        routes: (app) => {
          mountSessionRoutes(app);
          extra(app);
        },
      });
      return { store, t, client: t.client() };
    }

    /** The server still answers, its session still works, and nothing reached the process. */
    async function expectHealthy(
      client: ReturnType<Awaited<ReturnType<typeof setup>>['t']['client']>,
    ): Promise<void> {
      expect((await client.get('/none')).status).toBe(200);
      expect((await client.post('/set/after/ok')).status).toBe(200);
      expect((await client.get('/get/after')).json()).toEqual({ value: 'ok' });
      expect(crashes).toEqual([]);
    }

    it('writeHead(302, { Location }) with CRLF in the target reaches the error handler as Node raised it, after the save', async () => {
      const { t, client } = await setup((app) =>
        app.post('/go', (req, res) => {
          req.session.set('x', 'saved');
          res.writeHead(302, { Location: CRLF_TARGET });
          res.end();
        }),
      );
      const reply = await client.post('/go');
      expect(reply.status).toBe(500);
      expect(reply.headers.get('location')).toBeNull();
      expect(reply.rawSetCookies.some((line) => line.startsWith('planted'))).toBe(false);
      expect(t.errors.map((e) => e.code)).toEqual(['ERR_INVALID_CHAR']);
      // The save itself succeeded before the replay, and its cookie rides on the error answer.
      expect((await client.get('/get/x')).json()).toEqual({ value: 'saved' });
      await expectHealthy(client);
    });

    it('res.redirect() to a target with CRLF answers as Express does without a session (encoded Location)', async () => {
      const { t, client } = await setup((app) =>
        app.post('/go', (req, res) => {
          req.session.set('x', 'redirected');
          res.redirect(String(req.query['next']));
        }),
      );
      const reply = await client.post(`/go?next=${encodeURIComponent(CRLF_TARGET)}`);
      expect(reply.status).toBe(302);
      expect(reply.headers.get('location')).toBe('/next%0D%0ASet-Cookie:%20planted=1');
      expect(reply.setCookies.map((c) => c.name)).toEqual(['sid']);
      expect(t.errors).toEqual([]);
      await expectHealthy(client);
    });

    it('a header value with CRLF passed to writeHead reaches the error handler; a new session still gets its cookie', async () => {
      const { t, client } = await setup((app) =>
        app.post('/download', (req, res) => {
          req.session.set('x', 'new');
          res.writeHead(200, { 'Content-Disposition': 'attachment; filename="a\r\nb.txt"' });
          res.end('file');
        }),
      );
      const reply = await client.post('/download');
      expect(reply.status).toBe(500);
      expect(reply.json()).toEqual({ code: 'ERR_INVALID_CHAR' });
      expect(t.errors.map((e) => e.code)).toEqual(['ERR_INVALID_CHAR']);
      expect(reply.setCookies.map((c) => c.name)).toEqual(['sid']);
      expect((await client.get('/get/x')).json()).toEqual({ value: 'new' });
      await expectHealthy(client);
    });

    it('a header value with CRLF passed to res.set() throws in the handler, as without a session', async () => {
      const { t, client } = await setup((app) =>
        app.post('/download', (req, res) => {
          req.session.set('x', 'y');
          res.set('Content-Disposition', 'attachment; filename="a\r\nb.txt"');
          res.send('file');
        }),
      );
      expect((await client.post('/download')).status).toBe(500);
      expect(t.errors.map((e) => e.code)).toEqual(['ERR_INVALID_CHAR']);
      await expectHealthy(client);
    });

    it('an invalid status code thrown by the replayed end() reaches the error handler', async () => {
      const { t, client } = await setup((app) =>
        app.post('/status', (req, res) => {
          req.session.set('x', 'y');
          res.statusCode = 1000;
          res.end('bad');
        }),
      );
      const reply = await client.post('/status');
      expect(reply.status).toBe(500);
      expect(t.errors.map((e) => e.code)).toEqual(['ERR_HTTP_INVALID_STATUS_CODE']);
      await expectHealthy(client);
    });

    it('a handler that answers twice sends its first answer and crashes nothing', async () => {
      const { t, client } = await setup((app) => {
        app.post('/twice', (req, res) => {
          req.session.set('x', 'twice');
          res.send('first');
          res.status(201).send('second, longer');
        });
        app.post('/end-twice', (req, res) => {
          req.session.set('x', 'ended');
          res.end('first');
          res.end('second');
          res.end();
        });
      });
      const first = await client.post('/twice');
      expect(first.status).toBe(200);
      expect(first.body).toBe('first');
      const ended = await client.post('/end-twice');
      expect(ended.body).toBe('first');
      expect((await client.get('/get/x')).json()).toEqual({ value: 'ended' });
      expect(t.errors).toEqual([]);
      // Give a write-after-end error, had one been replayed, its turn of the event loop.
      await sleep(20);
      await expectHealthy(client);
    });

    it('a client that disconnects mid-save: the save still lands and the process is unharmed', async () => {
      const { store, t, client } = await setup((app) =>
        app.post('/go', (req, res) => {
          req.session.set('x', 'landed');
          res.write('a');
          res.end('b');
        }),
      );
      await client.post('/set/x/before');
      const held = store.hold('update');
      const aborted = new AbortController();
      const reply = fetch(`${t.url}/go`, {
        method: 'POST',
        headers: { cookie: `sid=${client.cookie()}` },
        signal: aborted.signal,
      });
      await held.reached;
      aborted.abort();
      await expect(reply).rejects.toThrow();
      // Let the server see the socket close before the save completes.
      await sleep(50);
      held.release();
      await sleep(50);
      expect((await client.get('/get/x')).json()).toEqual({ value: 'landed' });
      expect(t.errors).toEqual([]);
      await expectHealthy(client);
    });

    it('a failing save is attempted once; the error the handler caught is not raised again', async () => {
      const { store, t, client } = await setup((app) =>
        app.post('/go', async (req, res) => {
          req.session.set('x', 'lost');
          try {
            await req.session.save();
            res.json({ saved: true });
          } catch (err) {
            res.status(409).json({ caught: isKvSessionError(err) ? err.code : 'other' });
          }
        }),
      );
      await client.post('/set/x/before');
      store.reset();
      store.fault('update', 'fail');
      const reply = await client.post('/go');
      expect(reply.status).toBe(409);
      expect(reply.json()).toEqual({ caught: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
      expect(store.nonZero()).toEqual({ get: 1, update: 1 });
      expect(t.errors).toEqual([]);
      store.fault('update', undefined);
      expect((await client.get('/get/x')).json()).toEqual({ value: 'before' });
    });

    it('ERR_KVSESSION_TOO_LARGE caught by the handler: its own 413 answer goes out, nothing is written', async () => {
      const { store, t, client } = await setup(
        (app) =>
          app.post('/big', async (req, res) => {
            req.session.set('blob', 'x'.repeat(500));
            await req.session.save().catch(() => res.status(413).send('too big, not saved'));
            if (!res.headersSent) res.send('saved');
          }),
        { maxSessionBytes: 200 },
      );
      const reply = await client.post('/big');
      expect(reply.status).toBe(413);
      expect(reply.body).toBe('too big, not saved');
      expect(store.writes).toBe(0);
      expect(t.errors).toEqual([]);
    });

    it('an uncaught failing save reaches next(err) once, as a coded error with its own status (413, 503)', async () => {
      const { store, t, client } = await setup(
        (app) =>
          app.post('/set-big', (req, res) => {
            req.session.set('blob', 'x'.repeat(500));
            res.send('never');
          }),
        { maxSessionBytes: 200 },
      );
      const big = await client.post('/set-big');
      expect(big.status).toBe(413);
      expect(big.json()).toEqual({ code: 'ERR_KVSESSION_TOO_LARGE' });
      await client.post('/set/x/1');
      store.reset();
      store.fault('update', 'fail');
      const down = await client.post('/set/x/2');
      expect(down.status).toBe(503);
      expect(down.json()).toEqual({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
      expect(store.counts.update).toBe(1);
      expect(t.errors.map((e) => [e.code, e.status])).toEqual([
        ['ERR_KVSESSION_TOO_LARGE', 413],
        ['ERR_KVSESSION_STORE_UNAVAILABLE', 503],
      ]);
      expect(crashes).toEqual([]);
    });
  });
}

for (const under of STORES_UNDER_TEST.filter((s) => s.name === 'memory' || s.name === 'redis')) {
  if (under.serverUrl === undefined) runHoldErrorSuite(under);
  else
    await describeWithServer(`${under.name} server`, under.serverUrl, () =>
      runHoldErrorSuite(under),
    );
}
