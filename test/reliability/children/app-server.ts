// One app process for multi-process.test.ts: kvSession over a shared store URL, the common routes,
// and an error handler that answers { code } with the error's status.
// Usage: app-server.ts <store URL> <prefix>; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { kvSession } from '../../../src/index.js';
import { mountSessionRoutes } from '../../helpers/routes.js';

const [store, prefix] = process.argv.slice(2) as [string, string];
const app = express();
app.use(
  kvSession({ secret: process.env['KVSESSION_TEST_SECRET'], store, prefix, pruneInterval: false }),
);
mountSessionRoutes(app);
app.post('/race/:key', async (req, res) => {
  await req.session.get(req.params.key);
  // Random 0–5 ms between load and save, so the other process's save often lands in between.
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 6)));
  req.session.set(req.params.key, process.pid);
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
