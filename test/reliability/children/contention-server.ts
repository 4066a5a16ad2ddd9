// One app process for contention.test.ts: kvSession over a shared store URL and a read-modify-write
// route. Usage: contention-server.ts <store URL> <prefix>; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { kvSession } from '../../../src/index.js';
import { mountSessionRoutes } from '../../helpers/routes.js';

const [store, prefix] = process.argv.slice(2) as [string, string];
const app = express();
// storeTimeout 5 s, not 2: the suite runs many files at once on a small box, and what this test
// measures is conflicts and lost writes, not the latency of an overloaded machine.
app.use(
  kvSession({
    secret: process.env['KVSESSION_TEST_SECRET'],
    store,
    prefix,
    pruneInterval: false,
    storeTimeout: 5000,
  }),
);
mountSessionRoutes(app);
// Load, wait 0–5 ms (other writers' saves land in between), then change one key to a number.
app.post('/write/:key/:value', async (req, res) => {
  await req.session.get(req.params.key);
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 6)));
  req.session.set(req.params.key, Number(req.params.value));
  res.json({ ok: true });
});
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const { code, status } = err as { code?: unknown; status?: unknown };
  res
    .status(typeof status === 'number' ? status : 500)
    .json({ code: typeof code === 'string' ? code : 'UNKNOWN' });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
// Idle keep-alive sockets are closed after 5 s by default; the parent reuses them at any moment, and a
// request sent on a socket the server is closing fails with "other side closed" before it reaches the app.
server.keepAliveTimeout = 120_000;
