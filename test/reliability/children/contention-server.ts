// One app process for contention.test.ts: kvSession over a shared store and a read-modify-write route.
// Usage: contention-server.ts <store URL> <prefix> [postgres table]; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import { mountSessionRoutes } from '../../helpers/routes.js';
import { childArgs, childSessions, serveChildApp } from '../helpers/child-app.js';

const args = childArgs();
const app = express();
// storeTimeout 5 s, not 2: the suite runs many files at once on a small box, and what this test
// measures is conflicts and lost writes, not the latency of an overloaded machine.
app.use(childSessions(args, { storeTimeout: 5000 }));
mountSessionRoutes(app);
// Load, wait 0–5 ms (other writers' saves land in between), then change one key to a number.
app.post('/write/:key/:value', async (req, res) => {
  await req.session.get(req.params.key);
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 6)));
  req.session.set(req.params.key, Number(req.params.value));
  res.json({ ok: true });
});
serveChildApp(app);
