import { describe, expect, it, onTestFinished } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express4 from 'express4';
import type { NextFunction, Request, Response } from 'express';
import { kvSession } from '../src/index.js';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';
import { Client, TEST_SECRET } from './helpers/app.js';

/** Express 4 with kvSession, the routes under test and an error handler answering { code } with the status. */
async function startExpress4() {
  const store = new CountingStore(createMemoryStore());
  const sessions = kvSession({ secret: TEST_SECRET, store, pruneInterval: false });
  const app = express4();
  const errors: string[] = [];
  app.use(sessions);
  app.post('/go', (req: Request, res: Response) => {
    req.session.set('x', 'saved');
    res.cookie('theme', 'dark');
    res.redirect('/get');
  });
  app.get('/get', async (req: Request, res: Response) => {
    res.json({ value: (await req.session.get('x')) ?? null });
  });
  app.post('/status', (req: Request, res: Response) => {
    req.session.set('x', 'y');
    // Express 4 takes any number here; Node rejects it when the held response is replayed.
    res.status(1000).send('bad');
  });
  app.use(
    (
      err: { code?: string; status?: number },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      errors.push(err.code ?? 'UNKNOWN');
      res.status(err.status ?? 500).json({ code: err.code ?? 'UNKNOWN' });
    },
  );
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await sessions.close();
  });
  return {
    store,
    errors,
    client: new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  };
}

describe('the response hold on Express 4', () => {
  it('set() then redirect: the record is saved before the 302, which carries the app cookie and the session cookie', async () => {
    const { store, client } = await startExpress4();
    const held = store.hold('create');
    const reply = client.open('/go', { method: 'POST' });
    await held.reached;
    let answered = false;
    void reply.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    held.release();
    const res = await reply;
    expect(res.status).toBe(302);
    expect(
      res.headers
        .getSetCookie()
        .map((line) => line.split('=')[0])
        .sort(),
    ).toEqual(['sid', 'theme']);
    expect((await client.get('/get')).json()).toEqual({ value: 'saved' });
  });

  it('res.status(1000): the replayed call throws into the error handler, the process is unharmed', async () => {
    const { errors, client } = await startExpress4();
    const reply = await client.post('/status');
    expect(reply.status).toBe(500);
    expect(errors).toEqual(['ERR_HTTP_INVALID_STATUS_CODE']);
    expect((await client.get('/get')).json()).toEqual({ value: 'y' });
  });

  it('a failing save answers 503 through the error handler instead of the redirect', async () => {
    const { store, errors, client } = await startExpress4();
    store.fault('create', 'fail');
    const reply = await client.post('/go');
    expect(reply.status).toBe(503);
    expect(reply.headers.get('location')).toBeNull();
    expect(errors).toEqual(['ERR_KVSESSION_STORE_UNAVAILABLE']);
  });
});
