import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { parseCookie } from 'cookie';
import { createClient } from 'redis';
import { SETUP_DATA, countOp, createBenchApp, serve, unavailable } from './harness.js';
import { mountBagRoutes } from './routes.js';
import type { SessionBag } from './routes.js';
import { PENDING, holdResponse } from '../../src/response-hold.js';

// The least a session layer on Redis can cost: per request with a cookie, one GET through node-redis
// and JSON.parse; on /write, one compare-and-set script, a copy of the Redis store's UPDATE (which
// stays private to stores/redis.ts; a plain SET would lose concurrent changes, which kvsession promises
// not to). No signature, no expiry, no change tracking. This is a reference only: its cookie is the
// bare key, so anyone could forge it.
// With `hold`, /write answers at once and kvsession's own response hold keeps the answer back until the
// compare-and-set is done, as any session middleware must: the handler cannot wait for a save it does
// not know about (issue 17). Without it, /write answers only once its own save has resolved.
// argv: <Redis URL> <key prefix> [hold]
const [url = 'redis://127.0.0.1:6379', prefix = 'kvbench:raw:', mode] = process.argv.slice(2);
const HOLD = mode === 'hold';
const LIFETIME_MS = 24 * 60 * 60 * 1000;
const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`;

interface RawRequest extends Request {
  raw?: { key: string; text: string; data: SessionBag };
}

async function start(): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  let sha: string;
  try {
    await client.connect();
    sha = await client.scriptLoad(COMPARE_AND_SET);
  } catch (err) {
    unavailable(err instanceof Error ? err.message : String(err));
    return;
  }
  const { app, stats } = createBenchApp();
  app.get('/__setup', (_req, res, next) => {
    const id = randomBytes(32).toString('base64url');
    client.set(prefix + id, JSON.stringify(SETUP_DATA), { PX: LIFETIME_MS }).then(() => {
      res.cookie('sid', id, { httpOnly: true, sameSite: 'lax' }).send('ok');
    }, next);
  });
  app.use((req: RawRequest, _res: Response, next: NextFunction) => {
    const header = req.headers.cookie;
    const id = header === undefined ? undefined : parseCookie(header)['sid'];
    if (id === undefined) return next();
    const key = prefix + id;
    countOp(stats, 'get');
    // A value JSON.parse refuses goes to next(err) too, never an unhandled rejection.
    client
      .get(key)
      .then((text) => {
        if (text !== null) req.raw = { key, text, data: JSON.parse(text) as SessionBag };
      })
      .then(() => next(), next);
  });
  app.get('/write', (req: RawRequest, res: Response, next: NextFunction) => {
    const raw = req.raw;
    if (raw === undefined || typeof raw.data.counter !== 'number') {
      res.status(409).send('no session');
      return;
    }
    raw.data.counter += 1;
    const args = [raw.text, JSON.stringify(raw.data), String(Date.now() + LIFETIME_MS)];
    countOp(stats, 'update');
    const save = (): Promise<unknown> => client.evalSha(sha, { keys: [raw.key], arguments: args });
    if (!HOLD) {
      save().then((saved) => {
        if (saved === 1) res.send(String(raw.data.counter));
        else res.status(409).send('changed meanwhile');
      }, next);
      return;
    }
    holdResponse(res, {
      settled: () => PENDING,
      commit: () =>
        save().then((saved) => {
          if (saved !== 1) throw new Error('changed meanwhile');
          return undefined;
        }),
      fail: next,
    });
    res.send(String(raw.data.counter));
  });
  mountBagRoutes(app, (req) => (req as RawRequest).raw?.data ?? {});
  serve(app, async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
    await client.quit();
  });
}

void start();
