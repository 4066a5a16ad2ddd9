// One app process for multi-process.test.ts and the failover traffic: kvSession over a shared store,
// the common routes and a racing write route.
// Usage: app-server.ts <store URL> <prefix> [postgres table]; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import { mountSessionRoutes } from '../../helpers/routes.js';
import { childArgs, childSessions, serveChildApp } from '../helpers/child-app.js';

const args = childArgs();
const app = express();
app.use(childSessions(args));
mountSessionRoutes(app);
app.post('/race/:key', async (req, res) => {
  await req.session.get(req.params.key);
  // Random 0–5 ms between load and save, so the other process's save often lands in between.
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 6)));
  req.session.set(req.params.key, process.pid);
  res.json({ ok: true });
});
serveChildApp(app);
