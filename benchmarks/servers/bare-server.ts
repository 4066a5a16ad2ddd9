import { createBenchApp, serve } from './harness.js';

// The baseline: the same routes with no session layer at all. With argv `empty-middleware`, one
// app.use() layer that does nothing: the floor for any session layer that plugs in that way, since
// Express's router spends its own time on every layer it passes.
const { app } = createBenchApp();
if (process.argv[2] === 'empty-middleware') {
  app.use((_req, _res, next) => {
    next();
  });
}
app.get('/__setup', (_req, res) => {
  res.send('ok');
});
app.get('/none', (_req, res) => {
  res.send('ok');
});
app.get('/read', (_req, res) => {
  res.send('Ada Lovelace');
});
app.get('/write', (_req, res) => {
  res.send('1');
});
serve(app, async () => {});
